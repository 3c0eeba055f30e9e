"""Reproducible benchmarks (`make bench`); figures land in bench/results.json and docs/benchmarks.md."""
