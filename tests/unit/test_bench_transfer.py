"""``python -m tools.bench transfer``: when ccsim's view shows a transfer done, and the figures
it prints from the stamps of each round (the last of what shows a step done counts)."""
import pytest

from tools.bench.transfer import Round, report, transferred


def contact(control, customer_room, agent_rooms):
    legs = [{"leg": "c-1.c", "who": "customer", "state": "answered", "room": customer_room}]
    legs += [{"leg": f"c-1.{a}", "who": "agent", "agent": a, "state": "answered", "room": room}
             for a, room in agent_rooms.items()]
    return {"id": "c-1", "control": control, "participants": legs}


def test_a_transfer_is_done_when_the_agent_has_control_and_the_customer_is_in_its_room():
    assert transferred(contact("1002", "c-1", {"1002": "c-1"}), "1002")
    assert not transferred(contact("1001", "c-1", {"1002": "c-1"}), "1002")   # not in control
    assert not transferred(contact("1002", None, {"1002": "c-1"}), "1002")    # still on music
    assert not transferred(contact("1002", None, {"1002": None}), "1002")     # nobody in a room
    assert not transferred(contact("1002", "c-1.k1", {"1002": "c-1"}), "1002")
    assert not transferred({"control": "1002", "participants": []}, "1002")   # calls over


def figures(text: str, label: str) -> list[str]:
    row = next(line for line in text.splitlines() if line.startswith(f"| {label}"))
    return [c.strip() for c in row.split("|")[2:6]]


def test_each_figure_runs_from_the_key_to_the_last_sign_of_the_step_done():
    rounds = [Round(ok_sent=10.0, popover=10.030, consult_leg=10.020, accept_sent=10.5,
                    talking_cc=10.510, talking_lcd=10.540, xfer_sent=11.0, control=11.050,
                    cleared=11.020, polls=(0.004, 0.006)),
              Round(ok_sent=20.0, popover=20.010, consult_leg=20.040, accept_sent=20.5,
                    talking_cc=20.520, talking_lcd=20.505, xfer_sent=21.0, control=21.010,
                    cleared=21.030),
              Round(ok_sent=30.0, popover=30.002, consult_leg=30.001, accept_sent=30.5,
                    talking_cc=30.501, talking_lcd=30.502, xfer_sent=31.0, control=31.003,
                    cleared=31.001)]
    text = report(rounds)               # nearest rank: p50 of 3 is the 2nd, p99 the 3rd
    assert figures(text, "consult: 1001's `ok` -> 1002's consult popover") == [
        "3", "10.0", "30.0", "30.0"]
    assert figures(text, "consult: 1002's accept -> talking") == ["3", "20.0", "40.0", "40.0"]
    assert figures(text, "transfer: 1001's `xfer` -> complete") == ["3", "30.0", "50.0", "50.0"]
    assert figures(text, "  (`xfer` -> ccsim") == ["3", "10.0", "50.0", "50.0"]
    assert figures(text, "round: `ok` -> transfer complete") == [
        "3", "1030.0", "1050.0", "1050.0"]
    assert figures(text, "the bench's poll period")[1:] == ["6.000", "6.000", "6.000"]


def test_stamps_out_of_order_are_an_error_not_a_figure():
    early = Round(ok_sent=10.0, popover=9.9, consult_leg=10.02, accept_sent=10.5,
                  talking_cc=10.51, talking_lcd=10.54, xfer_sent=11.0, control=11.05,
                  cleared=11.02)
    with pytest.raises(RuntimeError, match="round 1: its stamps are out of order"):
        report([early])
