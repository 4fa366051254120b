"""Benchmarks: measure and print tables. Not pass/fail tests."""
