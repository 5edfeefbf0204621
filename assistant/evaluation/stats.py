"""Confidence intervals: Wilson score for proportions, percentile bootstrap for means and percentiles."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

#: Two-sided 95% standard-normal quantile, Phi^-1(0.975).
Z95 = 1.959963984540054
#: Resamples of the bootstrap; with the fixed seed, intervals are reproducible run to run.
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion.

    ``(p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)`` with ``p = successes / n``
    (Wilson, "Probable inference, the law of succession, and statistical inference", JASA 1927;
    recommended for small n by Brown, Cai & DasGupta, Statistical Science 2001).

    Args:
        successes: Number of successes, 0 <= successes <= n.
        n: Number of trials, > 0.
        z: Normal quantile (default: 95% two-sided).

    Returns:
        (low, high), both in [0, 1].

    Raises:
        ValueError: n <= 0 or successes outside [0, n].
    """
    if n <= 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n and n > 0, got {successes}/{n}")
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = 0.0 if successes == 0 else max(0.0, centre - half)  # exact at the ends, not 1 - 1e-16
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation (numpy's default; Hyndman & Fan type 7).

    Raises:
        ValueError: no values.
    """
    if len(values) == 0:
        raise ValueError("percentile of no values")
    return float(np.percentile(np.asarray(values, dtype=float), q))


def bootstrap_interval(values: Sequence[float], statistic: Callable[[np.ndarray], float] = np.mean,
                       resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED,
                       level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of a statistic (Efron & Tibshirani, "An Introduction to the
    Bootstrap", 1993, ch. 13): resample ``values`` with replacement ``resamples`` times, compute the
    statistic of each resample, and take the (1-level)/2 and (1+level)/2 quantiles.

    Args:
        values: Observations (n >= 1).
        statistic: Function of a 1-D array returning a float (default: the mean).
        resamples: Number of bootstrap resamples.
        seed: Seed of numpy's default generator (fixed: the same data give the same interval).
        level: Coverage.

    Returns:
        (low, high).

    Raises:
        ValueError: no values.
    """
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        raise ValueError("bootstrap of no values")
    rng = np.random.default_rng(seed)
    samples = data[rng.integers(0, data.size, size=(resamples, data.size))]
    stats = np.array([statistic(row) for row in samples])
    alpha = (1 - level) / 2
    return float(np.quantile(stats, alpha)), float(np.quantile(stats, 1 - alpha))
