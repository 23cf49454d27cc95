"""Benchmarks (``python -m sb3_forager bench env|gama|train``): speed figures, printed, never timed tests."""
