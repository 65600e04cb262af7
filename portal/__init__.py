"""The submission portal: Vietnamese pages for reporting officers and a JSON API (FastAPI)."""
