"""Qt item models over view-model data."""
