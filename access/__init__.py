"""Access: unit and admin tokens, page sessions, and the audit trail."""
