"""The front panel's entry point: on the MCU it runs at power-up with board.json beside it; the
unix port runs it as ``micropython main.py <board.json>`` (hal/frontpanel/sim.py)."""
import sys

import panel

try:
    panel.main(sys.argv[1] if len(sys.argv) > 1 else "board.json")
except Exception as e:  # noqa: BLE001 - the traceback to the log's stream, never onto the UART
    sys.print_exception(e, sys.stderr)     # (stdout on the unix port)
    raise SystemExit(1) from None
