"""python -m tools.bench [boot|keys|memory|all] — phone figures, printed as tables.

boot    process start -> READY on stdout (which follows READY on the console)
keys    key press at the emulated pins -> the HD44780 model shows the new screen
memory  resident memory of the phone process under random key presses from its board page
flash   field flashing at 115200: line use, image bytes/s, a code-only delta, smpmgr
"""
from __future__ import annotations

import argparse
import sys

from . import boot, flash, keys, memory


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("which", nargs="*", default=["all"], choices=["all", "boot", "keys", "memory", "flash"])
    p.add_argument("--boots", type=int, default=10)
    p.add_argument("--presses", type=int, default=500)
    p.add_argument("--minutes", type=float, default=10.0, help="memory run length")
    args = p.parse_args(argv)
    which = {"boot", "keys", "memory", "flash"} if "all" in args.which else set(args.which)
    if "boot" in which:
        print(boot.run(args.boots), flush=True)
    if "keys" in which:
        print(keys.run(args.presses), flush=True)
    if "flash" in which:
        print(flash.run(), flush=True)
    if "memory" in which:
        print(memory.run(args.minutes), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
