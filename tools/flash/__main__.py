"""./flash.sh PORT IMAGE: put a signed firmware image on a phone over its serial console.

Shows the phone's version and slots, uploads (fast COBS framing unless --console-framing),
resumes after a dropped cable, tests the image, resets, waits for the banner and READY,
confirms, and prints a summary. The phone verifies the signature and board before it switches,
and refuses an image whose security counter is below its own (anti-rollback); a new firmware
that fails its first boot is reverted by the phone itself.
"""
from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path

from rich.console import Console
from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn,
                           TransferSpeedColumn)

from .session import FlashError, flash


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="flash.sh", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("port", help="serial port of the phone, e.g. /dev/ttyUSB0")
    p.add_argument("image", type=Path, help="signed image (tools.mkimage build)")
    p.add_argument("--baud", type=int, default=115200, help="the phone's console speed")
    p.add_argument("--fast-baud", type=int, default=921600,
                   help="speed to negotiate for the upload (0: don't); falls back by itself")
    p.add_argument("--console-framing", action="store_true",
                   help="use SMP console framing (slower; what smpmgr speaks)")
    p.add_argument("--boot-timeout", type=float, default=60,
                   help="seconds to wait for the phone to come back after the reset")
    p.add_argument("--patience", type=float, default=60,
                   help="give up after this many seconds without upload progress")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    out = Console(stderr=False, highlight=False, markup=False)
    if not args.image.is_file():
        out.print(f"flash: {args.image}: no such image")
        return 2

    def progress_factory(total, path):
        out.print(f"uploading {path.name} ({total:,} bytes)")
        bar = Progress(TextColumn("  upload"), BarColumn(), DownloadColumn(),
                       TransferSpeedColumn(), TimeRemainingColumn(), console=out,
                       transient=False)
        task = bar.add_task("upload", total=total)
        bar.start()
        return (lambda off: bar.update(task, completed=off)), bar.stop

    try:
        r = flash(args.port, args.image, args.baud, cobs=not args.console_framing,
                  boot_timeout=args.boot_timeout, progress_factory=progress_factory,
                  patience_s=args.patience, say=out.print, fast_baud=args.fast_baud)
    except FlashError as e:
        out.print(f"flash: FAILED: {e}")
        if m := re.search(r"below the phone's (\d+) \(anti-rollback\)", str(e)):
            out.print("  to go back on purpose, rebuild the old version with the phone's counter"
                      " (README, Field flashing):\n  .venv/bin/python -m tools.mkimage build "
                      f"--tree OLD-CHECKOUT --version OLD --security-counter {m.group(1)}")
        return 1
    except KeyboardInterrupt:
        out.print("flash: interrupted; run it again to resume the upload")
        return 130
    rate = r.bytes_sent / r.upload_s if r.upload_s else 0
    line = r.baud / 10            # 8N1: ten bit-times a byte
    upload = (f"{r.upload_s:.1f} s at {r.baud} baud, {rate:,.0f} bytes/s "
              f"({rate / line:.0%} of the line), {r.retries} resumes after link faults")
    out.print(f"""
flash: done
  phone       board {r.before.board}
  before      {r.before.version} on slot {r.before.slot}
  after       {r.after.version} on slot {r.after.slot} (confirmed)
  image       {r.image.name}, {r.bytes_sent:,} bytes
  upload      {upload}
  total       {r.total_s:.1f} s""")
    for s in r.after.slots:
        out.print(f"  {s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
