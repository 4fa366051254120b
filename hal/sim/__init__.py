"""The sim backend: the real hal drivers over emulated buses (see hal/sim/board.py)."""
