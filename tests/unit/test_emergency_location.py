"""What an emergency call carries (the desk's PIDF-LO in a Geolocation header), the [emergency]
config, and the front desk that hears of emergency calls: bad input gets a clear error."""
import base64
import xml.etree.ElementTree as ET

import pytest

from firmware.app.config import ConfigError, load_config
from firmware.sip.location import (CA, DATA_PREFIX, GP, PIDF, civic_address, emergency_headers,
                                   pidf_lo, problems)
from tools.ccsim.frontdesk import FrontDesk, notice_from, parse_request

BOMB = b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'
DESK = {"country": "US", "A1": "IL", "A3": "Chicago", "RD": "Main St", "HNO": "100",
        "FLR": "3", "ROOM": "3-117", "NAM": "Acme Contact Center"}


def test_the_headers_carry_priority_and_the_address_by_value():
    headers = emergency_headers(DESK, "pres:1001@pbx.example.com")
    assert headers["Priority"] == "emergency" and headers["Geolocation-Routing"] == "yes"
    assert headers["Geolocation"].startswith(f"<{DATA_PREFIX}")
    assert civic_address(headers["Geolocation"]) == DESK
    assert len(headers["Geolocation"]) < 1000          # fits one UDP packet with the SDP


def test_the_document_is_pidf_lo_with_the_civic_elements_in_rfc_order():
    root = ET.fromstring(pidf_lo({"ROOM": "7", "country": "DE", "A3": "Köln"}, "pres:1@x"))
    assert root.tag == f"{{{PIDF}}}presence" and root.get("entity") == "pres:1@x"
    civic = root.find(f".//{{{GP}}}location-info/{{{CA}}}civicAddress")
    assert [(c.tag.split("}")[1], c.text) for c in civic] == [
        ("country", "DE"), ("A3", "Köln"), ("ROOM", "7")]
    assert root.find(f".//{{{GP}}}method").text == "Manual"


def test_without_a_location_the_call_still_has_its_priority():
    assert emergency_headers(None, "pres:1001@pbx") == {"Priority": "emergency"}


@pytest.mark.parametrize("address, field, words", [
    ({"A3": "Chicago"}, "country", "required"),
    ({"country": "usa"}, "country", "two-letter"),
    ({"country": "US", "STREET": "Main"}, "STREET", "not a civic address element"),
    ({"country": "US", "RD": ""}, "RD", "non-empty"),
    ({"country": "US", "RD": 5}, "RD", "non-empty string"),
    ({"country": "US", "RD": "x" * 129}, "RD", "at most 128"),
    ({"country": "US", "RD": "Main\r\nX: y"}, "RD", "control"),
])
def test_a_bad_address_is_refused_naming_the_field(address, field, words):
    found = dict(problems(address))
    assert field in found and words in found[field]


@pytest.mark.parametrize("value, words", [
    ("<https://lis.example/loc/1>", "no location by value"),
    (f"<{DATA_PREFIX}!!!>", "not base64"),
    (f"<{DATA_PREFIX}{base64.b64encode(b'<a>').decode()}>", "not XML"),
    (f"<{DATA_PREFIX}{base64.b64encode(BOMB).decode()}>", "entities"),
    (f"<{DATA_PREFIX}{base64.b64encode(b'<x/>').decode()}>", "no civic address"),
    (f"<{DATA_PREFIX}{'A' * 8000}>", "too large"),
])
def test_a_location_that_is_not_ours_is_a_clear_error(value, words):
    with pytest.raises(ValueError, match=words):
        civic_address(value)


# -- the config --------------------------------------------------------------------------------
def config(tmp_path, text):
    path = tmp_path / "phone.toml"
    path.write_text(text)
    return load_config(str(path))


def test_the_config_adds_local_numbers_to_911_and_112(tmp_path):
    c = config(tmp_path, '[emergency]\nnumbers = ["999", "911"]\n[emergency.location]\n'
                         'country = "GB"\nA3 = "London"\n')
    assert c.emergency.numbers == ("911", "112", "999")
    assert c.emergency.location == {"country": "GB", "A3": "London"}
    assert config(tmp_path, "").emergency.numbers == ("911", "112")


@pytest.mark.parametrize("text, message", [
    ('[emergency]\nnumbers = ["9-1-1"]\n', "emergency.numbers: '9-1-1': a number is 1-15"),
    ('[emergency]\nnumbers = "911"\n', "emergency.numbers: expected list"),
    ('[emergency.location]\nA3 = "Paris"\n', "emergency.location.country: required"),
    ('[emergency.location]\ncountry = "FR"\nstreet = "x"\n',
     "emergency.location.street: not a civic address element"),
])
def test_a_bad_emergency_section_stops_the_phone_naming_the_field(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        config(tmp_path, text)


# -- the front desk ----------------------------------------------------------------------------
MESSAGE = (b"MESSAGE sip:frontdesk@127.0.0.1:5071 SIP/2.0\r\n"
           b"Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKab\r\n"
           b"From: <sip:emergency@127.0.0.1:5062>;tag=k1\r\nTo: <sip:frontdesk@127.0.0.1:5071>\r\n"
           b"Call-ID: m1@kam\r\nCSeq: 10 MESSAGE\r\nContent-Type: text/plain\r\n\r\n")


class Transport:
    def __init__(self):
        self.sent = []

    def sendto(self, data, addr):
        self.sent.append((data, addr))


def body(geolocation):
    return (f"caller: 1001\r\ndialed: 911\r\ncall-id: inv-1\r\ngeolocation: {geolocation}\r\n"
            ).encode()


def test_the_front_desk_keeps_one_notice_per_call_and_answers_each_message():
    desk, transport = FrontDesk(lambda ext: "1001" if ext == "1001" else ""), Transport()
    desk.connection_made(transport)
    geolocation = emergency_headers(DESK, "pres:1001@pbx")["Geolocation"]
    for _ in range(2):                                   # a retransmission is the same call
        desk.datagram_received(MESSAGE + body(geolocation), ("127.0.0.1", 5062))
    assert len(transport.sent) == 2 and transport.sent[0][0].startswith(b"SIP/2.0 200 OK")
    reply = transport.sent[0][0]
    assert b"Call-ID: m1@kam" in reply and b"CSeq: 10 MESSAGE" in reply
    [notice] = desk.as_json()
    assert (notice["extension"], notice["dialed"], notice["agent"]) == ("1001", "911", "1001")
    assert notice["location"] == DESK and notice["location_error"] == ""


def test_a_call_without_a_location_is_noted_with_why():
    _cid, notice = notice_from(body("").decode(), lambda ext: "", 1.0)
    assert notice.location == {} and notice.location_error == "the call carried no location"


@pytest.mark.parametrize("data", [b"", b"garbage\r\n\r\n", b"INVITE sip:x SIP/2.0\r\n\r\n",
                                  MESSAGE + b"no fields", b"\xff" * 20000])
def test_the_front_desk_drops_what_is_no_notice_and_goes_on(data, caplog):
    desk, transport = FrontDesk(lambda ext: ""), Transport()
    desk.connection_made(transport)
    desk.datagram_received(data, ("10.0.0.66", 5060))
    assert desk.notices == [] and transport.sent == []
    assert "front desk: dropped" in caplog.text


def test_parse_request_reads_every_via():
    two_vias = MESSAGE.replace(b"Call-ID", b"Via: SIP/2.0/UDP a\r\nCall-ID")
    method, headers, _ = parse_request(two_vias)
    assert method == "MESSAGE" and headers["via"].count("Via:") == 1
