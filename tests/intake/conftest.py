"""Intake fixtures: the intake test plan loaded, and a real portal served by uvicorn."""

from intake_support import _running, loaded, portal

__all__ = ["_running", "loaded", "portal"]
