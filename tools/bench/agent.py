"""The phone's contact-center path, in-process phone against a scripted server.

offer   the server sends a contact "offered" -> the LCD model shows the caller's number
keys    the agent's key at the pins -> the server has the request (State -> Available)
ringing INVITE at the phone -> the ringer PCM and "Ringing" on the LCD (Kamailio, customers)
voice   the agent's mic -> the customer hears it (Kamailio, customers)

The server is a small aiohttp WebSocket endpoint on its own thread, speaking the real protocol
(firmware/cc/protocol.py) to the phone's real CcConnection over loopback; both clocks are this
process's perf_counter, so no cross-process skew enters the figures.
"""
from __future__ import annotations

import tempfile
import threading
import time

from firmware.cc import protocol as p
from firmware.cc.connection import CcConnection
from firmware.core import events as ev
from tools.ccsim.customers_process import CustomersProcess
from tools.ws_server import ThreadedWsServer

from .inproc import InProcessPhone
from .table import percentile, table

AGENT = p.Agent(id="1001", name="Bench Agent", team="Blue", extension="sip:1001@127.0.0.1")
IDLE_CODES = [p.Code("lunch", "Lunch"), p.Code("break", "Break")]
OFFER_GOAL_P99_MS = 50
KEY_GOAL_P99_MS = 20


class ScriptedServer(ThreadedWsServer):
    """Accepts one phone: hello -> snapshot; records each request with its arrival time."""

    def __init__(self, settings: p.Settings = p.Settings(mask_ani=True)):
        self.settings = settings
        self.ws = None
        self.seq = 0
        self.received: list[tuple[float, object]] = []
        self.got = threading.Condition()
        super().__init__(self._agent)

    async def _agent(self, ws):
        self.ws = ws
        async for msg in ws:
            t = time.perf_counter()
            req = p.decode_client(msg.data)
            await ws.send_str(p.encode(p.Ack(id=req.id)))
            if isinstance(req, p.Hello):
                await ws.send_str(p.encode(p.Snapshot(
                    seq=self.seq, agent=AGENT, state="idle", reason="login",
                    idle_codes=IDLE_CODES, settings=self.settings)))
            with self.got:
                self.received.append((t, req))
                self.got.notify_all()

    def send(self, make) -> float:
        """Send the event ``make(seq)`` builds; returns the time just before it went out."""
        async def go():
            self.seq += 1
            frame = p.encode(make(self.seq))
            t = time.perf_counter()
            await self.ws.send_str(frame)
            return t
        return self.run(go())

    def wait_request(self, kind, after: int, timeout=5.0):
        with self.got:
            if not self.got.wait_for(lambda: any(isinstance(r, kind)
                                                 for _, r in self.received[after:]), timeout):
                raise RuntimeError(f"the server got no {kind.__name__}")
            return next((t, r) for t, r in self.received[after:] if isinstance(r, kind))


def _logged_in() -> tuple[InProcessPhone, ScriptedServer]:
    server = ScriptedServer()
    phone = InProcessPhone()

    async def attach():
        phone.phone.cc = CcConnection(server.url, phone.phone.post)
        phone.phone.cc.start()
        phone.phone.post(ev.LoginFromConfig("1001", "1234"))
    phone.call(attach())
    deadline = time.monotonic() + 10
    while phone.phone.model.links.cc != "up":
        if time.monotonic() > deadline:
            raise RuntimeError("the phone did not log in to the scripted server")
        time.sleep(0.01)
    phone.settle()
    return phone, server


def _wait_text(panel, pred, what: str, timeout=2.0):
    version = panel.version
    deadline = time.monotonic() + timeout
    while not pred(" ".join(panel.text())):
        if time.monotonic() > deadline or not panel.wait_change(version, timeout):
            raise RuntimeError(f"the LCD never showed {what}: {panel.text()}")
        version = panel.version


def offers(n: int = 200, kind: str = "inbound") -> str:
    """The server sends an offer -> the LCD shows its caller; ``kind`` "callback": a callback
    offered (`Callback`, the customer's name, number, DNIS)."""
    phone, server = _logged_in()
    panel = phone.sim.panel
    latencies = []
    callback = kind == "callback"
    try:
        for i in range(n):
            tail = f"{i:04d}"
            contact = p.Contact(id=f"c-{i}", status="offered", queue="sales",
                                ani=f"+1555123{tail}", variables={"customer": f"Customer {i}"},
                                expires_at=time.time() + 30,
                                **({"kind": "callback", "callback": f"cb-{i}",
                                    "customer": f"Customer {i}", "dnis": "web"}
                                   if callback else {}))
            t0 = server.send(lambda seq: p.ContactUpdate(seq=seq, contact=contact))
            _wait_text(panel, lambda text: tail in text, f"offer {tail}")
            latencies.append((time.perf_counter() - t0) * 1000)
            gone = p.Contact(id=contact.id, status="withdrawn", queue="sales", ani=contact.ani)
            server.send(lambda seq: p.ContactUpdate(seq=seq, contact=gone))
            _wait_text(panel, lambda text: tail not in text, f"offer {tail} withdrawn")
    finally:
        phone.close()
        server.close()
    what = "a callback offer" if callback else "an offer"
    return _latency_table(f"Server sends {what} -> the LCD model shows it ({n} offers)",
                          latencies, OFFER_GOAL_P99_MS)


def previews(n: int = 200) -> str:
    """A campaign's record previewed: the server sends the contact -> the LCD shows the
    customer (the campaign popover), as `offers` does for an inbound offer."""
    phone, server = _logged_in()
    panel = phone.sim.panel
    campaign = p.Campaign(id="bench", name="Bench campaign", status="started", preview_s=30,
                          dispositions=[p.Code("sale", "Sale")],
                          fields=[p.VariableLayout("account", "Account")])
    server.send(lambda seq: p.CampaignUpdate(seq=seq, campaign=campaign))
    latencies = []
    try:
        for i in range(n):
            name = f"Customer {i:04d}"
            record = p.Contact(id=f"c-{i}", status="preview", queue="", ani=f"555{i:04d}",
                               kind="campaign", campaign="bench", customer=name,
                               variables={"account": f"A-{i}"}, expires_at=time.time() + 30)
            t0 = server.send(lambda seq: p.ContactUpdate(seq=seq, contact=record))
            _wait_text(panel, lambda text: name in text, f"preview {name}")
            latencies.append((time.perf_counter() - t0) * 1000)
            skipped = p.Contact(id=record.id, status="skipped", queue="", ani=record.ani,
                                kind="campaign", campaign="bench")
            server.send(lambda seq: p.ContactUpdate(seq=seq, contact=skipped))
            _wait_text(panel, lambda text: name not in text, f"preview {name} skipped")
    finally:
        phone.close()
        server.close()
    return _latency_table(f"Server sends a campaign record's preview -> the LCD model shows it "
                          f"({n} previews)", latencies, OFFER_GOAL_P99_MS)


def keys(n: int = 200) -> str:
    """State softkey, then '1' (Available) in the state menu: the '1' press is timed."""
    phone, server = _logged_in()
    sim = phone.sim
    latencies = []
    try:
        for _ in range(n):
            sim.tap("soft1")               # State
            phone.settle()
            before = len(server.received)
            t0 = time.perf_counter()
            sim.matrix.press("1")          # Available
            t1, _req = server.wait_request(p.SetState, before)
            latencies.append((t1 - t0) * 1000)
            time.sleep(0.02)
            sim.matrix.release("1")
            time.sleep(0.03)
            server.send(lambda seq: p.AgentState(seq=seq, state="idle", reason="lunch"))
            phone.settle()
    finally:
        phone.close()
        server.close()
    return _latency_table(f"Key at the pins -> the server has the request ({n} presses)",
                          latencies, KEY_GOAL_P99_MS)


def _latency_table(title: str, latencies: list[float], goal_ms: float) -> str:
    return table(title, ["p50 ms", "p90 ms", "p99 ms", "max ms", "goal p99 ms"],
                 [[percentile(latencies, 50), percentile(latencies, 90),
                   percentile(latencies, 99), max(latencies), goal_ms]])


def ringing(n: int = 200) -> str:
    """INVITE handed to the phone by its SIP stack -> ringer samples in the ringer PCM, and
    "Ringing" on the LCD model. Real Kamailio, real customer process, the phone's SipStack."""
    from tools.kamailio import Kamailio
    from tools.lab import free_port

    work = tempfile.mkdtemp(prefix="bench-ring-")
    kam = Kamailio(free_port(span=2), password="secret", workdir=work)
    kam.start()
    phone, server = _logged_in()
    customers = None
    incoming: list[float] = []          # when this round's INVITE reached the phone
    to_ring, to_lcd, to_dial = [], [], []
    try:
        post = phone.phone.post

        def timed_post(event):
            if isinstance(event, ev.SipIncoming):
                incoming.append(time.perf_counter())
            post(event)

        _registered(phone, kam, timed_post)
        customers = CustomersProcess(kam.address, f"127.0.0.1:{free_port(span=2)}")
        audio, panel = phone.devices.audio, phone.sim.panel
        for i in range(n):
            cid = f"b-{i}"
            incoming.clear()
            t_dial = time.perf_counter()
            # a personal call (no contact id): one naming a contact the phone was never
            # offered waits unshown for that offer, and is refused
            customers.send(op="dial", contact=cid, to=f"sip:1001@{kam.address}",
                           ani="+15550001000", talk_s=5, ring_s=10, personal=True)
            _wait_text(panel, lambda text: "Ringing" in text, "Ringing", timeout=5)
            t_lcd = time.perf_counter()
            deadline = time.monotonic() + 5
            while audio.started_at.get("ringer", 0) < (incoming or [t_dial])[0]:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"call {i}: the ringer never started")
                time.sleep(0.0005)
            t0 = incoming[0]
            to_ring.append((audio.started_at["ringer"] - t0) * 1000)
            to_lcd.append((t_lcd - t0) * 1000)
            to_dial.append((t0 - t_dial) * 1000)
            customers.send(op="hangup", contact=cid)
            customers.wait(lambda e: e.get("contact") == cid and e["event"] in ("ended", "failed"))
            _wait_text(panel, lambda text: "Ringing" not in text, "the ring to end", timeout=5)
    finally:
        _tear_down(customers, phone, kam)
        server.close()
    rows = [["INVITE at the phone -> first ringer period in the PCM", *_pcts(to_ring), 100],
            ["INVITE at the phone -> 'Ringing' on the LCD model", *_pcts(to_lcd), 100],
            ["(customer's dial command -> INVITE at the phone)", *_pcts(to_dial), "-"]]
    return table(f"Incoming call rings ({n} calls through Kamailio)",
                 ["", "p50 ms", "p99 ms", "max ms", "goal p99 ms"], rows)


def voice(n: int = 50, via_bridge: bool = False) -> str:
    """The agent speaks -> the customer hears it. The phone's mic (the sim's mic.raw: 0.3 s
    of silence, then a tone) goes through CallMic and the phone's SipStack to a real customer
    process; the bench notes when the first loud period is handed to the stack, the customer
    when it first decodes a loud packet (time.monotonic(), one clock for both processes).
    ``via_bridge``: as ccsim's [bridge] routes it, the customer calls the media bridge
    (tools/ccsim/bridge.py), which dials the phone and mixes the two legs in a room."""
    from array import array

    from tools.kamailio import Kamailio
    from tools.lab import free_port

    work = tempfile.mkdtemp(prefix="bench-voice-")
    kam = Kamailio(free_port(span=2), password="secret", workdir=work)
    kam.start()
    phone = InProcessPhone()
    rate = phone.devices.audio.rate
    silence, tone = int(0.3 * rate), int(1.0 * rate)
    spoken = array("h", [0] * silence + [int(9000 * ((i // 4) % 2 * 2 - 1))    # 1 kHz square
                                         for i in range(tone)] + [0] * (rate // 50))
    (phone.sim.audio_dir / "mic.raw").write_bytes(spoken.tobytes())
    customers = bridge = None
    sent: dict[str, float] = {}
    latencies, starved, queued = [], 0, []
    try:
        sip = _registered(phone, kam, phone.phone.post)
        send = sip.send_audio

        def timed_send(call, pcm, rate, **kw):   # the first loud period of each call
            if call not in sent and max(array("h", pcm), default=0) > 1000:
                sent[call] = time.monotonic()
            send(call, pcm, rate, **kw)
            if call in sent:                     # how much waits in the phone to be sent
                queued.append(sip.stats(call).get("tx_queued_ms", 0))
        sip.send_audio = timed_send
        customers = CustomersProcess(kam.address, f"127.0.0.1:{free_port(span=2)}")
        if via_bridge:
            from tools.ccsim.bridge_process import BridgeProcess
            bridge = BridgeProcess(kam.address, f"127.0.0.1:{free_port(span=2)}")
        for i in range(n):
            cid = f"v-{i}"
            if bridge is None:
                customers.send(op="dial", contact=cid, to=f"sip:1001@{kam.address}",
                               ani="+15550001000", talk_s=10, ring_s=10, personal=True)
                customers.wait(lambda e: e.get("contact") == cid and e["event"] == "ringing")
            else:                                # the customer's leg, then the agent's, one room
                since = bridge.mark()
                customers.send(op="dial", contact=cid, to=f"sip:cc-bridge@{kam.address}",
                               ani="+15550001000", talk_s=10, ring_s=10, personal=True)
                leg = bridge.wait("incoming", since)["leg"]
                bridge.send(op="answer", leg=leg)
                bridge.send(op="join", room="R", leg=leg)
                bridge.send(op="dial", leg=f"a-{i}", to="1001")
                bridge.send(op="join", room="R", leg=f"a-{i}")
            _wait_for(lambda: phone.phone.model.calls, "the call to ring")
            call = phone.phone.model.calls[0].id
            phone.phone.post(ev.Hook(True))                        # answered with the handset
            customers.wait(lambda e: e.get("contact") == cid and e["event"] == "voice", 5)
            heard = next(e["at"] for e in customers.events
                         if e.get("contact") == cid and e["event"] == "voice")
            latencies.append((heard - sent[call]) * 1000)
            starved += sip.stats(call).get("tx_starved", 0)
            phone.phone.post(ev.Hook(False))                       # hung up
            if bridge is not None:
                bridge.send(op="hangup", leg=leg)
            customers.wait(lambda e: e.get("contact") == cid and e["event"] == "ended")
            _wait_for(lambda: not phone.phone.model.calls, "the call to end")
    finally:
        if bridge is not None:
            bridge.close()
        _tear_down(customers, phone, kam)
    route = ("through the media bridge: customer -> bridge -> phone, mixed every 20 ms"
             if via_bridge else "RTP peer to peer")
    return (table(f"The agent's voice: first loud mic period handed to the stack -> the "
                  f"customer decodes it ({n} calls through Kamailio, {route})",
                  ["", "p50 ms", "p90 ms", "p99 ms", "max ms"],
                  [["mic -> customer", percentile(latencies, 50), percentile(latencies, 90),
                    percentile(latencies, 99), max(latencies)]])
            + f"\nthe phone's part: voice queued to be sent, just after each write (median / "
              f"max of {len(queued)}): {percentile(queued, 50):.0f} / {max(queued)} ms; the rest "
              f"is loopback and the customer's receive side (its jitter buffer, its 20 ms reads)"
            + f"\npackets sent padded because the mic fell behind (tx_starved), all calls: "
              f"{starved}\n")


def _registered(phone: InProcessPhone, kam, post):
    """The phone's own SipStack, posting to ``post``, registered to ``kam``."""
    from firmware.sip.stack import SipConfig, SipStack
    from tools.lab import free_port

    sip = SipStack(SipConfig(user="1001", password="secret", domain=kam.address,
                             listen=f"127.0.0.1:{free_port(span=2)}"), post)
    phone.phone.sip = sip
    phone.call(sip.start())
    _wait_for(lambda: phone.phone.model.links.sip == "registered", "the phone to register", 15)
    return sip


def _tear_down(customers, phone: InProcessPhone, kam):
    if customers:
        customers.close()
    if phone.phone.sip:
        phone.call(phone.phone.sip.stop())
    phone.close()
    kam.stop()


def _wait_for(check, what: str, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"bench: waited {timeout} s for {what}")
        time.sleep(0.005)


def _pcts(values):
    return [percentile(values, 50), percentile(values, 99), max(values)]
