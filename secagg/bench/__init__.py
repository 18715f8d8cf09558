"""Benchmarks of secagg: the measurements behind `secagg bench` and benchmarks/."""
