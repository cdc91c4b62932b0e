"""Benchmarks: speed figures, not tests. Run one with `python -m bench.<name>` (see bench/README.md)."""
