"""Concurrent users against ``assistant serve`` over HTTP (used by ``scripts/loadtest`` and ``assistant bench``).

:func:`start_server` starts ``assistant serve`` on a free loopback port (default configuration plus
the given environment, a given --data-dir) and waits for ``/v1/health``. :func:`run_users` runs N
users for a bounded time: each asks :data:`QUESTIONS` in turn, half by ``POST /v1/ask`` and half by
``POST /v1/ask/stream``; after a documented 503 it waits the ``Retry-After`` seconds, as a client
should. The result counts answers, answers/s, latency p50/p95 (:func:`assistant.evaluation.stats.percentile`),
the 503s and their Retry-After, the queue positions streaming users were shown (``queued`` events),
and every other error (a non-JSON or unexpected status, an ``error`` event, an answer to another
question).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "Who is the junta's investment minister?",
    "What did Min Aung Hlaing praise Putin for?",
    "How did the Global New Light of Myanmar describe the trip?",
    "What did Putin's office say the two sides planned to adopt?",
    "Who won the football World Cup?",  # not in the documents: an abstention is an answer too
]
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class Tally:
    """Outcomes of all users (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.retry_after: list[int] = []
        self.positions: list[int] = []
        self.errors: list[str] = []
        self.requests = 0

    def take(self, limit: int) -> bool:
        with self.lock:
            if self.requests >= limit:
                return False
            self.requests += 1
            return True

    def add(self, field: str, value: object) -> None:
        with self.lock:
            getattr(self, field).append(value)


def _check_answer(question: str, data: dict) -> str | None:
    if data.get("question") != question:
        return f"answer to another question: asked {question!r}, got {data.get('question')!r}"
    if not data.get("answer"):
        return f"empty answer to {question!r}"
    return None


def _refusal(r: httpx.Response) -> int | None:
    """Retry-After of a documented 503 (JSON body with retry_after), else None."""
    try:
        body = r.json()
    except ValueError:
        return None
    after = r.headers.get("Retry-After")
    if r.status_code == 503 and after and after.isdigit() and body.get("retry_after") == int(after):
        return int(after)
    return None


def _events(text: str) -> list[dict]:
    """Server-Sent Events of a whole body as ``{"event", "data"}`` dicts."""
    return [dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
            for block in text.split("\n\n") if block.strip()]


def ask_once(client: httpx.Client, url: str, question: str, stream: bool, tally: Tally) -> float:
    """One request; returns the seconds to wait before the next one (Retry-After after a 503)."""
    t0 = time.perf_counter()
    try:
        if stream:
            with client.stream("POST", url + "/v1/ask/stream", json={"question": question}) as r:
                r.read()
            body = r.text
        else:
            r = client.post(url + "/v1/ask", json={"question": question})
            body = r.text
        if r.status_code != 200:
            after = _refusal(r)
            if after is None:
                tally.add("errors", f"{'stream' if stream else 'ask'} {r.status_code}: {body[:200]}")
                return 0.0
            tally.add("retry_after", after)
            return float(after)
        if stream:
            events = _events(body)
            for ev in events:
                if ev.get("event") == "queued":
                    tally.add("positions", json.loads(ev["data"])["position"])
            if not events or events[-1].get("event") != "final":
                last = events[-1] if events else {}
                tally.add("errors", f"stream ended with {last.get('event')!r}: {last.get('data', '')[:200]}")
                return 0.0
            data = json.loads(events[-1]["data"])
        else:
            data = r.json()
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        tally.add("errors", f"{type(exc).__name__}: {exc}")
        return 0.0
    problem = _check_answer(question, data)
    if problem:
        tally.add("errors", problem)
    else:
        tally.add("latencies", time.perf_counter() - t0)
    return 0.0


def _user(n: int, url: str, deadline: float, limit: int, tally: Tally) -> None:
    with httpx.Client(timeout=httpx.Timeout(300.0, connect=5.0)) as client:
        i = n
        while time.monotonic() < deadline and tally.take(limit):
            wait = ask_once(client, url, QUESTIONS[i % len(QUESTIONS)], stream=n % 2 == 1, tally=tally)
            i += 1
            time.sleep(min(wait, max(0.0, deadline - time.monotonic())))


def run_users(url: str, users: int, duration_s: float, max_requests: int = 100_000) -> dict:
    """``users`` concurrent users for ``duration_s`` seconds (or ``max_requests`` requests).

    Returns:
        ``users``, ``seconds`` (wall time, the last answers included), ``requests``, ``answers``,
        ``answers_per_s``, ``latency_s`` (``{"n", "p50", "p95"}`` of answered requests, seconds),
        ``refused_503`` with ``retry_after_s`` (distinct values), ``queue_positions`` (highest and
        distinct positions streaming users were shown), ``errors`` (count) and ``error_samples`` (10).
    """
    from assistant.evaluation.stats import percentile

    tally = Tally()
    t0 = time.monotonic()
    threads = [threading.Thread(target=_user, args=(n, url, t0 + duration_s, max_requests, tally))
               for n in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    lat = tally.latencies
    return {"users": users, "seconds": elapsed, "requests": tally.requests, "answers": len(lat),
            "answers_per_s": len(lat) / elapsed,
            "latency_s": {"n": len(lat), "p50": percentile(lat, 50) if lat else None,
                          "p95": percentile(lat, 95) if lat else None},
            "refused_503": len(tally.retry_after), "retry_after_s": sorted(set(tally.retry_after)),
            "queue_positions": {"max": max(tally.positions, default=0), "shown": len(tally.positions),
                                "distinct": sorted(set(tally.positions))},
            "errors": len(tally.errors), "error_samples": tally.errors[:10]}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data_dir: Path, env: dict[str, str], log_path: Path,
                 timeout_s: float = 600) -> tuple[subprocess.Popen, str]:
    """Start ``assistant serve`` on a free 127.0.0.1 port; returns the process and its URL once healthy.

    A ``data_dir`` that does not exist yet is first indexed with the bundled article
    (``assistant index --data-dir``, same environment), since ``serve`` refuses an empty index.

    Raises:
        RuntimeError: indexing failed, or the server exited or was not healthy within ``timeout_s``
            (message ends with its log).
    """
    port = _free_port()
    full_env = {**os.environ, **env}
    if not data_dir.exists():
        done = subprocess.run([sys.executable, "-m", "assistant.cli", "index", "--data-dir", str(data_dir)],
                              cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=timeout_s)
        if done.returncode:
            raise RuntimeError(f"assistant index exited with {done.returncode}:\n{(done.stdout + done.stderr)[-3000:]}")
    log = open(log_path, "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", "serve", "--host", "127.0.0.1",
                             "--port", str(port), "--data-dir", str(data_dir)],
                            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            env=full_env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"assistant serve exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            if httpx.get(url + "/v1/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    stop_server(proc)
    raise RuntimeError(f"assistant serve did not start in {timeout_s:g} s; log: {log_path}")


def stop_server(proc: subprocess.Popen) -> None:
    """Terminate the server started by :func:`start_server` (kill after 30 s)."""
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
