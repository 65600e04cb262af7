"""Helpers and fixtures the test folders share; fixture modules are tests/conftest.py's plugins."""
