"""pytest-benchmark suite. Run: python -m pytest benchmarks --benchmark-only

Speed targets live here and in `secagg bench`, never in the unit tests.
"""
