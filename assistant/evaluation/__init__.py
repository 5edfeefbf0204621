"""Offline evaluation over question sets and claim sets (``assistant eval``); guide in ``docs/evaluation.md``.

Modules, in the order a run uses them:

- :mod:`~assistant.evaluation.dataset`: load and validate the JSON Lines question set.
- :mod:`~assistant.evaluation.runner`: ask each question through ``Assistant.stream``.
- :mod:`~assistant.evaluation.scoring`: per-question metrics (with :mod:`~assistant.evaluation.citations`,
  :mod:`~assistant.evaluation.textmatch`, :mod:`~assistant.evaluation.sources`), rows of
  :mod:`~assistant.evaluation.records`.
- :mod:`~assistant.evaluation.aggregate`: aggregates with intervals (:mod:`~assistant.evaluation.stats`),
  named in :mod:`~assistant.evaluation.specs`.
- :mod:`~assistant.evaluation.outputs`, :mod:`~assistant.evaluation.report`, :mod:`~assistant.evaluation.plots`:
  results.jsonl, metrics.json, report.md and its PNGs.
- :mod:`~assistant.evaluation.thresholds`, :mod:`~assistant.evaluation.compare`: gates and run comparison.
- :mod:`~assistant.evaluation.claims`: claim sets: the product's verifier on labelled claims
  (catch and acceptance rates per claim type).
- :mod:`~assistant.evaluation.judge`: the optional LLM judge.
- :mod:`~assistant.evaluation.command`, :mod:`~assistant.evaluation.cli`: the ``assistant eval`` command.
"""
