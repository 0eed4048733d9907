"""Helpers shared by the benchmark scripts (and the tests that check them)."""
