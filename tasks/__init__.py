"""Prefect tasks: one unit of work each, thin over the domain functions."""
