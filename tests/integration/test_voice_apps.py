"""Voice applications, end to end (docs/cc-protocol.md ``connect_app``; tools/ccsim/voiceapps.py):
on a call the bridge holds, More -> App connects the customer to one of the demo's three. A
voice signature: the customer hears its prompt, not the agent, and talks; the phone says
"Signature recorded" and the two hear each other again. A card payment: the customer keys a
card number after the prompt; "Payment taken", ccsim counts 16 digits, and the digits reach
neither the agent's phone nor any log. A silent customer's signature: "No answer: signature
not recorded". A survey: the agent leaves the call at once (wrap-up) and the bridge hangs the
customer up once it has answered."""
import time

from tests.audio import customer_hears, near, played_tones, speak
from tools.lab import Desk

AGENT_HZ = 1000                 # what the agent says (the sim mic)
CUSTOMER_HZ = 440               # what the lab's customers say
PROMPT_HZ = {"payment": 950, "survey": 1480, "signature": 2000}     # demo.toml's prompts
CARD = "4111111111111111"
APPS = ("payment", "survey", "signature")       # the form's order


def talking(desk: Desk, lab) -> str:
    """A customer calls agent 1001 through the sales queue (the bridge holds the call), who
    answers; the contact's id."""
    return desk.answer_customer(lab, talk_s=180)


def agent_hears(desk: Desk, lab, hz: float, timeout: float = 10):
    lab.wait_for(lambda: any(near(t, hz) for t in played_tones(desk, "speaker")),
                 timeout=timeout, desc=f"the agent hearing {hz} Hz")


def connect(desk: Desk, app: str):
    """More -> App, the application picked on the form (left/right), Save."""
    desk.key("soft4", "9")
    desk.wait_lcd("1/3 >")
    for i in range(APPS.index(app)):
        desk.key("right")
        desk.wait_lcd(f"{i + 2}/3 >")
    desk.key("soft1")


def customer(lab, cid: str, **do):
    return lab.ccsim.call("POST", f"/contacts/{cid}/customer", do)


def apps(lab, cid: str) -> list[dict]:
    return lab.contact(cid)["apps"]


def test_signature_payment_and_a_silent_signature_then_the_call_goes_on(lab, desk):
    speak(desk, AGENT_HZ)
    cid = talking(desk, lab)
    customer_hears(lab, cid, AGENT_HZ)
    agent_hears(desk, lab, CUSTOMER_HZ)

    connect(desk, "signature")                  # the customer talks (their tone) throughout
    desk.wait_shown("Voice signature: the customer is in it")
    customer_hears(lab, cid, PROMPT_HZ["signature"], timeout=3)      # the prompt, not the agent
    time.sleep(1.5)                             # the answer being recorded
    assert not any(near(t, CUSTOMER_HZ) for t in played_tones(desk, "speaker")), \
        "the agent heard the customer during the application"
    desk.wait_shown("Signature recorded", timeout=10)
    customer_hears(lab, cid, AGENT_HZ, timeout=5)        # then the agent again
    agent_hears(desk, lab, CUSTOMER_HZ, timeout=5)
    [signature] = lab.wait_for(lambda: (a := apps(lab, cid)) and a[0]["ok"] is not None and a,
                               desc="the signature kept")
    assert (signature["code"], signature["ok"], signature["text"]) == (
        "signature", True, "Signature recorded")
    with open(signature["recording"], "rb") as f:    # 4 s of WAV at 8 kHz
        assert len(f.read()) >= 4 * 8000 * 2
    assert lab.contact(cid)["state"] == "assigned"

    connect(desk, "payment")
    customer_hears(lab, cid, PROMPT_HZ["payment"], timeout=3)
    assert customer(lab, cid, dtmf=CARD + "#") == {"id": cid, "dtmf": 17}
    desk.wait_shown("Payment taken", timeout=20)
    customer_hears(lab, cid, AGENT_HZ, timeout=5)
    payment = apps(lab, cid)[1]
    assert (payment["code"], payment["ok"], payment["digits"], payment["text"]) == (
        "payment", True, 16, "Payment taken")
    assert "recording" not in payment
    # the card number went nowhere but the application: not to the phone, not in any log
    assert [c["state"] for c in desk.calls()] == ["talking"]
    for log in (desk.phone.workdir / "phone.log", lab.ccsim.workdir / "ccsim.log"):
        assert CARD[:6] not in log.read_text(errors="replace"), log
    assert CARD[:6] not in str(lab.contact(cid))
    assert lab.heard(cid)["dtmf"] == ""         # nor did the customer get any back

    assert customer(lab, cid, mute=True) == {"id": cid, "mute": True}
    connect(desk, "signature")
    customer_hears(lab, cid, PROMPT_HZ["signature"], timeout=3)
    desk.wait_shown("No answer: signature not recorded", timeout=12)
    assert [(a["code"], a["ok"]) for a in apps(lab, cid)] == [
        ("signature", True), ("payment", True), ("signature", False)]
    customer(lab, cid, mute=False)
    agent_hears(desk, lab, CUSTOMER_HZ, timeout=5)
    assert lab.contact(cid)["state"] == "assigned"
    assert desk.lcd()[-1].split() == ["Hold", "End", "Vars", "More"]   # still the call


def test_a_survey_releases_the_agent_at_once_then_the_customer_is_hung_up(lab, desk):
    cid = talking(desk, lab)
    connect(desk, "survey")
    desk.wait_lcd("Type 3+ to search", timeout=5)       # the agent's call is over: wrap-up
    assert lab.wait_for(lambda: lab.contact(cid)["state"] == "wrapup", desc="wrap-up")
    lab.wait_for(lambda: not desk.calls(), desc="the phone's call ended")
    customer_hears(lab, cid, PROMPT_HZ["survey"], timeout=3)      # the customer is in the survey
    customer(lab, cid, dtmf="5")                # one key, 1-5
    desk.wait_shown("Survey answered", timeout=10)
    [survey] = apps(lab, cid)
    assert (survey["code"], survey["ok"], survey["digits"]) == ("survey", True, 1)
    # then the bridge hangs the customer up: what they hear stops coming
    def still() -> bool:
        before = lab.heard(cid)["heard_s"]
        time.sleep(1.2)
        return lab.heard(cid)["heard_s"] == before
    lab.wait_for(still, timeout=10, desc="the customer's call over")
