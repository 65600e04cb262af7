"""Channels, message templates, routing and the outbox."""
