"""A Kamailio registrar/proxy in its own process, for tests and the demo.

In-memory location table, digest auth with one shared password for every user (REGISTER is
challenged with 401, everything else with 407), record-routing so in-dialog requests (BYE,
hold re-INVITEs) pass through it. `python -m tools.kamailio --port 5062` runs one in the
foreground. A call to ``sip:<user>@<proxy>`` goes to whoever registered as that user: a phone,
or a number the simulated customers answer (they register each one, with the shared
password), else 404 Not Found.

With ``tls=(certificate, key)`` it also listens for SIP over TLS on PORT+1 (Debian's
kamailio-tls-modules). A phone registered over TLS gets its calls down the connection it
registered on: baresip's Contact names that connection's own address, and Kamailio sends to
an address it has a connection to over that connection. So the phone needs no certificate and
accepts no connection. Kamailio keeps an idle connection an hour (tcp_connection_lifetime; its
default, 120 s, would drop a phone that re-registers less often and leave it unreachable).
"""
from __future__ import annotations

import argparse
import glob
import os
import signal
import socket
import subprocess
import re
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
{media_module}{emergency_module}request_route {{
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
  if (uri == myself) {{ if (!lookup("location")) {{ sl_send_reply("404","Not Found"); exit; }} }}
  {media_invite}t_relay();
}}
{media_reply}"""
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
                 rtp_relay: tuple[str, int] | None = None, emergency: Emergency | None = None):
        """``tls``: (certificate, key), PEM files: listen for SIP over TLS on PORT+1 too.
        ``rtp_relay``: (host, port) of an rtpproxy control socket (tools/rtprelay.py), which
        then carries every call's media; start it first (Kamailio checks it at start-up)."""
        self.host, self.port, self.password, self.tls = host, port, password, tls
        self.rtp_relay = rtp_relay
        self.emergency = emergency
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
                             **media, **self._emergency_lines())

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
                  rtp_relay=relay, emergency=emergency) as k:
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
