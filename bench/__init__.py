"""Benchmarks: `make bench` (figures, not timed tests)."""
