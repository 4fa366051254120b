"""The phone's dispatchable location, as an emergency call carries it.

The config names a civic address (RFC 5139 elements: country, A1 state, A3 city, RD road, HNO
house number, FLR floor, ROOM ...). It goes in a PIDF-LO document (RFC 4119, RFC 5491) in the
INVITE's ``Geolocation`` header (RFC 6442) with ``Geolocation-Routing: yes``, and the call gets
``Priority: emergency``.

RFC 6442 puts the document by value in a body part (``cid:``) or names it by reference. The
SIP stack (baresip-python 0.5.2a3) sends no INVITE body but SDP, so the document travels by
value in the header's URI, as an RFC 2397 ``data:`` URI (base64): the header's ABNF takes any
absolute URI, and the address goes with the call whatever server is down. A call server that
hands calls to a public-safety network moves it into a body part on the way (README, "Emergency
calls").
"""
from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping

PIDF = "urn:ietf:params:xml:ns:pidf"
GP = "urn:ietf:params:xml:ns:pidf:geopriv10"
CA = "urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr"
DM = "urn:ietf:params:xml:ns:pidf:data-model"
DATA_PREFIX = "data:application/pidf+xml;base64,"
MAX_DOCUMENT = 4096          # bytes: a civic address is a few hundred; bounds what a reader takes

# RFC 5139's civic address elements, in its order (the document lists them so)
CIVIC_FIELDS = ("country", "A1", "A2", "A3", "A4", "A5", "A6", "PRM", "PRD", "RD", "STS", "POD",
                "POM", "RDSEC", "RDBR", "RDSUBBR", "HNO", "HNS", "LMK", "LOC", "FLR", "NAM",
                "PC", "BLD", "UNIT", "ROOM", "SEAT", "PLC", "PCN", "POBOX", "ADDCODE")
MAX_VALUE = 128
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

for _prefix, _ns in (("", PIDF), ("gp", GP), ("ca", CA), ("dm", DM)):
    ET.register_namespace(_prefix, _ns)


def problems(address: Mapping[str, object]) -> list[tuple[str, str]]:
    """(field, why) for each thing wrong with a civic address from the config."""
    found: list[tuple[str, str]] = []
    for name, value in address.items():
        if name not in CIVIC_FIELDS:
            found.append((name, f"not a civic address element (RFC 5139: "
                                f"{', '.join(CIVIC_FIELDS[:12])}, ...)"))
        elif not isinstance(value, str) or not value.strip():
            found.append((name, f"expected a non-empty string, got {value!r}"))
        elif len(value) > MAX_VALUE or _CONTROL.search(value):
            found.append((name, f"at most {MAX_VALUE} characters, no control characters"))
    country = address.get("country")
    if not (isinstance(country, str) and re.fullmatch(r"[A-Z]{2}", country)):
        found.append(("country", "required: the ISO 3166 two-letter code, e.g. \"US\""))
    return found


def pidf_lo(address: Mapping[str, str], entity: str) -> bytes:
    """The PIDF-LO document for ``address`` (checked by ``problems``) of the device ``entity``
    (``pres:1001@pbx.example.com``): location set by hand (method Manual), not to be passed on
    beyond the emergency services (empty usage rules: retransmission not allowed)."""
    presence = ET.Element(f"{{{PIDF}}}presence", entity=entity)
    device = ET.SubElement(presence, f"{{{DM}}}device", id="d")
    geopriv = ET.SubElement(device, f"{{{GP}}}geopriv")
    info = ET.SubElement(geopriv, f"{{{GP}}}location-info")
    civic = ET.SubElement(info, f"{{{CA}}}civicAddress")
    for name in CIVIC_FIELDS:
        if name in address:
            ET.SubElement(civic, f"{{{CA}}}{name}").text = address[name]
    ET.SubElement(geopriv, f"{{{GP}}}usage-rules")     # empty: no retransmission (RFC 4119)
    ET.SubElement(geopriv, f"{{{GP}}}method").text = "Manual"
    # UTF-8 without a declaration (XML's default): the header stays short (a SIP message over
    # UDP should fit a packet)
    return ET.tostring(presence, encoding="utf-8", xml_declaration=False)


def emergency_headers(address: Mapping[str, str] | None, entity: str) -> dict[str, str]:
    """The headers of an emergency INVITE: its priority, and the location when one is set."""
    headers = {"Priority": "emergency"}
    if address:
        document = base64.b64encode(pidf_lo(address, entity)).decode("ascii")
        headers["Geolocation"] = f"<{DATA_PREFIX}{document}>"
        headers["Geolocation-Routing"] = "yes"
    return headers


def civic_address(geolocation: str) -> dict[str, str]:
    """The civic address a ``Geolocation`` header value carries by value (the reverse of
    ``emergency_headers``: for the front desk and the lab's emergency centre). Raises
    ValueError for anything else: a reference, bad base64, a document too large or not
    PIDF-LO."""
    value = geolocation.strip()
    if not (value.startswith(f"<{DATA_PREFIX}") and value.endswith(">")):
        raise ValueError("no location by value in it")
    encoded = value[len(DATA_PREFIX) + 1:-1]
    if len(encoded) > MAX_DOCUMENT * 4 // 3 + 4:
        raise ValueError("location document too large")
    try:
        document = base64.b64decode(encoded, validate=True)
    except ValueError:
        raise ValueError("location is not base64") from None
    if b"<!DOCTYPE" in document or b"<!ENTITY" in document:
        raise ValueError("location document declares entities")   # no expansion bombs
    try:
        root = ET.fromstring(document)
    except ET.ParseError as e:
        raise ValueError(f"location is not XML: {e}") from None
    civic = root.find(f".//{{{CA}}}civicAddress")
    if civic is None:
        raise ValueError("no civic address in the location")
    return {child.tag.rsplit("}", 1)[-1]: (child.text or "") for child in civic}
