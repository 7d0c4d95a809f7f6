"""Shared test helpers (data location, synthetic inputs)."""
