"""Status: where each item stands as of an instant, and the reporting rates."""
