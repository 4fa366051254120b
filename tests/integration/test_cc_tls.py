"""The contact-center link over wss://: the phone verifies the server's certificate."""
import asyncio
import datetime
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from firmware.cc import protocol as p
from firmware.cc.connection import Backoff, CcConnection
from firmware.core import effects as fx
from firmware.core import events as ev
from tools.ws_server import ThreadedWsServer


def self_signed(tmp_path, name="localhost"):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_pem, key_pem = tmp_path / "cc.pem", tmp_path / "cc.key"
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return cert_pem, key_pem


async def answer_hello(ws):
    async for msg in ws:
        req = p.decode_client(msg.data)
        if isinstance(req, p.Hello):
            await ws.send_str(p.encode(p.Snapshot(
                seq=1, state="idle", agent=p.Agent(id=req.agent, name="Ana", team="Blue",
                                                   extension="sip:1001@x"))))


@pytest.fixture
def tls_server(tmp_path):
    cert, key = self_signed(tmp_path)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    server = ThreadedWsServer(answer_hello, ssl_context=ctx, host="localhost")
    yield server, cert
    server.close()


async def first_link_events(url, cafile, wait=3.0):
    events = []
    got = asyncio.Event()

    def post(event):
        events.append(event)
        if isinstance(event, (ev.CcSnapshot,)) or (isinstance(event, ev.CcLink)
                                                   and event.state == "down"):
            got.set()

    link = CcConnection(url, post, cafile=cafile, backoff=Backoff(base=5, cap=5))
    link.start()
    link.request(fx.CcLogin("1001", "1234"))
    try:
        await asyncio.wait_for(got.wait(), wait)
    finally:
        await link.stop()
    return events


def test_wss_with_the_servers_ca_logs_in(tls_server):
    server, cert = tls_server
    events = asyncio.run(first_link_events(server.url, str(cert)))
    assert any(isinstance(e, ev.CcSnapshot) and e.agent == "1001" for e in events), events


def test_wss_in_capitals_still_uses_the_configured_ca(tls_server):
    server, cert = tls_server
    url = server.url.replace("wss://", "WSS://", 1)
    assert url.startswith("WSS://")
    events = asyncio.run(first_link_events(url, str(cert)))
    assert any(isinstance(e, ev.CcSnapshot) and e.agent == "1001" for e in events), events


def test_wss_with_an_untrusted_certificate_is_refused(tls_server):
    server, _cert = tls_server
    events = asyncio.run(first_link_events(server.url, None))
    assert not any(isinstance(e, ev.CcSnapshot) for e in events)
    down = [e for e in events if isinstance(e, ev.CcLink) and e.state == "down"]
    assert down and down[0].detail == "Server certificate not trusted", events


def test_a_server_that_is_not_there_or_refuses_the_upgrade_says_so(tmp_path):
    import socket
    with socket.socket() as s:                  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    events = asyncio.run(first_link_events(f"ws://127.0.0.1:{port}/agent/v1", None))
    assert next(e.detail for e in events if isinstance(e, ev.CcLink) and e.state == "down") \
        == "Server unreachable"

    async def refuse(ws):
        pass
    server = ThreadedWsServer(refuse)
    try:
        wrong_path = server.url.rsplit("/", 2)[0] + "/no/such/path"
        events = asyncio.run(first_link_events(wrong_path, None))
    finally:
        server.close()
    assert next(e.detail for e in events if isinstance(e, ev.CcLink) and e.state == "down") \
        == "Server refused (404)"
