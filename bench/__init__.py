"""Benchmarks (`make bench`): order submission vs its SQL floor, catalog at 100k SKUs, weight."""
