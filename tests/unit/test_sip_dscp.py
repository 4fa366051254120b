"""[sip] dscp_sip / dscp_rtp: the DiffServ class names and numbers, and the TOS bytes the SIP
stack is configured with (tests/integration/test_dscp.py checks them on the wire)."""
import pytest

from firmware.sip.config import SipConfig, dscp, problems, tos
from firmware.sip.stack import dscp_lines


@pytest.mark.parametrize("value,point", [
    ("CS0", 0), ("DF", 0), ("CS3", 24), ("CS5", 40), ("CS7", 56), ("AF11", 10), ("AF21", 18),
    ("AF31", 26), ("AF41", 34), ("AF43", 38), ("EF", 46), ("ef", 46), (" af41 ", 34),
    (0, 0), (46, 46), (63, 63), ("63", 63),
])
def test_class_names_and_numbers_name_their_code_point(value, point):
    assert dscp(value) == point and tos(value) == point << 2


@pytest.mark.parametrize("value", ["CS8", "AF44", "AF51", "EF1", "", "4 6", "-1", "0x2e", "٤٦",
                                   64, -1, True, False])
def test_anything_else_is_no_dscp(value):
    assert dscp(value) is None
    with pytest.raises(ValueError, match="not a DSCP"):
        tos(value)
    found = dict(problems(SipConfig(user="1001", domain="127.0.0.1", dscp_rtp=value)))
    assert "not a DSCP" in found["dscp_rtp"] and "dscp_sip" not in found


def test_by_default_sip_is_cs3_and_rtp_ef():
    c = SipConfig(user="1001", domain="127.0.0.1")
    assert not problems(c)
    assert dscp_lines(c) == "sip_tos 96\nrtp_tos 184\n"           # 0x60, 0xB8
    assert dscp_lines(SipConfig(user="1001", domain="127.0.0.1", dscp_sip="AF41",
                                dscp_rtp=26)) == "sip_tos 136\nrtp_tos 104\n"
