"""Hardware abstraction: the phone's devices in its own terms, over named backends.

Nothing here imports from ``firmware``. A board file (board/<name>/board.toml) says which
backend builds the pins and buses: ``rpi`` on the device, ``sim`` on a development machine.
"""
from .board import BoardSpec, load_board
from .errors import BoardError, HalError

__all__ = ["BoardError", "BoardSpec", "HalError", "load_board"]
