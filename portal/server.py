"""Serving the portal with uvicorn (loopback by default; put a TLS proxy in front to publish it)."""

from __future__ import annotations

import uvicorn

from portal.app import create_app
from settings import get_settings


def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the portal until interrupted."""
    app = create_app(get_settings())
    uvicorn.run(app, host=host, port=port, proxy_headers=False, server_header=False)
