"""Thin Gradio adapter over :class:`assistant.service.Assistant` (no retrieval or model logic here)."""
