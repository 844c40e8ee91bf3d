"""Helpers shared by the test suite: a real HTTP server for an ASGI app, real databases."""
