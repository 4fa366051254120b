"""The media relay's pure parts: each packet's fate (tools.rtprelay.schedule) and the rtpproxy
control requests Kamailio sends (tools.rtprelay.parse_command)."""
import random
from itertools import pairwise

import pytest

from tools.rtprelay import (
    E_SYNTAX,
    E_UNKNOWN,
    CommandError,
    Impairment,
    parse_command,
    schedule,
)


def fates(imp: Impairment, n: int = 5000, seed: int = 1, every: float = 0.02):
    rng, last, out = random.Random(seed), 0.0, []
    for i in range(n):
        fate, last = schedule(imp, rng, i * every, last)
        out.append((i * every, fate))
    return out


def test_a_clean_relay_forwards_every_packet_at_once_in_order():
    got = fates(Impairment(), 200)
    assert all(f.leave - t < 1e-5 and not f.reordered for t, f in got)


def test_packets_queued_behind_one_leave_one_after_another_never_at_one_instant():
    # a packet held 100 ms, the next four arrive meanwhile with no delay of their own: they
    # queue behind it, and each leaves strictly after the one before (timers of one instant
    # may fire in any order)
    rng, last, leaves = random.Random(0), 0.0, []
    for i, delay in enumerate([100, 0, 0, 0, 0]):
        fate, last = schedule(Impairment(delay_ms=delay), rng, i * 0.02, last)
        leaves.append(fate.leave)
    assert all(a < b for a, b in pairwise(leaves))
    assert leaves[-1] - leaves[0] < 0.001


def test_loss_drops_about_the_share_asked_and_nothing_else_changes():
    got = fates(Impairment(loss=0.2))
    dropped = sum(f.leave is None for _, f in got)
    assert 0.18 < dropped / len(got) < 0.22
    assert all(f.leave - t < 1e-5 for t, f in got if f.leave is not None)


def test_delay_and_jitter_stay_within_bounds_and_never_reorder():
    got = fates(Impairment(delay_ms=10, jitter_ms=30))
    held = [f.leave - t for t, f in got]
    assert min(held) >= 0.010 - 1e-9
    leaves = [f.leave for _, f in got]
    assert all(a < b for a, b in pairwise(leaves))   # a queue: jitter keeps the order
    # uniform 0..30 ms on top of 10 ms, pushed later only by a packet still queued before it
    assert 0.020 < sorted(held)[len(held) // 2] < 0.035


def test_reordered_packets_are_overtaken_by_the_next_and_do_not_hold_them_up():
    got = fates(Impairment(reorder=0.1, reorder_ms=30))
    marked = [i for i, (_, f) in enumerate(got) if f.reordered]
    assert 0.08 < len(marked) / len(got) < 0.12
    for i in marked[:-1]:
        if i + 1 not in marked:
            assert got[i + 1][1].leave < got[i][1].leave     # the next one leaves first
            assert got[i + 1][1].leave - got[i + 1][0] < 1e-5   # and on time


def test_one_seed_gives_one_sequence_of_fates_whatever_the_settings_draw():
    imp = Impairment(jitter_ms=20, loss=0.05, reorder=0.02)
    assert fates(imp, 500, seed=42) == fates(imp, 500, seed=42)
    assert fates(imp, 500, seed=42) != fates(imp, 500, seed=43)
    # the loss draws are the same numbers with or without jitter: the same packets are lost
    lost = [f.leave is None for _, f in fates(Impairment(loss=0.1), 500, seed=5)]
    assert lost == [f.leave is None for _, f in fates(Impairment(loss=0.1, jitter_ms=40),
                                                      500, seed=5)]


@pytest.mark.parametrize("field,value", [("loss", 1.5), ("reorder", -0.1), ("jitter_ms", -1),
                                         ("delay_ms", 20_000)])
def test_impossible_impairments_are_refused_with_the_field_named(field, value):
    with pytest.raises(ValueError, match=field):
        Impairment(**{field: value})


def test_version_and_capability_requests_as_kamailio_sends_them():
    assert parse_command(b"123_0 V").op == "V"
    vf = parse_command(b"123_1 VF 20050322")
    assert (vf.cookie, vf.op, vf.capability) == ("123_1", "VF", "20050322")


def test_an_offer_with_modifiers_and_no_to_tag_yet():
    c = parse_command(b"4711_3 UAc0,8,101 a84b4c76e66710@pc33 127.0.0.1 40376 1928301774;1")
    assert (c.cookie, c.op, c.modifiers) == ("4711_3", "U", "Ac0,8,101")
    assert (c.call_id, c.ip, c.port) == ("a84b4c76e66710@pc33", "127.0.0.1", 40376)
    assert (c.from_tag, c.to_tag, c.stream) == ("1928301774", "", 1)


def test_an_answer_names_both_tags_and_the_media_number():
    c = parse_command(b"9_1 L cid;branch=z9 127.0.0.2 5004 ftag;2 ttag;2\n")
    assert (c.op, c.call_id, c.ip, c.port) == ("L", "cid;branch=z9", "127.0.0.2", 5004)
    assert (c.from_tag, c.to_tag, c.stream) == ("ftag", "ttag", 2)


def test_a_delete_with_and_without_the_to_tag():
    assert parse_command(b"1 D cid ftag ttag").to_tag == "ttag"
    d = parse_command(b"1 D cid ftag")
    assert (d.op, d.call_id, d.from_tag, d.to_tag) == ("D", "cid", "ftag", "")


@pytest.mark.parametrize("request_,code", [
    (b"1 U cid 127.0.0.1 notaport ftag", E_SYNTAX),
    (b"1 U cid 999.0.0.1 4000 ftag", E_SYNTAX),
    (b"1 U cid 127.0.0.1 70000 ftag", E_SYNTAX),
    (b"1 L cid 127.0.0.1 4000 ftag", E_SYNTAX),          # an answer needs the to-tag
    (b"1 U cid 127.0.0.1 4000 ftag;x", E_SYNTAX),
    (b"1 D cid", E_SYNTAX),
    (b"1 V extra", E_SYNTAX),
    (b"1 X something", E_UNKNOWN),
])
def test_bad_requests_get_an_error_code(request_, code):
    with pytest.raises(CommandError) as e:
        parse_command(request_)
    assert e.value.code == code


@pytest.mark.parametrize("request_", [b"", b"V", b"   ", b"\xff\xfe"])
def test_a_request_without_a_cookie_cannot_be_answered(request_):
    with pytest.raises(ValueError):
        parse_command(request_)


def test_the_relays_own_request_changes_the_network():
    c = parse_command(b"7 IMPAIR 5 20 0.01 0 40")
    assert c.op == "IMPAIR"
    assert c.impairment == Impairment(delay_ms=5, jitter_ms=20, loss=0.01, reorder_ms=40)
    for bad in (b"7 IMPAIR 5 20", b"7 IMPAIR 5 20 2 0", b"7 IMPAIR a b c d"):
        with pytest.raises(CommandError):
            parse_command(bad)
