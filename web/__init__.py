"""The bedside dashboard: a Flask app factory, nothing created at import time."""

from __future__ import annotations

from web.app import create_app

__all__ = ["create_app"]
