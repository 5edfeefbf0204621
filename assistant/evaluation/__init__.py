"""Offline evaluation over question sets (``assistant eval``)."""
