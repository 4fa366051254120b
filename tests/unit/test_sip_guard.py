"""The proxy-only socket filter (firmware/sip/guard.py) on real kernel sockets, on loopback."""
import asyncio
import socket

import pytest

from firmware.sip import guard
from firmware.sip.guard import Source


def _udp(host="127.0.0.1", port=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, port))
    return s


def _arrives(receiver, sender) -> bool:
    sender.sendto(b"INVITE", receiver.getsockname())
    receiver.settimeout(0.2)
    try:
        return receiver.recvfrom(100)[0] == b"INVITE"
    except TimeoutError:
        return False


def test_udp_keeps_the_proxys_address_and_port_and_drops_the_rest():
    proxy = _udp()
    with _udp() as phone, proxy, _udp() as same_host, _udp("127.0.0.2") as elsewhere:
        guard.attach(phone.fileno(), guard.program([Source("127.0.0.1",
                                                           proxy.getsockname()[1])]))
        assert _arrives(phone, proxy)
        assert not _arrives(phone, same_host)          # the proxy's IP, another port
        assert not _arrives(phone, elsewhere)          # another IP
        assert _arrives(phone, proxy)                  # still open to the proxy


def test_ip_only_sources_and_several_addresses():
    with _udp() as phone, _udp("127.0.0.3") as a, _udp("127.0.0.4") as b, \
            _udp("127.0.0.5") as c:
        guard.attach(phone.fileno(), guard.program([Source("127.0.0.3"), Source("127.0.0.4"),
                                                    Source("::1", 5060)]))
        assert _arrives(phone, a) and _arrives(phone, b)
        assert not _arrives(phone, c)


def test_tcp_listener_refuses_connections_from_elsewhere_and_its_connections_inherit_it():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        guard.attach(listener.fileno(), guard.program([Source("127.0.0.1")]))
        addr = listener.getsockname()
        with socket.create_connection(addr, timeout=2) as ok:     # from the proxy's IP
            conn, _ = listener.accept()
            with conn:
                ok.sendall(b"REGISTER")
                assert conn.recv(100) == b"REGISTER"
        stranger = socket.socket()
        stranger.bind(("127.0.0.2", 0))
        stranger.settimeout(0.5)
        with stranger, pytest.raises(TimeoutError):               # its SYN never arrives
            stranger.connect(addr)


def test_the_proxys_name_and_port_are_resolved():
    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(guard.resolve(loop, "localhost:5062"))[1] == 5062
        ips, port = loop.run_until_complete(guard.resolve(loop, "127.0.0.1"))
        assert (ips, port) == (["127.0.0.1"], None)
        with pytest.raises(guard.GuardError, match="not resolved"):
            loop.run_until_complete(guard.resolve(loop, "no-such-host.invalid:5060"))
    finally:
        loop.close()


def test_split_host_port():
    assert guard.split_host_port("pbx.example.com:5060") == ("pbx.example.com", 5060)
    assert guard.split_host_port("[::1]:5062") == ("::1", 5062)
    assert guard.split_host_port("[::1]") == ("::1", None)
    assert guard.split_host_port("pbx.example.com") == ("pbx.example.com", None)
