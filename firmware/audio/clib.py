"""A C library of Debian's, loaded through ctypes with its functions' prototypes declared (for
speex.py and spandsp.py: plain C APIs on mono S16 buffers)."""
from __future__ import annotations

import ctypes
import ctypes.util
from typing import Any

VOIDP, INT16P, INT = ctypes.c_void_p, ctypes.POINTER(ctypes.c_int16), ctypes.c_int

Prototype = tuple[str, tuple[Any, ...], Any]      # (function, argument types, result type)


def load(name: str, soname: str, package: str, missing: type[Exception],
         prototypes: tuple[Prototype, ...]) -> Any:
    """lib``name`` (``soname`` when ldconfig can't find it), its ``prototypes`` declared;
    ``missing`` raised, naming the Debian ``package``, when it isn't installed."""
    try:
        lib = ctypes.CDLL(ctypes.util.find_library(name) or soname)
    except OSError as e:
        raise missing(f"lib{name} not found ({e}): apt-get install {package}") from e
    for fn, args, res in prototypes:
        f = getattr(lib, fn)
        f.argtypes, f.restype = args, res
    return lib
