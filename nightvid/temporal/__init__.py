"""Temporal filtering of packed raw frames: motion estimation and the recursive filter."""
