"""Benchmarks and the synthetic data they run on (run by hand; a tiny size runs in CI)."""
