"""make demo: the phone on the sim board, with its virtual board page.

Runs until Ctrl-C. State (settings) is kept in var/demo between runs.
"""
from __future__ import annotations

import argparse
import signal
import sys

from tools import simphone


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.demo")
    p.add_argument("--port", type=int, default=8765, help="board page port (default 8765)")
    args = p.parse_args(argv)
    print("starting the phone on the sim board ...", flush=True)
    try:
        phone = simphone.start(simphone.ROOT / "var" / "demo", page_port=args.port)
    except RuntimeError as e:
        print(f"demo: {e}", file=sys.stderr)
        return 1
    print(f"""
  hardphone is up (READY after {phone.ready_after_s:.2f} s)

  virtual board:   {phone.page_url or '(page did not start: see var/demo/phone.log)'}
                   open it in a browser; click keys or type digits, arrows, Enter, F1-F4
  service console: {phone.console}
                   e.g. {sys.executable} -m serial.tools.miniterm {phone.console} 115200
                   then type: help, status, lcd, key soft1, hook off ...
  log:             {phone.workdir / 'phone.log'}

  Ctrl-C stops the phone.
""", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        return phone.proc.wait() or 0
    except (KeyboardInterrupt, SystemExit):
        return 0
    finally:
        print("stopping the phone ...", flush=True)
        phone.stop()


if __name__ == "__main__":
    sys.exit(main())
