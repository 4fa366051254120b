"""[sip] transport, cafile and media: TLS with SRTP unless the registrar is on this machine,
the way ws:// is for the contact-center link. Each refusal is one line naming the field."""
import subprocess
import sys
from pathlib import Path

import pytest

from firmware.app.config import ConfigError, load_config
from firmware.sip.config import SipConfig
from firmware.sip.stack import media_params, tls_lines
from tools.labca import LabCa

ROOT = Path(__file__).resolve().parents[2]


def config(tmp_path, sip: str) -> Path:
    p = tmp_path / "phone.toml"
    p.write_text(f'[board_page]\nenabled = false\n[sip]\nuser = "1001"\n{sip}')
    return p


@pytest.mark.parametrize("sip,field,why", [
    ('domain = "pbx.example.com:5060"\n', "sip.transport",
     "SIP over udp is unencrypted and allowed with a loopback registrar only"),
    ('domain = "pbx.example.com"\ntransport = "tcp"\nmedia = "srtp"\n', "sip.transport",
     "SIP over tcp is unencrypted"),
    ('domain = "pbx.example.com:5061"\ntransport = "tls"\n', "sip.media",
     "plain RTP is allowed with a loopback registrar only"),
    ('domain = "pbx.example.com:5061"\ntransport = "TLS"\n', "sip.transport",
     "must be \"tls\" (or \"udp\"/\"tcp\" on loopback), got 'TLS'"),
    ('domain = "pbx.example.com:5061"\ntransport = "tls"\nmedia = "zrtp"\n', "sip.media",
     "must be \"srtp\""),
    ('domain = "127.0.0.1:5062"\nmedia = "srtp"\n', "sip.media",
     "srtp needs transport = \"tls\""),
    ('domain = "127.0.0.1:5062"\ncafile = "ca.pem"\n', "sip.cafile",
     "only used with transport = \"tls\""),
    ('domain = "pbx"\ntransport = "tls"\nmedia = "srtp"\ncafile = \'a"b.pem\'\n', "sip.cafile",
     'a path with control characters or " cannot be used'),
    ('domain = "10.1.2.3:5061"\ntransport = "tls"\nmedia = "srtp"\n', "sip.domain",
     "TLS verifies the proxy by its host name: use the name, not the address 10.1.2.3"),
    ('domain = "pbx.example.com:5061"\ntransport = "tls"\nmedia = "srtp"\ncafile = "nope.pem"\n',
     "sip.cafile", "nope.pem: no such file"),
    ('domain = "pbx.example.com:5061"\ntransport = "tls"\nmedia = "srtp"\ncafile = "junk.pem"\n',
     "sip.cafile", "junk.pem: no PEM certificate"),
])
def test_insecure_or_unusable_sip_security_is_refused(tmp_path, sip, field, why):
    (tmp_path / "junk.pem").write_text("not a certificate\n")
    p = config(tmp_path, sip)
    with pytest.raises(ConfigError) as e:
        load_config(str(p))
    assert str(e.value).startswith(f"{p}: {field}: ") and why in str(e.value), str(e.value)


def test_the_firmware_refuses_plain_sip_to_a_remote_registrar_with_one_line(tmp_path):
    p = config(tmp_path, 'domain = "pbx.example.com:5060"\n')
    r = subprocess.run([sys.executable, "-m", "firmware", "--board", "sim", "--config", str(p),
                        "--console", "pty"], cwd=ROOT, capture_output=True, text=True, timeout=30)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1, r.stderr
    assert lines[0] == (f'hardphone: {p}: sip.transport: SIP over udp is unencrypted and '
                        f'allowed with a loopback registrar only; use "tls"')


def test_tls_with_srtp_passes_and_the_ca_is_relative_to_the_config(tmp_path):
    ca = LabCa(tmp_path / "tls")
    p = config(tmp_path, 'domain = "pbx.example.com:5061"\ntransport = "tls"\n'
                         'cafile = "tls/ca.pem"\nmedia = "srtp"\n')
    sip = load_config(str(p)).sip
    assert (sip.transport, sip.cafile, sip.media) == ("tls", ca.cafile, "srtp")
    # and what the stack is told: verify the proxy against that CA, SRTP or no call
    assert tls_lines(sip) == f'sip_cafile "{ca.cafile}"\nsip_verify_server yes\n'
    assert media_params(sip) == ("mediaenc=srtp-mand",)


@pytest.mark.parametrize("domain", ["127.0.0.1:5062", "localhost", "[::1]:5060"])
def test_plain_sip_and_rtp_stay_allowed_on_loopback(tmp_path, domain):
    sip = load_config(str(config(tmp_path, f'domain = "{domain}"\n'))).sip
    assert (sip.transport, sip.media, sip.cafile) == ("udp", "rtp", None)
    assert tls_lines(sip) == "" and media_params(sip) == ()


def test_without_a_cafile_the_proxy_is_verified_against_the_systems_cas():
    lines = tls_lines(SipConfig(user="1001", domain="pbx.example.com", transport="tls",
                                media="srtp"))
    assert lines.endswith("sip_verify_server yes\n")
    trust = lines.splitlines()[0]
    assert trust.startswith(('sip_cafile "/', 'sip_capath "/')), lines
    assert Path(trust.split(" ", 1)[1].strip('"')).exists()


@pytest.mark.parametrize("reason,shown", [
    ("Protocol error [71]", "TLS failed"),                     # the handshake: see the log
    ("Connection refused [111]", "no answer from pbx:5061"),   # over TLS: the registrar is gone
    ("Connection timed out [110]", "no answer from pbx:5061"),
])
def test_registration_failures_over_tls_read_as_the_agent_understands_them(reason, shown):
    from firmware.sip.registration import failure_detail
    assert failure_detail(None, reason, "pbx:5061") == shown


def test_the_scenarios_customers_take_tls_and_srtp(tmp_path):
    from tools.ccsim.scenario import ScenarioError, parse
    demo = (ROOT / "tools" / "ccsim" / "scenarios" / "demo.toml").read_text()
    file = str(tmp_path / "s.toml")

    def customers(fields):
        return parse(demo.replace('listen = "127.0.0.1:5090"',
                                  'listen = "127.0.0.1:5090"\n' + fields), file).customers
    c = customers('transport = "tls"\ncafile = "tls/ca.pem"\nmedia = "srtp"')
    assert (c.transport, c.cafile, c.media) == ("tls", str(tmp_path / "tls" / "ca.pem"), "srtp")
    with pytest.raises(ScenarioError, match='customers.media: srtp needs transport = "tls"'):
        customers('media = "srtp"')
    with pytest.raises(ScenarioError, match="customers.transport: one of udp, tcp, tls"):
        customers('transport = "sctp"')
