"""Helpers shared by the benchmark scripts (no script imports another script; they all import from here)."""
