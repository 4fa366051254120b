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
import sys
import tempfile
import time
import uuid
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
request_route {{
  if (!mf_process_maxfwd_header("10")) {{ sl_send_reply("483","Too Many Hops"); exit; }}
  if (has_totag()) {{
    if (loose_route()) {{ t_relay(); exit; }}
    if (is_method("ACK")) {{ if (t_check_trans()) t_relay(); exit; }}
    sl_send_reply("404","Not here"); exit;
  }}
  if (is_method("CANCEL")) {{ if (t_check_trans()) t_relay(); exit; }}
  if (is_method("ACK")) exit;
  if (is_method("REGISTER")) {{
    if (!pv_www_authenticate("$td","{password}","0")) {{ www_challenge("$td","0"); exit; }}
    consume_credentials(); save("location"); exit;
  }}
  if (!pv_proxy_authenticate("$fd","{password}","0")) {{ proxy_challenge("$fd","0"); exit; }}
  consume_credentials();
  if (is_method("INVITE|SUBSCRIBE|REFER")) record_route();
  if (uri == myself) {{ if (!lookup("location")) {{ sl_send_reply("404","Not Found"); exit; }} }}
  t_relay();
}}
"""


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
                 host: str = "127.0.0.1", tls: tuple[Path, Path] | None = None):
        """``tls``: (certificate, key), PEM files: listen for SIP over TLS on PORT+1 too."""
        self.host, self.port, self.password, self.tls = host, port, password, tls
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
        return CONFIG.format(host=self.host, port=self.port, mpath=module_path(),
                             password=self.password, tls_core=tls_core, tls_module=tls_module)

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
    ap.add_argument("--tls", action="store_true",
                    help="SIP over TLS on PORT+1 too, with a lab CA made in WORKDIR/tls")
    args = ap.parse_args()
    # SIGTERM unwinds like Ctrl-C, so kamailio (in its own session) is stopped, not orphaned
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="kamailio-"))
    tls = None
    if args.tls:
        from tools.labca import LabCa
        ca = LabCa(workdir / "tls")
        tls = ca.issue("kamailio", (args.host, "localhost"))
    with Kamailio(args.port, args.password, workdir, host=args.host, tls=tls) as k:
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
