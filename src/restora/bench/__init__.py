"""Benchmarks over the public test sets: paired data loaders and the harness comparing experts
with published anchors."""
