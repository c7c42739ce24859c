"""Persistence: one module per table group; each function runs the query of its name."""
