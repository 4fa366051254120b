"""Sounds the phone makes itself: ring tones and their volume levels."""
