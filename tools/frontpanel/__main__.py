"""python -m tools.frontpanel build|test: the front panel's image and its own tests."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import OUT, BuildError, build, test


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.frontpanel", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="compile the panel's firmware to .mpy with mpy-cross")
    b.add_argument("--out", type=Path, default=OUT, help=f"output directory (default {OUT})")
    b.add_argument("--march", default="armv6m",
                   help="mpy-cross architecture (default armv6m: RP2040's Cortex-M0+)")
    b.add_argument("--board", help="also write the board.json of this board file's panel")
    t = sub.add_parser("test", help="run the panel's own tests on the MicroPython unix port")
    t.add_argument("--mpy", type=Path, help="test a built image (its .mpy) instead of sources")
    args = p.parse_args(argv)
    if args.cmd == "build":
        try:
            files = build(args.out, args.march, args.board)
        except BuildError as e:
            print(f"frontpanel: {e}", file=sys.stderr)
            return 1
        for f in files:
            print(f"{f}  {f.stat().st_size} bytes")
        return 0
    r = test(args.mpy)
    sys.stdout.write(r.stdout + r.stderr)
    return r.returncode


if __name__ == "__main__":
    sys.exit(main())
