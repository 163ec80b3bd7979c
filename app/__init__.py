"""Commhub composition root: entry points, settings, wiring and the embedded demo."""
