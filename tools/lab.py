"""A contact-center lab on loopback: Kamailio, ccsim (with its simulated customers), the
voicemail service and sim phones, each a real process. The demo, the integration tests and the
benchmarks build on it.

    with Lab(workdir) as lab:
        lab.start()                          # registrar + contact-center server
        phone = lab.phone("1001")            # a sim phone logged in as agent 1001
        cid = lab.post_contact("sales", "+15551234567")
"""
from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from firmware.core.t9 import LETTERS
from firmware.sip.dialing import dial_uri
from tools import simphone
from tools.kamailio import VOICEMAIL_NUMBER, Emergency, Kamailio
from tools.labca import LabCa
from tools.process import Process
from tools.process import start as start_process
from tools.ccsim.customers_process import CustomersProcess
from tools.voicemail_process import USER as VOICEMAIL_USER
from tools.voicemail_process import VoicemailProcess

ROOT = Path(__file__).resolve().parent.parent
SIP_PASSWORD = "secret"
DEMO_SCENARIO = ROOT / "tools" / "ccsim" / "scenarios" / "demo.toml"
# Emergency calls in the lab: the proxy sends 911, 112 and these to the emergency centre, a
# called number of its own customers process (``Lab.start_emergency_centre``), and tells
# ccsim's front desk; every lab phone has this desk's address as its dispatchable location.
LAB_EMERGENCY_NUMBERS = ("911", "112", "999")
EMERGENCY_CENTRE = "psap"
LAB_LOCATION = {"country": "US", "A1": "IL", "A3": "Chicago", "RD": "Main St", "HNO": "100",
                "FLR": "3", "ROOM": "3-117", "NAM": "Acme Contact Center"}


def free_port(kind=socket.SOCK_STREAM, span: int = 2) -> int:
    """A port free for TCP and UDP, with ``span`` free ports from it: two by default, as a
    baresip stack listening at PORT takes PORT+1 too (a freshcheck's test_dscp once found
    PORT+1 taken: "Address already in use")."""
    while True:
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port + span < 65535 and all(_free(p) for p in range(port, port + span)):
            return port


def _free(port: int) -> bool:
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


class Ccsim:
    """The ccsim process: start, kill -9, start again on the same port and database."""

    def __init__(self, workdir: Path, scenario: Path, port: int, front_desk: str = ""):
        self.workdir, self.scenario, self.port = workdir, scenario, port
        self.front_desk = front_desk
        self.db = workdir / "ccsim.db"
        self.process: Process | None = None
        self.ws_url = f"ws://127.0.0.1:{port}/agent/v1"
        self.api = f"http://127.0.0.1:{port}/api"

    @property
    def proc(self) -> subprocess.Popen[str] | None:
        return self.process.popen if self.process else None

    def start(self, timeout: float = 15):
        self.process = start_process(
            [sys.executable, "-m", "tools.ccsim", "--config", str(self.scenario),
             "--db", str(self.db), "--host", "127.0.0.1", "--port", str(self.port),
             *(("--front-desk", self.front_desk) if self.front_desk else ())],
            ready=r"^ccsim: ready", timeout=timeout, cwd=ROOT,
            stderr=self.workdir / "ccsim.log")

    def kill(self):
        """kill -9: no goodbye to anyone (its customers process lives on)."""
        if self.process:
            self.process.kill()

    def stop(self, timeout: float = 5):
        if self.process:
            self.process.stop(timeout)

    # -- admin API ------------------------------------------------------------------------------
    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.api + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"{method} {path}: {e.code} {e.read().decode()[:300]}") from None


def scenario_text(base: Path, kamailio_port: int, customers_port: int, settings: dict,
                  traffic_every_s: float = 0, customers: dict | None = None,
                  bridge: dict | None = None, recording: dict | None = None,
                  voicemail: dict | None = None) -> str:
    """The base scenario with this lab's ports: agents' extensions at the lab's registrar,
    the customers' proxy, settings, [customers], [bridge] and [voicemail] fields overridden
    (a [bridge] or [voicemail] table is added when the base has none); ``recording``:
    {"queues": [names recorded], and [recording]'s fields}."""
    customers, bridge, recording = customers or {}, bridge or {}, dict(recording or {})
    voicemail = voicemail or {}
    recorded = recording.pop("queues", [])
    text = base.read_text(encoding="utf-8")
    # one pass, whole ports only: replacing one after the other turned a registrar port that
    # begins 5090... into the customers' port with digits after it
    ports = {"5062": kamailio_port, "5090": customers_port}
    text = re.sub(r"127\.0\.0\.1:(5062|5090)(?!\d)",
                  lambda m: f"127.0.0.1:{ports[m.group(1)]}", text)
    out, section = [], None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            section = stripped.strip("[]")
        key = stripped.split("=", 1)[0].strip() if "=" in stripped else None
        if ((section == "settings" and key in settings)
                or (section == "customers" and key in customers)
                or (section == "bridge" and key in bridge)
                or (section == "voicemail" and key in voicemail)):
            continue
        if section == "customers" and key == "enabled":
            line = "enabled = true"
        if section == "traffic" and key == "every_s":
            line = f"every_s = {traffic_every_s}"
        out.append(line)
        if section == "queues" and key == "name" and json.loads(line.split("=", 1)[1]) in recorded:
            out.append("record = true")
        if stripped == "[settings]":
            out += [f"{k} = {json.dumps(v)}" for k, v in settings.items()]
        if stripped == "[customers]":
            out += [f"{k} = {json.dumps(v)}" for k, v in customers.items()]
        if stripped == "[bridge]":
            out += [f"{k} = {json.dumps(v)}" for k, v in bridge.items()]
        if stripped == "[voicemail]":
            out += [f"{k} = {json.dumps(v)}" for k, v in voicemail.items()]
    for name, fields in (("bridge", bridge), ("voicemail", voicemail)):
        if fields and f"[{name}]" not in (line.strip() for line in out):
            out += ["", f"[{name}]"] + [f"{k} = {json.dumps(v)}" for k, v in fields.items()]
    if recording:
        out += ["", "[recording]"] + [f"{k} = {json.dumps(v)}" for k, v in recording.items()]
    return "\n".join(out) + "\n"


class Lab:
    def __init__(self, workdir: Path, settings: dict | None = None, traffic_every_s: float = 0,
                 scenario: Path = DEMO_SCENARIO, secure: bool = False, bridge: bool = True,
                 recorded: tuple[str, ...] = (), auto_resume_s: float = 60.0,
                 voicemail: bool | dict = False):
        """``secure``: calls as in production, SIP over TLS with SRTP mandatory: Kamailio also
        listens for TLS (PORT+1) with a certificate from a lab CA (``workdir/tls``), the
        customers and the phones go through it and refuse calls without SRTP. ``bridge`` (on
        unless turned off): ccsim's media bridge holds the customers' calls, as a real
        contact center does ([bridge] enabled, its control socket ``workdir/bridge.sock``);
        off, the customers call the phones straight. ``recorded``: queues whose calls the
        bridge records, into ``workdir/recordings`` (a pause resumes after ``auto_resume_s``).
        Personal calls (to an agent's extension, no contact's) follow the agents' forwarding,
        which Kamailio reads from ccsim's database; ``voicemail`` (off unless asked: its service
        costs every lab's start; a dict: [voicemail] fields, e.g. {"max_messages": 1}): what
        they don't take goes to the
        agent's box, at the voicemail service (tools/voicemail.py, its audio in
        ``workdir/voicemail``), and ``*97`` reaches the caller's own."""
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.secure = secure
        self.kamailio_port = free_port(span=2)            # UDP, and TLS at the next port
        tls = None
        if secure:
            self.ca = LabCa(self.workdir / "tls")
            tls = self.ca.issue("kamailio")
        front_desk = f"127.0.0.1:{free_port(socket.SOCK_DGRAM)}"
        box: dict = {}                      # [voicemail] (none: no boxes)
        if voicemail:
            box = {"enabled": True, "number": VOICEMAIL_NUMBER,
                   **(voicemail if isinstance(voicemail, dict) else {})}
        self.voicemail_number = box.get("number", "")
        self.kamailio = Kamailio(self.kamailio_port, password=SIP_PASSWORD,
                                 workdir=self.workdir / "kamailio", tls=tls,
                                 emergency=Emergency(LAB_EMERGENCY_NUMBERS, EMERGENCY_CENTRE,
                                                     front_desk),
                                 personal_db=self.workdir / "ccsim.db",
                                 voicemail_user=VOICEMAIL_USER if box else None,
                                 voicemail_number=self.voicemail_number or VOICEMAIL_NUMBER)
        customers_port = free_port(span=2)
        customers = ({"proxy": self.kamailio.tls_address, "transport": "tls",
                      "cafile": str(self.ca.cafile), "media": "srtp"} if secure else {})
        self.bridge_control = self.workdir / "bridge.sock" if bridge else None
        bridge_fields = ({"enabled": True, "listen": f"127.0.0.1:{free_port(span=2)}",
                          "control": str(self.bridge_control)} if bridge else {})
        path = self.workdir / "scenario.toml"
        self.recordings = self.workdir / "recordings"
        recording = ({"queues": list(recorded), "dir": str(self.recordings),
                      "auto_resume_s": auto_resume_s} if recorded else None)
        path.write_text(scenario_text(scenario, self.kamailio_port, customers_port,
                                      settings or {}, traffic_every_s, customers,
                                      bridge_fields, recording, box))
        self.ccsim = Ccsim(self.workdir, path, free_port(), front_desk)
        self.phones: list[simphone.SimPhone] = []
        self.emergency_centre: CustomersProcess | None = None
        self.voicemail_dir = self.workdir / "voicemail"
        self.voicemail: VoicemailProcess | None = None
        self._voicemail_on = bool(box)

    def start(self):
        self.kamailio.start()
        if self._voicemail_on:              # it registers while ccsim starts
            self.voicemail = self._voicemail_process()
        self.ccsim.start()
        if self.voicemail is not None:
            self.voicemail.wait_ready()
        return self

    def _voicemail_process(self) -> VoicemailProcess:
        proxy, more = self.kamailio.address, ()
        if self.secure:
            proxy = self.kamailio.tls_address or proxy
            more = ("--transport", "tls", "--cafile", str(self.ca.cafile), "--media", "srtp")
        return VoicemailProcess(proxy, f"127.0.0.1:{free_port(span=2)}", SIP_PASSWORD,
                                self.ccsim.api, self.voicemail_dir, VOICEMAIL_USER, more,
                                ready_timeout=None)

    def voicemail_box(self, extension: str) -> dict:
        """An agent's box as ccsim keeps it (GET /api/voicemail/<ext>)."""
        return self.ccsim.call("GET", f"/voicemail/{extension}")

    def forward(self, agent: str, **forwarding) -> dict:
        """Set an agent's forwarding as the admin (PUT /api/agents/<id>/forwarding): the
        fields of protocol.Forwarding; the forwarding as kept."""
        return self.ccsim.call("PUT", f"/agents/{agent}/forwarding", forwarding)

    def start_emergency_centre(self) -> CustomersProcess:
        """The simulated emergency centre: a UA registered as EMERGENCY_CENTRE that answers,
        plays its tone, and reports each call's headers (Priority, Geolocation) and what it
        hears (tools/ccsim/customers.py events). Its own process: ccsim may be down."""
        if self.emergency_centre is None:
            self.emergency_centre = self.customers_process("--answer", EMERGENCY_CENTRE)
        return self.emergency_centre

    def customers_process(self, *args: str) -> CustomersProcess:
        """A customers process of the caller's own at this lab's proxy, on its transport (the
        caller closes it): e.g. personal calls straight to a phone, with the tone and level
        the test chooses, ``send(op="dial", to=lab.extension_uri("1001"), personal=True,
        contact="x", level=1.0)``."""
        proxy = self.kamailio.address
        if self.secure:
            proxy = self.kamailio.tls_address or proxy
            args += ("--transport", "tls", "--cafile", str(self.ca.cafile), "--media", "srtp")
        return CustomersProcess(proxy, f"127.0.0.1:{free_port(span=2)}", SIP_PASSWORD, args)

    def extension_uri(self, extension: str) -> str:
        """The SIP URI that reaches ``extension`` through the proxy, as ccsim dials it."""
        if self.secure:
            return dial_uri(extension, self.kamailio.tls_address or "", "tls")
        return dial_uri(extension, self.kamailio.address)

    def emergencies(self) -> list[dict]:
        """What ccsim's front desk was told (GET /api/emergencies)."""
        return self.ccsim.call("GET", "/emergencies")["emergencies"]

    def phone_config(self, agent: str | None, pin: str = "1234", sip_user: str | None = None,
                     sip_password: str = SIP_PASSWORD, reg_interval: int = 60,
                     sip_fields: dict | None = None) -> str:
        """[cc] and [sip] for a phone of this lab; ``agent=None`` leaves the login to the keypad;
        ``sip_fields`` adds [sip] fields (``{"direct_calls": True}``)."""
        sip_port = free_port(span=2)
        login = f'agent = "{agent}"\npin = "{pin}"\n' if agent else ""
        fields = ({"transport": "tls", "cafile": str(self.ca.cafile), "media": "srtp"}
                  if self.secure else {}) | (sip_fields or {})
        domain = (self.kamailio.tls_address if fields.get("transport") == "tls"
                  else self.kamailio.address)
        more = "".join(f"{k} = {json.dumps(v)}\n" for k, v in fields.items())
        where = "".join(f"{k} = {json.dumps(v)}\n" for k, v in LAB_LOCATION.items())
        return (f'[cc]\nurl = "{self.ccsim.ws_url}"\n{login}'
                f'[sip]\nuser = "{sip_user or agent or "1001"}"\npassword = "{sip_password}"\n'
                f'domain = "{domain}"\nlisten = "127.0.0.1:{sip_port}"\n'
                f'reg_interval = {reg_interval}\n{more}'
                f'[emergency]\nnumbers = ["999"]\n[emergency.location]\n{where}')

    def phone(self, agent: str | None = "1001", name: str | None = None,
              page_port: int | None = 0, board: str = "sim",
              **kw) -> simphone.SimPhone:
        phone = simphone.start(self.workdir / (name or f"phone-{agent or 'login'}"),
                               page_port=page_port, extra_config=self.phone_config(agent, **kw),
                               board=board)
        self.phones.append(phone)
        return phone

    def power_cycle(self, desk: Desk) -> Desk:
        """The agent switches the desk's phone off (it must stop cleanly) and on again, with
        its config and state as they were."""
        desk.close()
        code = desk.phone.stop()
        if code != 0:
            raise AssertionError(f"the phone exited {code} when switched off")
        phone = simphone.start_again(desk.phone)
        self.phones.append(phone)
        return Desk(phone)

    def post_contact(self, queue: str, ani: str, variables: dict | None = None,
                     talk_s: float | None = None) -> str:
        body = {"queue": queue, "ani": ani, "variables": variables or {}}
        if talk_s is not None:
            body["talk_s"] = talk_s
        return self.ccsim.call("POST", "/contacts", body)["id"]

    def contact(self, cid: str) -> dict:
        return self.ccsim.call("GET", f"/contacts/{cid}")

    def heard(self, cid: str) -> dict | None:
        """What contact ``cid``'s customer heard of the agent in the last 0.5 s (see
        tools/ccsim/customers.py), or None before its call was answered."""
        try:
            return self.ccsim.call("GET", f"/contacts/{cid}/audio")
        except RuntimeError as e:
            if ": 404 " in str(e):
                return None
            raise

    def agent(self, aid: str) -> dict:
        return self.ccsim.call("GET", f"/agents/{aid}")

    def wait_for(self, what, timeout: float = 10, every: float = 0.05, desc: str = ""):
        """Poll ``what()`` until it returns something truthy; return it."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                last = what()
            except (RuntimeError, OSError) as e:
                last = e
            else:
                if last:
                    return last
            time.sleep(every)
        raise TimeoutError(f"gave up waiting{' for ' + desc if desc else ''} "
                           f"after {timeout} s (last: {last!r})")

    def stop(self):
        for phone in self.phones:
            phone.stop()
        if self.emergency_centre is not None:
            self.emergency_centre.close()
        if self.voicemail is not None:
            self.voicemail.close()
        self.ccsim.stop()
        self._quit_bridge()
        self.kamailio.stop()

    def bridge_command(self, command: dict, until: str | Callable[[dict], bool] | None = None,
                       timeout: float = 5) -> list[dict]:
        """Drive the media bridge as its controller would (while ccsim is away: a connection
        replaces ccsim's): send ``command``, read its events until one of kind ``until`` (or
        one ``until(event)`` is true; none: until the bridge closes the connection); the
        events read."""
        assert self.bridge_control is not None, "this lab has no bridge"
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(timeout)
            s.connect(str(self.bridge_control))
            lines = s.makefile("rwb")
            events = [json.loads(lines.readline())]          # {"event": "ready"}
            lines.write(json.dumps(command).encode() + b"\n")
            lines.flush()
            for line in lines:
                events.append(json.loads(line))
                if (until(events[-1]) if callable(until)
                        else events[-1].get("event") == until):
                    break
            return events

    def _quit_bridge(self):
        """A bridge that outlived ccsim (killed, not restarted) is a service: end it."""
        if self.bridge_control is not None and self.bridge_control.exists():
            try:
                self.bridge_command({"op": "quit"})
            except OSError:
                pass                            # gone already

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# the keypad's letters: which key, pressed how often (multi-tap), types each
_KEY_OF = {letter: (key, presses) for key, letters in LETTERS.items()
           for presses, letter in enumerate(letters, 1)} | {" ": ("0", 1)}


class Desk:
    """An agent's hands and eyes on a phone, through its service console."""

    def __init__(self, phone: simphone.SimPhone):
        from tools.flash.console import ConsoleLink
        self.phone = phone
        self.link = ConsoleLink(phone.console)

    def lcd(self) -> list[str]:
        return [line.split(":", 2)[2] for line in self.link.command("lcd", until=b"lcd.")[:-1]]

    def text(self) -> str:
        return "\n".join(self.lcd())

    def key(self, *names: str):
        for name in names:
            reply = self.link.command(f"key {name}")
            assert reply == ["ok"], f"key {name}: {reply}"

    def answer_customer(self, lab: Lab, agent: str = "1001", ani: str = "+15551234567",
                        talk_s: float = 120, queue: str = "sales") -> str:
        """The agent goes Available, a customer calls through ``queue`` (named Jo Smith),
        the agent accepts and talks; the contact's id."""
        self.key("soft1", "1")                      # State -> Available
        lab.wait_for(lambda: lab.agent(agent)["state"] == "available", desc="available")
        cid = lab.post_contact(queue, ani, {"customer": "Jo Smith"}, talk_s=talk_s)
        self.wait_lcd("Call 1 of 1", timeout=15)
        self.key("soft1")                           # Accept
        self.wait_lcd("Talking", timeout=15)
        return cid

    def type(self, digits: str):
        self.key(*digits)

    def spell(self, text: str):
        """Type ``text`` (letters and spaces; a text field capitalises its first letter) by
        multi-tap: ``right`` commits a letter before another on the same key."""
        keys: list[str] = []
        for ch in text.lower():
            key, presses = _KEY_OF[ch]
            if keys and keys[-1] == key:
                keys.append("right")
            keys += [key] * presses
        self.key(*keys)

    def shown(self) -> str:
        """The display's rows as one line: a notice longer than a row wraps onto the next."""
        return " ".join(row.strip() for row in self.lcd())

    def wait_shown(self, text: str, timeout: float = 10) -> str:
        """Wait until the display says ``text``, wrapped over rows or not."""
        deadline = time.monotonic() + timeout
        while text not in (now := self.shown()):
            if time.monotonic() > deadline:
                raise AssertionError(f"the LCD never said {text!r}; it shows:\n{self.text()}"
                                     + self._log_tail())
            time.sleep(0.05)
        return now

    def hook(self, lifted: bool):
        assert self.link.command(f"hook {'off' if lifted else 'on'}") == ["ok"]

    def status(self) -> dict[str, str]:
        line = self.link.command("status")[0]
        return dict(part.split("=", 1) for part in line.split()[1:])

    def calls(self) -> list[dict[str, str]]:
        lines = self.link.command("calls", until=b"calls.")[:-1]
        return [dict(part.split("=", 1) for part in line.split()[2:]) | {"id": line.split()[1]}
                for line in lines]

    def wait_lcd(self, *texts: str, timeout: float = 10) -> str:
        """Wait until the display shows every one of ``texts``; returns the display."""
        deadline = time.monotonic() + timeout
        while True:
            shown = self.text()
            if all(t in shown for t in texts):
                return shown
            if time.monotonic() > deadline:
                raise AssertionError(f"the LCD never showed {texts!r}; it shows:\n{shown}"
                                     + self._log_tail())
            time.sleep(0.05)

    def wait_status(self, timeout: float = 10, **want: str) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while True:
            status = self.status()
            if all(status.get(k) == v for k, v in want.items()):
                return status
            if time.monotonic() > deadline:
                raise AssertionError(f"status never had {want}; last: {status}"
                                     + self._log_tail())
            time.sleep(0.05)

    def _log_tail(self, lines: int = 12) -> str:
        """The phone's last warnings and errors, for a failure message: why it got stuck."""
        try:
            log = (self.phone.workdir / "phone.log").read_text(errors="replace").splitlines()
        except OSError:
            return ""
        worth = [line for line in log if " WARNING " in line or " ERROR " in line]
        return "\nthe phone's last warnings:\n" + "\n".join(worth[-lines:]) if worth else ""

    def close(self):
        self.link.close()
