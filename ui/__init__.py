"""Commhub desktop UI (Qt).  Only ``ui.qt`` imports the Qt binding."""
