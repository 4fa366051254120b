"""A Kamailio registrar/proxy in its own process, for tests and the demo.

In-memory location table, digest auth with one shared password for every user (REGISTER is
challenged with 401, everything else with 407), record-routing so in-dialog requests (BYE,
hold re-INVITEs) pass through it. `python -m tools.kamailio --port 5062` runs one in the
foreground. A call to ``sip:<user>@<proxy>`` goes to whoever registered as that user: a phone,
or a number the simulated customers answer (they register each one, with the shared
password), else 404 Not Found. With ``personal_db`` (ccsim's database) a personal call to an
agent's extension follows the agent's forwarding, and with ``voicemail_user`` what is not
taken goes to the agent's voicemail (PERSONAL_ROUTES below).

With ``tls=(certificate, key)`` it also listens for SIP over TLS on PORT+1 (Debian's
kamailio-tls-modules). A phone registered over TLS gets its calls down the connection it
registered on: baresip's Contact names that connection's own address, and Kamailio sends to
an address it has a connection to over that connection. So the phone needs no certificate and
accepts no connection. Kamailio keeps an idle connection an hour (tcp_connection_lifetime; its
default, 120 s, would drop a phone that re-registers less often and leave it unreachable).
"""
from __future__ import annotations

import argparse
import contextlib
import glob
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from tools.process import Process, ProcessError
from tools.process import start as start_process

KAMAILIO = "/usr/sbin/kamailio"

TLS_CORE = """\
listen=tls:{host}:{tls_port}
enable_tls=yes
tcp_connection_lifetime=3605
"""
TLS_MODULE = """\
loadmodule "tls.so"
modparam("tls", "config", "{tls_config}")
"""
# verify_certificate=no as a server: the phones authenticate with digest, not certificates
TLS_CONFIG = """\
[server:default]
method = TLSv1.2+
certificate = {certificate}
private_key = {key}
verify_certificate = no
require_certificate = no
"""

CONFIG = """\
#!KAMAILIO
debug=1
log_stderror=yes
children=2
tcp_children=1
ser_kill_timeout=2
listen=udp:{host}:{port}
{tls_core}auto_aliases=no
mpath="{mpath}"
{tls_module}loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "siputils.so"
loadmodule "textops.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "auth.so"
modparam("usrloc", "db_mode", 0)
modparam("registrar", "min_expires", 2)
{media_module}{emergency_module}{personal_module}request_route {{
  if (!mf_process_maxfwd_header("10")) {{ sl_send_reply("483","Too Many Hops"); exit; }}
  if (has_totag()) {{
    if (loose_route()) {{ {media_dialog}t_relay(); exit; }}
    if (is_method("ACK")) {{ if (t_check_trans()) t_relay(); exit; }}
    sl_send_reply("404","Not here"); exit;
  }}
  if (is_method("CANCEL")) {{ if (t_check_trans()) {cancel_relay} exit; }}
  if (is_method("ACK")) exit;
  if (is_method("REGISTER")) {{
    if (!pv_www_authenticate("$td","{password}","0")) {{ www_challenge("$td","0"); exit; }}
    consume_credentials(); save("location"); exit;
  }}
  if (!pv_proxy_authenticate("$fd","{password}","0")) {{ proxy_challenge("$fd","0"); exit; }}
  consume_credentials();
{emergency_route}  if (is_method("INVITE|SUBSCRIBE|REFER")) record_route();
{personal_route}{lookup}
  {media_invite}t_relay();
}}
{media_reply}{personal_routes}"""
# With a media relay (tools/rtprelay.py, or any rtpproxy): every SDP offer and answer is
# rewritten to the relay's ports, in new and in-dialog INVITEs and their replies (ACK with an
# answer too), and BYE, CANCEL or a failure reply ends the relay's session.
MEDIA_MODULE = """\
loadmodule "rtpproxy.so"
modparam("rtpproxy", "rtpproxy_sock", "udp:{host}:{port}")
modparam("rtpproxy", "rtpproxy_disable_tout", 2)
"""
MEDIA_MANAGE = ('if (is_method("INVITE|ACK|BYE|CANCEL")) rtpproxy_manage(); '
                'if (is_method("INVITE")) t_on_reply("MEDIA"); ')
MEDIA_REPLY = """\
onreply_route[MEDIA] {
  if (has_body("application/sdp") || $rs >= 300) rtpproxy_manage();
}
"""


# Personal calls (``personal_db``): an INVITE to an agent's extension that is no contact's (no
# X-CC-Contact-Id, no X-CC-Token: queue, campaign and consult calls carry them and are never
# forwarded, never sent to voicemail) and not forwarded already (no Diversion: one hop, so
# never a loop) follows the agent's forwarding, which ccsim keeps in its SQLite file (table
# ``forwarding``: ext, always, busy, no_answer, no_answer_s; one row per agent's extension,
# tools/ccsim/personal.py; WAL, so this reads it per INVITE while ccsim writes). No row: not
# an agent's extension, routed as before. ``always``: the INVITE goes there instead. Else the
# phone rings no_answer_s (the row's, 20 s unless the agent changed it), then a busy phone
# (486, 600, 603) goes to ``busy``, no answer (408, 480: the ring time ran out) or no phone
# registered at all to ``no_answer``, and where that is "" to the agent's voicemail
# (``voicemail_user``, the user the voicemail service registers as, told whose box by
# X-Voicemail-For). A target that is the voicemail number is the agent's voicemail. A CANCEL
# ends it (t_is_canceled). A forwarded INVITE carries Diversion (RFC 5806): the extension and
# why. The voicemail number reaches the caller's own box: X-Voicemail-Box names the From
# user (whom the digest authenticated; the lab's users share one password).
PERSONAL_MODULE = """\
loadmodule "db_sqlite.so"
loadmodule "sqlops.so"
modparam("sqlops", "sqlcon", "personal=>sqlite://{db}")
"""
PERSONAL_ROUTE = '  if (is_method("INVITE")) route(PERSONAL);\n'
LOOKUP = ('  if (uri == myself) { if (!lookup("location")) { sl_send_reply("404","Not Found"); '
          'exit; } }')
LOOKUP_PERSONAL = """\
  if (uri == myself && !lookup("location")) {
    if ($avp(pc_ext) != $null) route(UNREACHABLE);
    sl_send_reply("404","Not Found"); exit;
  }"""
PERSONAL_ROUTES = """\
route[PERSONAL] {{
  remove_hf("X-Voicemail-For");
  remove_hf("X-Voicemail-Box");
{own_box}  if (uri != myself || is_present_hf("X-CC-Contact-Id") || is_present_hf("X-CC-Token")
      || is_present_hf("Diversion") || !($rU =~ "^[A-Za-z0-9+*._~-]{{1,64}}$")) return;
  $var(query) = "SELECT always, busy, no_answer, no_answer_s FROM forwarding WHERE ext = ";
  if (sql_query("personal", "$var(query)'$rU'", "fw") != 1) return;
  $avp(pc_ext) = $rU;
  $var(always) = $dbr(fw=>[0,0]);
  $avp(pc_busy) = $dbr(fw=>[0,1]);
  $avp(pc_no_answer) = $dbr(fw=>[0,2]);
  $var(ring_ms) = $dbr(fw=>[0,3]) * 1000;
  sql_result_free("fw");
  if ($var(always) != "") {{ $var(to) = $var(always); $var(why) = "unconditional"; route(DIVERT); }}
  t_set_fr($var(ring_ms), $var(ring_ms));
  t_on_failure("PERSONAL");
}}
route[UNREACHABLE] {{
  $var(to) = $avp(pc_no_answer); $var(why) = "unavailable";
  route(ONWARD);
}}
failure_route[PERSONAL] {{
  if (t_is_canceled()) exit;
  if (t_check_status("486|600|603")) {{ $var(to) = $avp(pc_busy); $var(why) = "user-busy"; }}
  else if (t_check_status("408|480")) {{ $var(to) = $avp(pc_no_answer); $var(why) = "no-answer"; }}
  else exit;
  t_reset_fr();
  route(ONWARD);
}}
route[ONWARD] {{
  if ($var(to) != "") route(DIVERT);
{to_voicemail}}}
route[DIVERT] {{
{divert_to_voicemail}  route(DIVERSION);
  $ru = "sip:" + $var(to) + "@{host}:{port}";
  if (!lookup("location")) {{ send_reply("404", "Not Found"); exit; }}
  t_relay(); exit;
}}
route[DIVERSION] {{
  append_hf("Diversion: <sip:$avp(pc_ext)@{host}:{port}>;reason=$var(why)\\r\\n");
}}
{voicemail_route}"""
OWN_BOX = """\
  if ($rU == "{number}" && uri == myself) {{
    append_hf("X-Voicemail-Box: $fU\\r\\n"); $rU = "{user}"; return;
  }}
"""
VOICEMAIL_ROUTE = """\
route[VOICEMAIL] {{
  append_hf("X-Voicemail-For: $avp(pc_ext)\\r\\n");
  route(DIVERSION);
  $ru = "sip:{user}@{host}:{port}";
  if (!lookup("location")) {{ send_reply("480", "Voicemail Unavailable"); exit; }}
  t_relay(); exit;
}}
"""
VOICEMAIL_NUMBER = "*97"     # what a phone dials to reach its agent's box (as most PBXs)
SIP_USER = re.compile(r"[A-Za-z0-9+*._~-]{1,64}")


# Emergency numbers go to the emergency centre (a user registered here, e.g. the customers'
# `psap` number in the lab), whoever is logged in or not on the phone: the call server routes
# them, as an MLTS must, and tells the front desk (a SIP MESSAGE to ccsim's front-desk port,
# tools/ccsim/frontdesk.py) with the caller, the number and the location the INVITE carries.
# The MESSAGE is its own transaction, sent as the INVITE goes on: it never delays the call.
EMERGENCY_MODULE = """\
loadmodule "xlog.so"
{uac}"""
EMERGENCY_ROUTE = """\
  if (is_method("INVITE") && $rU =~ "^({numbers})$") {{
    xlog("L_WARN", "EMERGENCY call from $fU to $rU\\n");
{notify}    $rU = "{centre}";
  }}
"""
EMERGENCY_NOTIFY = """\
    if (is_present_hf("Geolocation")) $var(geo) = $hdr(Geolocation); else $var(geo) = "";
    $uac_req(method) = "MESSAGE";
    $uac_req(ruri) = "sip:frontdesk@{desk}";
    $uac_req(turi) = "sip:frontdesk@{desk}";
    $uac_req(furi) = "sip:emergency@{host}:{port}";
    $uac_req(hdrs) = "Content-Type: text/plain\\r\\n";
    $uac_req(body) = "caller: " + $fU + "\\r\\ndialed: " + $rU + "\\r\\ncall-id: " + $ci
                     + "\\r\\ngeolocation: " + $var(geo) + "\\r\\n";
    uac_req_send();
"""


@dataclass(frozen=True)
class Emergency:
    """Where the proxy sends emergency calls: ``numbers`` go to the user ``centre``; the front
    desk at ``front_desk`` (host:port, UDP; "" for none) hears of each."""
    numbers: tuple[str, ...] = ("911", "112")
    centre: str = "psap"
    front_desk: str = ""


class KamailioError(RuntimeError):
    pass


def module_path() -> str:
    """Debian puts the modules under the multiarch directory (x86_64, aarch64, ...)."""
    found = glob.glob("/usr/lib/*/kamailio/modules/tm.so")
    if not found:
        raise KamailioError("kamailio modules not found (apt-get install kamailio)")
    return os.path.dirname(found[0]) + "/"


def wal_database(path: Path) -> None:
    """Make sure the SQLite file at ``path`` is there, in WAL mode (kept in the file): readers
    here never wait for ccsim's writes, nor ccsim for them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA journal_mode=WAL")


def sip_ping(host: str, port: int, timeout: float) -> bool:
    """Send one SIP OPTIONS over UDP; True if anything at all answers within ``timeout``."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        lport = s.getsockname()[1]
        tag = uuid.uuid4().hex[:12]
        msg = (f"OPTIONS sip:{host}:{port} SIP/2.0\r\n"
               f"Via: SIP/2.0/UDP {host}:{lport};branch=z9hG4bK{tag}\r\n"
               f"Max-Forwards: 70\r\nFrom: <sip:ping@{host}>;tag={tag}\r\n"
               f"To: <sip:{host}:{port}>\r\nCall-ID: {tag}@{host}\r\nCSeq: 1 OPTIONS\r\n"
               f"Content-Length: 0\r\n\r\n")
        s.settimeout(timeout)
        try:
            s.sendto(msg.encode(), (host, port))
            s.recvfrom(65535)
            return True
        except OSError:       # timeout, or ICMP port unreachable while it is still binding
            return False


class Kamailio:
    """One kamailio process on ``host:port`` (UDP), started in its own process group so that
    stop/kill reach the children it forks (they hold the SIP socket too)."""

    def __init__(self, port: int, password: str = "secret", workdir: str | Path | None = None,
                 host: str = "127.0.0.1", tls: tuple[Path, Path] | None = None,
                 rtp_relay: tuple[str, int] | None = None, emergency: Emergency | None = None,
                 personal_db: Path | None = None, voicemail_user: str | None = None,
                 voicemail_number: str = VOICEMAIL_NUMBER):
        """``tls``: (certificate, key), PEM files: listen for SIP over TLS on PORT+1 too.
        ``rtp_relay``: (host, port) of an rtpproxy control socket (tools/rtprelay.py), which
        then carries every call's media; start it first (Kamailio checks it at start-up).
        ``personal_db``: ccsim's SQLite file, whose ``forwarding`` table routes personal calls
        (made, empty and in WAL mode, if it is not there yet: ccsim adds the table);
        ``voicemail_user``: the user the voicemail service registers as, where personal calls
        not taken go, and ``voicemail_number`` reaches the caller's own box. None: neither,
        calls are routed as they always were."""
        self.host, self.port, self.password, self.tls = host, port, password, tls
        self.rtp_relay = rtp_relay
        self.emergency = emergency
        self.personal_db = Path(personal_db).absolute() if personal_db else None
        self.voicemail_user, self.voicemail_number = voicemail_user, voicemail_number
        self.workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="kamailio-"))
        self.process: Process | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def tls_port(self) -> int | None:
        return self.port + 1 if self.tls else None

    @property
    def tls_address(self) -> str | None:
        return f"{self.host}:{self.tls_port}" if self.tls else None

    def config_text(self) -> str:
        tls_core = tls_module = ""
        if self.tls:
            tls_config = self.workdir / "tls.cfg"
            tls_config.write_text(TLS_CONFIG.format(certificate=self.tls[0], key=self.tls[1]))
            tls_core = TLS_CORE.format(host=self.host, tls_port=self.tls_port)
            tls_module = TLS_MODULE.format(tls_config=tls_config)
        media = dict.fromkeys(("media_module", "media_dialog", "media_invite", "media_reply"), "")
        media["cancel_relay"] = "t_relay();"
        if self.rtp_relay:
            relay_host, relay_port = self.rtp_relay
            media = {"media_module": MEDIA_MODULE.format(host=relay_host, port=relay_port),
                     "media_dialog": MEDIA_MANAGE,
                     "cancel_relay": "{ rtpproxy_manage(); t_relay(); }",
                     "media_invite": MEDIA_MANAGE, "media_reply": MEDIA_REPLY}
        return CONFIG.format(host=self.host, port=self.port, mpath=module_path(),
                             password=self.password, tls_core=tls_core, tls_module=tls_module,
                             **media, **self._emergency_lines(), **self._personal_lines())

    def _personal_lines(self) -> dict[str, str]:
        none = dict.fromkeys(("personal_module", "personal_route", "personal_routes"), "")
        none["lookup"] = LOOKUP
        if self.personal_db is None:
            if self.voicemail_user:
                raise KamailioError("voicemail_user needs personal_db (the agents' extensions)")
            return none
        if self.rtp_relay:
            # a diverted INVITE's offer would name the relay session the failure reply ended
            raise KamailioError("personal calls through a media relay: not supported")
        if '"' in str(self.personal_db) or "\\" in str(self.personal_db):
            raise KamailioError(f"personal_db {self.personal_db}: no quotes or backslashes")
        user, number = self.voicemail_user, self.voicemail_number
        for what, value in (("voicemail_user", user), ("voicemail_number", number)):
            if value is not None and not SIP_USER.fullmatch(value):
                raise KamailioError(f"{what} {value!r}: 1-64 of A-Z a-z 0-9 + * . _ ~ -")
        where = {"host": self.host, "port": self.port}
        return {
            "personal_module": PERSONAL_MODULE.format(db=self.personal_db),
            "personal_route": PERSONAL_ROUTE, "lookup": LOOKUP_PERSONAL,
            "personal_routes": PERSONAL_ROUTES.format(
                **where,
                own_box=OWN_BOX.format(number=number, user=user) if user else "",
                to_voicemail="  route(VOICEMAIL);\n" if user else "",
                divert_to_voicemail=(f'  if ($var(to) == "{number}") route(VOICEMAIL);\n'
                                     if user else ""),
                voicemail_route=VOICEMAIL_ROUTE.format(**where, user=user) if user else "")}

    def _emergency_lines(self) -> dict[str, str]:
        e = self.emergency
        if e is None:
            return {"emergency_module": "", "emergency_route": ""}
        for number in e.numbers:
            if not re.fullmatch(r"[0-9*#+]{1,15}", number):
                raise KamailioError(f"emergency number {number!r}: 1-15 of 0-9 * # +")
        numbers = "|".join(re.escape(n).replace("\\", "\\\\") for n in e.numbers)
        notify = (EMERGENCY_NOTIFY.format(desk=e.front_desk, host=self.host, port=self.port)
                  if e.front_desk else "")
        uac = 'loadmodule "uac.so"\n' if e.front_desk else ""
        return {"emergency_module": EMERGENCY_MODULE.format(uac=uac),
                "emergency_route": EMERGENCY_ROUTE.format(numbers=numbers, notify=notify,
                                                          centre=e.centre)}

    def start(self, timeout: float = 5.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.personal_db is not None:
            wal_database(self.personal_db)
        cfg = self.workdir / "kamailio.cfg"
        cfg.write_text(self.config_text())
        self.log = self.workdir / "kamailio.log"     # its stderr
        # -m/-M: small shared/private memory pools; a test machine runs several of these
        self.process = start_process([KAMAILIO, "-DD", "-E", "-m", "32", "-M", "4", "-f", str(cfg)],
                                     name="kamailio", cwd=self.workdir, stderr=self.log,
                                     group=True)
        try:        # it prints no ready line: it is up once it answers SIP
            self.process.wait_until(lambda: sip_ping(self.host, self.port, 0.1), timeout,
                                    f"an answer on {self.address}")
        except ProcessError as e:
            self.kill()
            raise KamailioError(f"kamailio did not come up on {self.address}: {e}") from None

    @property
    def proc(self) -> subprocess.Popen[str] | None:
        return self.process.popen if self.process else None

    def stop(self, timeout: float = 3.0) -> None:
        """SIGTERM, then SIGKILL to the whole group if it has not exited in ``timeout``."""
        if self.process is not None:
            self.process.stop(timeout)
            self.process = None

    def kill(self) -> None:
        """SIGKILL the main process and its children: a crash, for fault tests."""
        if self.process is not None:
            self.process.kill()
            self.process = None

    def __enter__(self) -> Kamailio:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description="run a Kamailio registrar/proxy in the foreground")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=5062)
    ap.add_argument("--password", default="secret")
    ap.add_argument("--workdir")
    ap.add_argument("--rtp-relay", metavar="HOST:PORT",
                    help="carry the calls' media through this rtpproxy control socket "
                         "(python -m tools.rtprelay)")
    ap.add_argument("--tls", action="store_true",
                    help="SIP over TLS on PORT+1 too, with a lab CA made in WORKDIR/tls")
    ap.add_argument("--emergency-centre", metavar="USER",
                    help="route emergency numbers to this registered user")
    ap.add_argument("--emergency-numbers", default="911,112", metavar="N,N",
                    help="the emergency numbers (default 911,112)")
    ap.add_argument("--front-desk", default="", metavar="HOST:PORT",
                    help="tell this UDP address (ccsim --front-desk) of each emergency call")
    ap.add_argument("--personal-db", metavar="PATH",
                    help="ccsim's SQLite file: personal calls follow its agents' forwarding")
    ap.add_argument("--voicemail-user", metavar="USER",
                    help="with --personal-db: calls not taken go to this user's voicemail "
                         "(python -m tools.voicemail)")
    ap.add_argument("--voicemail-number", default=VOICEMAIL_NUMBER, metavar="N",
                    help=f"what reaches the caller's own box (default {VOICEMAIL_NUMBER})")
    args = ap.parse_args()
    # SIGTERM unwinds like Ctrl-C, so kamailio (in its own session) is stopped, not orphaned
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="kamailio-"))
    tls = None
    if args.tls:
        from tools.labca import LabCa
        ca = LabCa(workdir / "tls")
        tls = ca.issue("kamailio", (args.host, "localhost"))
    relay = None
    if args.rtp_relay:
        from tools.rtprelay import parse_address
        try:
            relay = parse_address(args.rtp_relay)
        except argparse.ArgumentTypeError as e:
            ap.error(f"--rtp-relay: {e}")
    emergency = (Emergency(tuple(args.emergency_numbers.split(",")), args.emergency_centre,
                           args.front_desk) if args.emergency_centre else None)
    with Kamailio(args.port, args.password, workdir, host=args.host, tls=tls,
                  rtp_relay=relay, emergency=emergency,
                  personal_db=Path(args.personal_db) if args.personal_db else None,
                  voicemail_user=args.voicemail_user,
                  voicemail_number=args.voicemail_number) as k:
        print(f"kamailio on udp:{k.address} (password {args.password!r}); log {k.log}",
              flush=True)
        if tls:
            print(f"and on tls:{k.tls_address}; CA {ca.cafile}", flush=True)
        try:
            while k.proc.poll() is None:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
