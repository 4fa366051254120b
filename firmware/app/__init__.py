"""Builds the phone from its board file and config, runs the loop, carries out effects."""
