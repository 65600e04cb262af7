"""Fuzz fixtures: the intake test plan loaded and a real portal (uvicorn on 127.0.0.1) over it.

The portal, clock and plan are the intake tests' own (tests/intake/intake_support.py).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "intake"))

from intake_support import _running, loaded, portal

__all__ = ["_running", "loaded", "portal"]
