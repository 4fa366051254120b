"""Conference end to end (docs/cc-protocol.md, "Conference"): ccsim's media bridge holds the
customer's call, sim phones for agents 1001, 1002 and 1003 and a simulated customer, each its
own process through the real Kamailio. Each says its own tone; in the conference each hears
every other one and never itself (the bridge's mix-minus), found by FFT in what each phone
played and in what the customer heard."""
import pytest

from tests.audio import played_tones
from tests.integration.test_consult import (CUSTOMER_HZ, MIC_HZ, available, consult, desk_for,
                                            talking_with_customer)
from tools.lab import DEMO_SCENARIO, Desk, Lab

pytestmark = pytest.mark.slow


@pytest.fixture
def lab(tmp_path):
    with Lab(tmp_path, bridge=True) as lab:
        lab.start()
        yield lab


def consulted(lab: Lab, ana: Desk, other: Desk, agent: str, cid: str) -> None:
    """1001 consults ``agent``, who takes it on the handset (the speaker's noise removal, on
    by default, would take a steady test tone for a hum in a while), and they talk."""
    available(lab, other, agent)
    consult(ana, agent)
    other.wait_lcd("Consult")
    other.hook(True)
    ana.wait_lcd("Consulting")
    lab.wait_for(lambda: (lab.contact(cid)["consult"] or {}).get("status") == "talking",
                 desc=f"the consult of {agent} talking at ccsim")


def _has(found: list[int], hz: int) -> bool:
    return any(abs(f - hz) < hz * 0.03 for f in found)


def phone_hears(lab: Lab, desk: Desk, who: str, want: list[int], not_: int,
                route: str = "handset") -> list[int]:
    """``desk`` plays every tone in ``want`` on ``route``, and not ``not_`` (its own)."""
    return lab.wait_for(lambda: (t := played_tones(desk, route))
                        and all(_has(t, hz) for hz in want) and not _has(t, not_) and t,
                        timeout=15, desc=f"{who} hearing {want} and not {not_} (its own)")


def customer_hears(lab: Lab, cid: str, want: list[int]) -> list[int]:
    last: list = []

    def heard():
        h = lab.heard(cid)
        last[:] = [h]
        return (h and all(_has(h["tones"], hz) for hz in want)
                and not _has(h["tones"], CUSTOMER_HZ) and h["tones"])
    try:
        return lab.wait_for(heard, timeout=15,
                            desc=f"the customer hearing {want} and not {CUSTOMER_HZ}")
    except TimeoutError as e:
        raise AssertionError(f"{e}: heard {last}; contact {lab.contact(cid)}") from None


def test_a_conference_of_three_each_hears_the_others_then_control_passes(lab):
    ana, ben = desk_for(lab, "1001"), desk_for(lab, "1002")
    cid = talking_with_customer(lab, ana)
    consulted(lab, ana, ben, "1002", cid)
    ana.key("conf")                                       # the consult becomes a conference
    ana.wait_lcd("Conference 3")
    ben.wait_lcd("Conference 3")
    info = lab.contact(cid)
    assert info["control"] == "1001" and info["consult"] is None
    assert [m["agent"] for m in info["conference"]["members"]] == ["1002"]
    customer_hears(lab, cid, [MIC_HZ["1001"], MIC_HZ["1002"]])
    phone_hears(lab, ana, "1001", [CUSTOMER_HZ, MIC_HZ["1002"]], MIC_HZ["1001"])
    phone_hears(lab, ben, "1002", [CUSTOMER_HZ, MIC_HZ["1001"]], MIC_HZ["1002"])
    # 1001 ends its call: it owes the wrap-up, 1002 has control, the customer stays with 1002
    ana.key("soft2")                                      # End
    ana.wait_lcd("Wrap-up")
    lab.wait_for(lambda: lab.contact(cid)["control"] == "1002", desc="1002 in control")
    assert lab.contact(cid)["conference"] is None         # two left: a plain call
    customer_hears(lab, cid, [MIC_HZ["1002"]])
    ben.wait_lcd("Talking")
    ben.hook(False)                                       # hung up: the primary wraps up
    ben.wait_lcd("Wrap-up")


def test_a_party_exits_and_the_others_go_on(lab):
    ana, ben, cleo = desk_for(lab, "1001"), desk_for(lab, "1002"), desk_for(lab, "1003")
    cid = talking_with_customer(lab, ana)
    consulted(lab, ana, ben, "1002", cid)
    ana.key("conf")
    ana.wait_lcd("Conference 3")
    consulted(lab, ana, cleo, "1003", cid)                # a second consult, from the conference
    ana.key("conf")
    ana.wait_lcd("Conference 4")
    cleo.wait_lcd("Conference 4")
    customer_hears(lab, cid, [MIC_HZ["1001"], MIC_HZ["1002"], MIC_HZ["1003"]])
    phone_hears(lab, cleo, "1003", [CUSTOMER_HZ, MIC_HZ["1001"], MIC_HZ["1002"]],
                MIC_HZ["1003"])
    ben.key("soft2")                                      # 1002 exits (Exit): owes nothing
    lab.wait_for(lambda: ben.status()["calls"] == "0", desc="1002 off the call")
    assert "Wrap-up" not in ben.text()
    ana.wait_lcd("Conference 3")
    customer_hears(lab, cid, [MIC_HZ["1001"], MIC_HZ["1003"]])
    phone_hears(lab, cleo, "1003", [CUSTOMER_HZ, MIC_HZ["1001"]], MIC_HZ["1003"])


def in_conference(lab: Lab) -> tuple[Desk, Desk, str]:
    ana, ben = desk_for(lab, "1001"), desk_for(lab, "1002")
    cid = talking_with_customer(lab, ana)
    consulted(lab, ana, ben, "1002", cid)
    ana.key("conf")
    ana.wait_lcd("Conference 3")
    ben.wait_lcd("Conference 3")
    return ana, ben, cid


def test_ccsim_killed_mid_conference_the_call_goes_on_and_is_adopted_back(lab):
    """The bridge holds the calls, not ccsim: with ccsim down the three still hear each other;
    restarted, it adopts the legs back into the conference it kept in its database."""
    ana, ben, cid = in_conference(lab)
    lab.ccsim.kill()
    ana.wait_status(cc="down")
    phone_hears(lab, ana, "1001", [CUSTOMER_HZ, MIC_HZ["1002"]], MIC_HZ["1001"])
    phone_hears(lab, ben, "1002", [CUSTOMER_HZ, MIC_HZ["1001"]], MIC_HZ["1002"])
    lab.ccsim.start()
    ana.wait_status(cc="up", timeout=20)
    ben.wait_status(cc="up", timeout=20)
    info = lab.contact(cid)
    assert info["control"] == "1001"
    assert [m["agent"] for m in info["conference"]["members"]] == ["1002"]
    assert sorted(p["who"] for p in info["participants"]) == ["agent", "customer", "party"]
    ana.wait_lcd("Conference 3")
    ben.key("soft2")                                      # 1002 exits, after the restart too
    lab.wait_for(lambda: ben.status()["calls"] == "0", desc="1002 off the call")
    lab.wait_for(lambda: lab.contact(cid)["conference"] is None, desc="a plain call again")
    phone_hears(lab, ana, "1001", [CUSTOMER_HZ], MIC_HZ["1001"])


def test_the_customer_leaving_is_post_call_the_agents_talk_on(lab):
    ana, ben, cid = in_conference(lab)
    lab.ccsim.call("POST", f"/contacts/{cid}/hangup")
    lab.wait_for(lambda: (lab.contact(cid)["conference"] or {}).get("post_call"),
                 desc="post call at ccsim")
    ana.wait_lcd("Conference 2")                          # the two agents
    phone_hears(lab, ana, "1001", [MIC_HZ["1002"]], MIC_HZ["1001"])
    phone_hears(lab, ben, "1002", [MIC_HZ["1001"]], MIC_HZ["1002"])
    ben.key("soft2")                                      # one left: over, 1001 wraps up
    ana.wait_lcd("Wrap-up")
    assert "Wrap-up" not in ben.text()


def test_a_number_joins_as_a_party_and_hears_everyone(lab):
    """A dial number (the customers process answers 5550100, sounding 784 Hz) consulted from
    the conference and joined: four on it; it hears the customer and both agents, they hear
    it, and it has no call control (it sends nothing: the agents' phones keep theirs)."""
    ana, ben, cid = in_conference(lab)
    consult(ana, "5550100")
    lab.wait_for(lambda: (lab.contact(cid)["consult"] or {}).get("status") == "talking",
                 desc="the number answering")
    ana.key("conf")
    ana.wait_lcd("Conference 4")
    number_hz = 784
    customer_hears(lab, cid, [MIC_HZ["1001"], MIC_HZ["1002"], number_hz])
    phone_hears(lab, ben, "1002", [CUSTOMER_HZ, MIC_HZ["1001"], number_hz], MIC_HZ["1002"])
    heard = lab.wait_for(lambda: (h := lab.ccsim.call("GET", "/numbers/5550100")["heard"])
                         and all(_has(h["tones"], hz) for hz in
                                 (CUSTOMER_HZ, MIC_HZ["1001"], MIC_HZ["1002"])) and h,
                         timeout=15, desc="the number hearing the three others")
    assert not _has(heard["tones"], number_hz)
    members = lab.contact(cid)["conference"]["members"]
    assert [(m["agent"], m["number"]) for m in members] == [("1002", None), (None, "5550100")]
    ana.key("soft3")                                      # Who
    ana.wait_lcd("On the call")


def test_a_party_whose_phone_vanishes_is_dropped_and_the_others_go_on(lab):
    """1002's phone dies (kill -9: no BYE): its leg ends at the bridge's RTP timeout (10 s),
    it leaves the conference, and the customer and 1001 talk on."""
    ana, ben, cid = in_conference(lab)
    ben.phone.process.kill()
    lab.wait_for(lambda: lab.contact(cid)["conference"] is None, timeout=30,
                 desc="1002's leg gone (RTP timeout), a plain call again")
    assert lab.contact(cid)["control"] == "1001"
    ana.wait_lcd("Talking")
    customer_hears(lab, cid, [MIC_HZ["1001"]])
    phone_hears(lab, ana, "1001", [CUSTOMER_HZ], MIC_HZ["1001"])


NUMBERS = [f"55501{i:02d}" for i in range(7)]            # 5550100..5550106 answer


@pytest.fixture
def big_lab(tmp_path):
    """The demo lab with seven numbers that answer (the demo has three)."""
    text = DEMO_SCENARIO.read_text().replace(
        'answer = ["5550100", "5550101", "5550102"]', f"answer = {NUMBERS!r}".replace("'", '"'))
    scenario = tmp_path / "scenario-numbers.toml"
    scenario.write_text(text)
    with Lab(tmp_path / "lab", scenario=scenario, bridge=True) as lab:
        lab.start()
        yield lab


def test_a_ninth_is_refused_on_the_lcd(big_lab):
    """The customer, 1001 and six numbers make eight: the seventh number's consult is
    refused, `Conference full (8)` on 1001's LCD, and the eight go on."""
    lab = big_lab
    ana = desk_for(lab, "1001")
    cid = talking_with_customer(lab, ana)
    for i, number in enumerate(NUMBERS[:6]):
        consult(ana, number)
        lab.wait_for(lambda: (lab.contact(cid)["consult"] or {}).get("status") == "talking",
                     desc=f"{number} answering")
        ana.key("conf")
        ana.wait_lcd(f"Conference {i + 3}")
    assert len(lab.contact(cid)["participants"]) == 8
    consult(ana, NUMBERS[6])
    ana.wait_lcd("Conference full (8)")
    assert lab.contact(cid)["consult"] is None
    ana.wait_lcd("Conference 8")


def test_the_bridge_killed_mid_conference_ends_the_call_and_a_new_bridge_takes_calls(lab):
    """The bridge holds every leg: killed (-9), the conference's calls are gone with it.
    ccsim starts a new bridge and ends the contact as a restart that found its legs gone
    would: the agent in control wraps up, the party owes nothing; the phones run on, and the
    next customer is offered and heard through the new bridge."""
    import os
    import signal
    import subprocess

    ana, ben, cid = in_conference(lab)
    pid = int(subprocess.run(["pgrep", "-f", f"tools.ccsim.bridge .*{lab.bridge_control}"],
                             capture_output=True, text=True, check=True).stdout.split()[0])
    os.kill(pid, signal.SIGKILL)
    ana.wait_lcd("Wrap-up", timeout=15)
    lab.wait_for(lambda: lab.contact(cid)["state"] in ("wrapup", "wrapped_up"),
                 desc="the contact over at ccsim")
    lab.wait_for(lambda: ben.status()["calls"] == "0", timeout=15, desc="1002's call over")
    assert "Wrap-up" not in ben.text()
    ana.key("ok")                                         # the wrap-up's first code
    lab.wait_for(lambda: lab.contact(cid)["state"] == "wrapped_up", desc="wrapped up")
    # the new bridge: the next customer is offered to 1001 and hears it
    cid2 = talking_with_customer(lab, ana)
    assert cid2 != cid and lab.contact(cid2)["control"] == "1001"
