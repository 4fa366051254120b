"""python -m tools.bench [which ...] — phone and contact-center figures, printed as tables.

boot      process start -> READY on stdout (which follows READY on the console)
keys      key press at the emulated pins -> the HD44780 model shows the new screen
frontpanel the sim-frontpanel board (MicroPython unix port): console `key` -> ok, and a key on
          the panel's matrix -> its HD44780 shows the new screen
memory    phone process RSS under random key presses, logged in, customers calling
flash     field flashing at 115200: line use, image bytes/s, a code-only delta, smpmgr
offer     the server sends an offer -> the LCD model shows it (scripted server, real link)
preview   the server sends a campaign record's preview -> the LCD model shows it
cckeys    the agent's key at the pins -> the server has the request
ringing   INVITE at the phone -> ringer samples in the ringer PCM and "Ringing" on the LCD
voice     the agent's mic -> the customer decodes it (50 calls through Kamailio; --via-bridge:
          through ccsim's media bridge, as [bridge] routes contacts)
dial      key `ok` on a sim phone's dial screen (and 911's last digit) -> its INVITE on lo
campaign  `Call` on a preview campaign's record (a sim phone) -> its INVITE on lo
transfer  consult -> transfer completed on sim phones 1001 -> 1002 (ccsim's media bridge)
latency   the phone's own audio latency each way, at its socket (raw capture on lo; root)
drift     clock drift over a simulated hour at -200/0/+200 ppm, mic and playout: padded, delay
cleanup   voice cleanup on the sim-room board's room: echo (ERLE, convergence, double talk),
          noise removal (SNR gain, STOI), CPU per 20 ms period of each audio stage
bridge    the media bridge's 20 ms tick (p50/p99) and CPU with 2 and 8 legs in a room
recording the Pause key -> silence in the recording (ccsim's bridge records a queue's calls)
conference the phone's CPU in a conference against a two-party call
ccsim     ccsim with 1,000 agent connections: offers routed per second, offer latency
storm     1,000 phones' links dropped at once (ccsim killed): reconnect attempts per second
flood     1,000 INVITEs at 100/s (SIPp) through the proxy and straight to a sim phone: its RSS
pins      PIN guessing against ccsim: PINs checked per connection, per hour; a 4-digit PIN's time
predictive a simulated day of a predictive campaign (ccsim's dialer, virtual clock) against
          progressive: abandon rate vs the limit, agents' idle share, calls per agent-hour
logs      Send logs: the phone's full recent log redacted, cut in parts and uploaded to ccsim
callbacks 100,000 scheduled callbacks in ccsim (engine and SQLite): time to schedule, database
          size, the engine's memory, restart time, firing lateness p50/p99 (the server's timer)
"""
from __future__ import annotations

import argparse
import sys

from . import (agent, boot, bridge, callbacks, campaign, ccsim, cleanup, conference, dial, drift,
               flash, flood, frontpanel, keys, latency, logs, memory, pins, predictive, recording,
               storm, transfer)

ALL = ("boot", "keys", "frontpanel", "offer", "callback_offer", "preview", "cckeys", "ringing",
       "voice", "dial", "campaign", "transfer", "latency", "cleanup", "drift", "flash", "bridge",
       "recording", "conference", "ccsim", "storm", "pins", "predictive", "callbacks", "logs",
       "flood", "memory")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("which", nargs="*", default=["all"], choices=("all",) + ALL)
    p.add_argument("--boots", type=int, default=10)
    p.add_argument("--presses", type=int, default=500)
    p.add_argument("--offers", type=int, default=200, help="offers, cckeys and ringing runs")
    p.add_argument("--calls", type=int, default=50, help="voice and dial")
    p.add_argument("--via-bridge", action="store_true",
                   help="voice: the customer calls the media bridge, which calls the phone")
    p.add_argument("--transfers", type=int, default=50, help="transfer: consult + transfer rounds")
    p.add_argument("--emergency-calls", type=int, default=10, help="dial: calls to 911")
    p.add_argument("--latency-calls", type=int, default=5,
                   help="latency: calls per case (clean, impaired)")
    p.add_argument("--talk", type=float, default=6.0, help="latency: seconds of talk per call")
    p.add_argument("--audio-rate", type=int, choices=(8000, 16000),
                   help="cleanup: the audio rate (default: the sim-room board's, 8000)")
    p.add_argument("--pauses", type=int, default=20, help="recording: pauses in the call")
    p.add_argument("--agents", type=int, default=1000, help="ccsim and storm")
    p.add_argument("--campaign-agents", type=int, default=20,
                   help="predictive: the campaign's agents")
    p.add_argument("--hours", type=float, default=8.0, help="predictive: the simulated day")
    p.add_argument("--outcomes", type=predictive.parse_outcomes, metavar="O=R,...",
                   help="predictive: the campaign's outcome rates (answer=0.5,busy=0.1,"
                        "no_answer=0.3,machine=0.1; default: answer 35%%, busy 10%%)")
    p.add_argument("--pending", type=int, default=100_000,
                   help="callbacks: the scheduled callbacks pending")
    p.add_argument("--minutes", type=float, default=10.0, help="memory run length")
    p.add_argument("--invites", type=int, default=1000, help="flood: INVITEs per path")
    p.add_argument("--rate", type=int, default=100, help="flood: INVITEs per second")
    p.add_argument("--direct-calls", action="store_true",
                   help="flood: the phone takes direct calls (only the call cap protects it)")
    p.add_argument("--standalone", action="store_true",
                   help="memory: the phone without SIP and contact center")
    p.add_argument("--page", action="store_true",
                   help="memory: keep the sim board's page (a development aid) running")
    args = p.parse_args(argv)
    which = set(ALL) if "all" in args.which else set(args.which)
    runs = {
        "boot": lambda: boot.run(args.boots),
        "keys": lambda: keys.run(args.presses),
        "frontpanel": lambda: frontpanel.run(args.presses),
        "offer": lambda: agent.offers(args.offers),
        "callback_offer": lambda: agent.offers(args.offers, "callback"),
        "preview": lambda: agent.previews(args.offers),
        "campaign": lambda: campaign.run(args.calls),
        "cckeys": lambda: agent.keys(args.offers),
        "ringing": lambda: agent.ringing(args.offers),
        "voice": lambda: agent.voice(args.calls, args.via_bridge),
        "dial": lambda: dial.run(args.calls, args.emergency_calls),
        "transfer": lambda: transfer.run(args.transfers),
        "latency": lambda: latency.run(args.latency_calls, args.talk),
        "cleanup": lambda: cleanup.run(args.audio_rate),
        "drift": drift.run,
        "flash": flash.run,
        "bridge": bridge.run,
        "recording": lambda: recording.run(args.pauses),
        "conference": conference.run,
        "ccsim": lambda: ccsim.run(args.agents),
        "storm": lambda: storm.run(args.agents),
        "flood": lambda: flood.run(args.invites, args.rate, args.direct_calls),
        "pins": pins.run,
        "predictive": lambda: predictive.run(args.campaign_agents, args.hours,
                                             outcomes=args.outcomes),
        "callbacks": lambda: callbacks.run(args.pending),
        "logs": logs.run,
        "memory": lambda: memory.run(args.minutes, args.standalone, args.page),
    }
    for name in ALL:
        if name in which:
            print(runs[name](), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
