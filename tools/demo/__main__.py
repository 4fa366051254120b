"""make demo: a contact center on this machine, and the phone on the sim board in it.

Starts Kamailio (registrar), ccsim (the contact-center server, with simulated customers and
a new customer every few seconds while an agent is Available), the voicemail service (personal
calls not answered leave a message; Kamailio forwards them as ccsim's database says) and the
phone, logged in as agent 1001. Calls are SIP over TLS with SRTP, as in production. Runs until
Ctrl-C. State is kept in var/demo between runs.
"""
from __future__ import annotations

import argparse
import signal
import sys

from tools import lab as labs
from tools import simphone


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.demo")
    p.add_argument("--port", type=int, default=8765, help="board page port (default 8765)")
    p.add_argument("--every", type=float, default=8.0,
                   help="seconds between new customers while the agent is Available (default 8)")
    p.add_argument("--board", default="sim",
                   help="the sim board to run: sim (20x4 LCD, default) or sim-40x4 (a 40x4 LCD)")
    p.add_argument("--login", action="store_true",
                   help="don't log in from the config: type agent 1001, PIN 1234 on the keypad")
    args = p.parse_args(argv)
    workdir = simphone.ROOT / "var" / "demo"
    # calls as in production: SIP over TLS, SRTP mandatory (a lab CA in var/demo/tls)
    lab = labs.Lab(workdir, traffic_every_s=args.every, settings={"rona_s": 20}, secure=True,
                   voicemail=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        print("starting Kamailio and the contact-center simulator ...", flush=True)
        lab.start()
        print(f"starting the phone on the {args.board} board ...", flush=True)
        phone = lab.phone(None if args.login else "1001", name="phone", page_port=args.port,
                          board=args.board)
        print(f"""
  hardphone is up (READY after {phone.ready_after_s:.2f} s), agent 1001 (PIN 1234)

  virtual board:   {phone.page_url or '(page did not start: see the log)'}
                   open it in a browser; click keys or type digits, arrows, Enter, F1-F4
  try:             State (F1) -> Available: customers start calling every ~{args.every:g} s.
                   Lift the handset (or Accept) to answer, Hold / End, then pick a wrap-up
                   reason (type 3+ letters on the keypad to search, T9), and you're Available.
  service console: {phone.console}   (help, status, lcd, calls, key soft1, hook off ...)
  contact center:  {lab.ccsim.api}/agents/1001   (admin API; POST /contacts adds a caller)
  a campaign:      curl -X POST {lab.ccsim.api}/campaigns/spring/start   then go Available:
                   its records are previewed to you (Call, Skip, Out, Remove)
  voicemail:       a personal call to 1001 not answered in 20 s leaves a message (the lamp);
                   Menu -> Voicemail, or dial {lab.voicemail_number}: 1 play, 4 back, 6 next,
                   7 delete, 9 greeting (# keeps it). Forward 1001's calls instead: curl -X PUT
                   -d '{{"always": "5550100"}}' {lab.ccsim.api}/agents/1001/forwarding
  calls:           SIP over TLS to {lab.kamailio.tls_address}, SRTP (lab CA: {lab.ca.cafile})
  logs:            {workdir}/phone/phone.log, {workdir}/ccsim.log, voicemail audio in
                   {lab.voicemail_dir}

  Ctrl-C stops everything.
""", flush=True)
        return phone.proc.wait() or 0
    except (KeyboardInterrupt, SystemExit):
        return 0
    except (RuntimeError, OSError) as e:
        print(f"demo: {e}", file=sys.stderr)
        return 1
    finally:
        print("stopping ...", flush=True)
        lab.stop()


if __name__ == "__main__":
    sys.exit(main())
