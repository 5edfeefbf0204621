"""Feedback given in the chat UI: durable storage and export as evaluation cases."""
