"""Call data end to end (docs/cc-protocol.md, "Call data"): two sim phones on one contact (1001
consults 1002) edit its Reason at once through ccsim's real link; the first save wins, the
other phone shows who changed it and the value, keeps its draft and saves it over the new
version; `Show` fetches the secure card number, shown a few seconds and never logged."""
import time

import pytest

from tests.integration.test_conference import consulted
from tests.integration.test_consult import desk_for
from tools.lab import Desk, Lab

pytestmark = pytest.mark.slow
CARD = "4111111111111111"


@pytest.fixture
def lab(tmp_path):
    with Lab(tmp_path, bridge=True) as lab:
        lab.start()
        yield lab


def talking(lab: Lab, ana: Desk) -> str:
    ana.key("soft1", "1")
    lab.wait_for(lambda: lab.agent("1001")["state"] == "available", desc="1001 available")
    cid = lab.post_contact("sales", "+15551234567",
                           {"customer": "Jo Smith", "reason": "Billing", "card": CARD})
    ana.wait_lcd("Call 1 of 1")
    ana.hook(True)
    ana.wait_lcd("Talking")
    return cid


def edit_reason(desk: Desk, keys: str) -> None:
    """Vars, the pointer down to Reason, Edit, Clear, then ``keys`` (different keys in a row:
    each letter commits the one before)."""
    desk.key("soft3")                                     # Vars (the call's data)
    desk.wait_lcd("Call data")
    desk.key("down")
    desk.wait_lcd("→Reason: Billing")
    desk.key("soft1")                                     # Edit
    desk.wait_lcd("Save")
    desk.key("soft3")                                     # Clear
    desk.key(*keys.split())


def reason(lab: Lab, cid: str) -> dict:
    return lab.contact(cid)["variables"]["reason"]


def test_two_agents_edit_one_variable_the_first_save_wins_the_other_retries(lab):
    ana, ben = desk_for(lab, "1001"), desk_for(lab, "1002")
    cid = talking(lab, ana)
    consulted(lab, ana, ben, "1002", cid)
    ana.key("left")                                       # from the consult leg to the customer's
    ana.wait_lcd("Held")
    edit_reason(ana, "8 8 8 4 4 4 7")                     # "vip"
    # 1002's phone shows the customer's call data too, as the consulted agent
    edit_reason(ben, "4 6 6 6 5 5 5 3")                   # "gold", over version 1 as well
    ana.key("soft1")                                      # Save: the first
    lab.wait_for(lambda: reason(lab, cid)["version"] == 2, desc="1001's save taken")
    assert reason(lab, cid) == {"value": "vip", "secure": False, "version": 2,
                                "changed_by": "1001"}
    ana.wait_lcd("Reason: vip")
    ben.key("soft1")                                      # Save: too late
    ben.wait_lcd("Changed by Ana Diaz:", "vip")         # the note, over two rows
    assert "gold" in ben.text()                           # the draft is still there
    assert reason(lab, cid)["version"] == 2
    ben.key("soft1")                                      # retried, over version 2
    lab.wait_for(lambda: reason(lab, cid)["version"] == 3, desc="1002's retry taken")
    assert reason(lab, cid)["value"] == "gold" and reason(lab, cid)["changed_by"] == "1002"
    ana.wait_lcd("Reason: gold")


def test_show_fetches_the_secure_card_number_for_a_few_seconds_never_logged(lab):
    ana = desk_for(lab, "1001")
    cid = talking(lab, ana)
    ana.key("soft3")
    ana.wait_lcd("Call data")
    for _ in range(3):                                    # customer, reason, card
        if "→Card number" in ana.text():
            break
        ana.key("down")
    ana.wait_lcd("→Card number: ****")
    assert CARD not in ana.text()
    ana.key("soft1")                                      # Show
    ana.wait_lcd(CARD)
    time.sleep(6)
    ana.wait_lcd("→Card number: ****")
    assert CARD not in ana.text()
    log = (ana.phone.workdir / "phone.log").read_text(errors="replace")
    assert CARD not in log and CARD[-4:] not in log
    info = lab.contact(cid)["variables"]["card"]
    assert info == {"value": None, "secure": True, "version": 1, "changed_by": None}
