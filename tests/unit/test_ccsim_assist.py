"""ccsim's wrap-up notes (engine.wrapup, settings.note_max) and what agents ask of the centre
besides contacts (tools/ccsim/assist.py): help requests and their ``help`` events, call-quality
reports, log uploads in parts; kept in SQLite across restarts, shown by the admin API.

Driven like test_ccsim_engine.py (its Desk: the engine with a fake clock and customers, each
agent's messages recorded), and over the wire against a real CcServer like
test_ccsim_callbacks.py (test_ccsim_campaign_load's ``serve``: a phone on the WebSocket, the
admin API over HTTP).
"""
import pytest

from firmware.cc import protocol as p
from tests.unit import test_ccsim_campaign_load as load
from tests.unit import test_ccsim_consult as consult
from tests.unit import test_ccsim_engine as base
from tools.ccsim.assist import MAX_LOG_PARTS, HelpOver
from tools.ccsim.engine import Refused
from tools.ccsim.scenario import MAX_NOTE_CHARS, ScenarioError

IN_WRAPUP = """
    hello 1001
    available 1001
    post sales
    accept 1001 c-1
    call 1001 c-1 ended
    agent 1001 wrapup
"""
QUALITY = p.CallQuality(duration_s=95, codec="PCMU", rx_packets=4750, rx_lost=212, tx_lost=3,
                        rx_jitter_ms=41.5, tx_jitter_ms=2.0, rtt_ms=180.0, late=17,
                        concealed=229, mos=2.9)


def desk(note_max: int | None = 10, db=":memory:", clock=None) -> base.Desk:
    """test_ccsim_engine's centre, with [settings] note_max (None: the scenario's default)."""
    return base.Desk("" if note_max is None else f"note_max = {note_max}", db=db, clock=clock)


def refused(code: str, operation, *args):
    with pytest.raises(Refused) as e:
        operation(*args)
    assert e.value.code == code, e.value.message
    return e.value.message


def told(d: base.Desk, agent: str) -> list:
    """The agent's messages since last asked."""
    d.drain()
    start = d.seen.get(agent, 0)
    messages = d.sent.get(agent, [])[start:]
    d.seen[agent] = start + len(messages)
    return messages


def helps(d: base.Desk, agent: str) -> list[tuple[str, str, str]]:
    """(state, supervisor, contact) of each ``help`` event the agent got since last asked."""
    return [(m.state, m.supervisor, m.contact) for m in told(d, agent) if isinstance(m, p.Help)]


# -- wrap-up notes ---------------------------------------------------------------------------
def test_the_scenario_s_note_max_defaults_to_500_and_reaches_the_phone():
    d = base.play(desk(None), "hello 1001")
    assert d.engine.snapshot("1001").settings.note_max == 500
    assert base.play(desk(0), "hello 1001").engine.snapshot("1001").settings.note_max == 0
    assert desk(MAX_NOTE_CHARS).engine.settings.note_max == MAX_NOTE_CHARS
    for bad in ("-1", str(MAX_NOTE_CHARS + 1), '"500"', "true"):
        with pytest.raises(ScenarioError, match="note_max"):
            base.Desk(f"note_max = {bad}")


def test_a_note_of_note_max_characters_is_kept_with_the_wrap_up():
    d = base.play(desk(10), IN_WRAPUP)
    d.engine.wrapup("1001", "c-1", "sale", "Zoë: ten ✓")
    info = d.engine.contact_info("c-1")
    assert (info["state"], info["wrapup"], info["note"]) == ("wrapped_up", "sale", "Zoë: ten ✓")
    assert len(info["note"]) == 10


def test_a_note_over_note_max_is_refused_and_nothing_is_wrapped_up():
    d = base.play(desk(10), IN_WRAPUP)
    told(d, "1001")
    message = refused("bad_value", d.engine.wrapup, "1001", "c-1", "sale", "x" * 11)
    assert "at most 10 characters, got 11" in message
    info = d.engine.contact_info("c-1")
    assert (info["state"], info["wrapup"], info["note"]) == ("wrapup", None, None)
    assert told(d, "1001") == []
    base.play(d, "agent 1001 wrapup")
    d.engine.wrapup("1001", "c-1", "sale", "x" * 10)        # the agent shortens it
    assert d.engine.contact_info("c-1")["note"] == "x" * 10


def test_where_note_max_is_0_any_note_is_refused_and_none_is_fine():
    d = base.play(desk(0), IN_WRAPUP)
    assert "no wrap-up notes" in refused("bad_value", d.engine.wrapup, "1001", "c-1", "sale",
                                         "x")
    assert d.engine.contact_info("c-1")["state"] == "wrapup"
    d.engine.wrapup("1001", "c-1", "sale")
    info = d.engine.contact_info("c-1")
    assert (info["state"], info["note"]) == ("wrapped_up", None)


def test_the_note_is_checked_after_the_state_and_the_code():
    d = base.play(desk(10), IN_WRAPUP)
    refused("unknown_code", d.engine.wrapup, "1001", "c-1", "nope", "x" * 11)
    base.play(d, "post sales")
    refused("unknown_contact", d.engine.wrapup, "1001", "c-9", "sale", "x" * 11)


def test_an_agent_who_passed_the_contact_on_keeps_its_note_in_its_attempt():
    d = base.play(consult.Desk("note_max = 10"), consult.TALKING + """
        transfer 1001 c-1 queue support
        agent 1001 wrapup
    """)
    refused("bad_value", d.engine.wrapup, "1001", "c-1", "sale", "x" * 11)
    assert d.engine.contact_info("c-1")["wrapup_owed"] == ["1001"]
    d.engine.wrapup("1001", "c-1", "sale", "to support")
    info = d.engine.contact_info("c-1")
    assert info["wrapup_owed"] == [] and info["note"] is None      # not the contact's own
    first = info["attempts"][0]
    assert (first["agent"], first["wrapup"], first["note"]) == ("1001", "sale", "to support")


def test_the_note_survives_a_restart(tmp_path):
    first = base.play(desk(10, db=tmp_path / "cc.db"), IN_WRAPUP)
    first.engine.wrapup("1001", "c-1", "sale", "call back")
    first.store.close()
    second = desk(10, db=tmp_path / "cc.db", clock=first.clock)
    assert second.engine.contact_info("c-1")["note"] == "call back"


# -- help requests ---------------------------------------------------------------------------
def test_a_help_request_is_acked_then_open_on_the_phone_and_in_the_snapshot():
    d = base.play(desk(), "hello 1001")
    seq = d.engine.snapshot("1001").seq
    assert d.engine.snapshot("1001").help is False
    d.engine.request_help("1001")
    [event] = told(d, "1001")
    assert event == p.Help(seq=seq + 1, state="open")
    snapshot = d.engine.snapshot("1001")
    assert snapshot.help is True and snapshot.seq == seq + 1
    assert d.engine.helps_info() == [{"id": "h-1", "agent": "1001", "contact": None,
                                      "state": "open", "supervisor": None,
                                      "created": d.clock.now, "closed_at": None}]


def test_a_second_request_while_one_stands_is_not_allowed():
    d = base.play(desk(), "hello 1001")
    d.engine.request_help("1001")
    told(d, "1001")
    refused("not_allowed", d.engine.request_help, "1001")
    assert told(d, "1001") == [] and len(d.engine.helps_info()) == 1
    d.engine.cancel_help("1001")
    d.engine.request_help("1001")                      # over: a new one may be asked
    assert helps(d, "1001") == [("closed", "", ""), ("open", "", "")]


def test_cancel_closes_it_and_with_none_standing_is_not_allowed():
    d = base.play(desk(), "hello 1001")
    refused("not_allowed", d.engine.cancel_help, "1001")
    d.engine.request_help("1001")
    d.clock.now += 30
    d.engine.cancel_help("1001")
    assert helps(d, "1001") == [("open", "", ""), ("closed", "", "")]
    assert d.engine.snapshot("1001").help is False
    [shown] = d.engine.helps_info()
    assert (shown["state"], shown["closed_at"]) == ("closed", d.clock.now)
    refused("not_allowed", d.engine.cancel_help, "1001")


def test_a_request_names_a_contact_of_the_agent_s_or_none():
    d = base.play(desk(), IN_WRAPUP + "hello 1003")
    refused("unknown_contact", d.engine.request_help, "1003", "c-1")   # 1001's
    refused("unknown_contact", d.engine.request_help, "1001", "c-9")
    d.engine.request_help("1001", "c-1")
    assert helps(d, "1001") == [("open", "", "c-1")]
    assert d.engine.helps_info()[0]["contact"] == "c-1"


def test_a_supervisor_answers_it_and_the_phone_is_told_who():
    d = base.play(desk(), "hello 1001")
    d.engine.request_help("1001")
    told(d, "1001")
    seq = d.engine.snapshot("1001").seq
    d.clock.now += 5
    info = d.engine.answer_help("h-1", "Sam")
    assert (info["state"], info["supervisor"], info["closed_at"]) == ("answered", "Sam",
                                                                      d.clock.now)
    assert told(d, "1001") == [p.Help(seq=seq + 1, state="answered", supervisor="Sam")]
    assert d.engine.snapshot("1001").help is False      # answered: the request is over
    with pytest.raises(HelpOver, match="answered already"):
        d.engine.answer_help("h-1", "Kim")
    with pytest.raises(HelpOver):
        d.engine.close_help("h-1")
    assert d.engine.answer_help("h-9", "Sam") is None and d.engine.close_help("h-9") is None
    assert told(d, "1001") == []


@pytest.mark.parametrize("supervisor", [None, "", 7, "x" * 65, "Sam\n"])
def test_an_answer_needs_the_supervisor_s_name_and_changes_nothing_without_one(supervisor):
    d = base.play(desk(), "hello 1001")
    d.engine.request_help("1001")
    told(d, "1001")
    with pytest.raises(ValueError, match="supervisor"):
        d.engine.answer_help("h-1", supervisor)
    assert d.engine.helps_info()[0]["state"] == "open" and told(d, "1001") == []
    d.engine.answer_help("h-1", "x" * 64)


def test_the_supervisors_close_it():
    d = base.play(desk(), "hello 1001")
    d.engine.request_help("1001", "")
    d.engine.close_help("h-1")
    assert helps(d, "1001") == [("open", "", ""), ("closed", "", "")]
    assert d.engine.help_request_info("h-1")["state"] == "closed"


def test_a_logout_closes_the_open_request_before_the_phone_is_logged_out():
    d = base.play(desk(), "hello 1001")
    d.engine.request_help("1001")
    told(d, "1001")
    d.engine.logout("1001")
    assert [type(m).__name__ for m in told(d, "1001")] == ["Help", "LoggedOut"]
    assert d.engine.helps_info()[0]["state"] == "closed"
    base.play(d, "hello 1001")
    assert d.engine.snapshot("1001").help is False


def test_the_list_is_newest_first_and_filters_by_state():
    d = base.play(desk(), "hello 1001\nhello 1002\nhello 1003")
    for agent in ("1001", "1002", "1003"):
        d.engine.request_help(agent)
    d.engine.answer_help("h-2", "Sam")
    d.engine.cancel_help("1003")
    assert [h["id"] for h in d.engine.helps_info()] == ["h-3", "h-2", "h-1"]
    assert [h["id"] for h in d.engine.helps_info("open")] == ["h-1"]
    assert [h["id"] for h in d.engine.helps_info("answered")] == ["h-2"]
    assert [h["id"] for h in d.engine.helps_info("closed")] == ["h-3"]
    for unknown in ("h-0", "h-4", "h-01", "q-1", "h-", "h-1x", "h-" + "9" * 40):
        assert d.engine.help_request_info(unknown) is None


def test_requests_survive_a_restart_and_are_answered_after_it(tmp_path):
    first = base.play(desk(db=tmp_path / "cc.db"), "hello 1001\nhello 1002")
    first.engine.request_help("1001", "")
    first.engine.request_help("1002")
    first.engine.cancel_help("1002")
    seq = first.engine.snapshot("1001").seq
    first.store.close()
    second = desk(db=tmp_path / "cc.db", clock=first.clock)
    assert second.engine.snapshot("1001").help is True      # a reconnecting phone knows
    assert second.engine.snapshot("1002").help is False
    refused("not_allowed", second.engine.request_help, "1001")
    second.engine.answer_help("h-1", "Sam")
    assert told(second, "1001") == [p.Help(seq=seq + 1, state="answered", supervisor="Sam")]
    assert [(h["id"], h["state"]) for h in second.engine.helps_info()] == [
        ("h-2", "closed"), ("h-1", "answered")]


def test_a_logged_out_agent_asks_nothing():
    d = desk()
    refused("not_logged_in", d.engine.request_help, "1001")
    refused("not_logged_in", d.engine.cancel_help, "1001")
    refused("not_logged_in", d.engine.quality_report, "1001", "echo", QUALITY)
    refused("not_logged_in", d.engine.log_upload, "1001", "u", 1, 1, "")


# -- call-quality reports --------------------------------------------------------------------
@pytest.mark.parametrize("problem", p.QUALITY_PROBLEMS)
def test_each_problem_is_taken(problem):
    d = base.play(desk(), "hello 1001")
    assert d.engine.quality_report("1001", problem, QUALITY) == "q-1"
    assert d.engine.quality_report_info("q-1")["problem"] == problem


@pytest.mark.parametrize("problem", ["", "Echo", "echo ", "crackle"])
def test_a_problem_not_in_the_list_is_a_bad_value_and_kept_nowhere(problem):
    d = base.play(desk(), "hello 1001")
    assert "problem: one of choppy" in refused("bad_value", d.engine.quality_report, "1001",
                                               problem, QUALITY)
    assert d.engine.qualities_info() == []


def test_a_report_keeps_every_figure_the_phone_sent():
    d = base.play(desk(), "hello 1001")
    d.engine.quality_report("1001", "choppy", QUALITY)
    d.engine.quality_report("1001", "other", p.CallQuality(codec="opus"))
    first = d.engine.quality_report_info("q-1")
    assert first == {"id": "q-1", "agent": "1001", "contact": None, "problem": "choppy",
                     "created": d.clock.now, "quality": {
                         "duration_s": 95, "codec": "PCMU", "rx_packets": 4750, "rx_lost": 212,
                         "tx_lost": 3, "rx_jitter_ms": 41.5, "tx_jitter_ms": 2.0,
                         "rtt_ms": 180.0, "late": 17, "concealed": 229, "mos": 2.9}}
    second = d.engine.quality_report_info("q-2")["quality"]     # defaults too: every field
    assert second == {**{k: 0 for k in first["quality"]}, "codec": "opus"}
    assert [q["id"] for q in d.engine.qualities_info()] == ["q-2", "q-1"]
    assert d.engine.quality_report_info("q-3") is None
    assert d.engine.quality_report_info("h-1") is None


def test_a_report_s_contact_is_one_the_agent_has_or_had():
    d = base.play(desk(), IN_WRAPUP + "hello 1003")
    d.engine.quality_report("1001", "echo", QUALITY, "c-1")            # in wrap-up
    d.engine.wrapup("1001", "c-1", "sale")
    d.engine.quality_report("1001", "noise", QUALITY, "c-1")           # wrapped up since
    refused("unknown_contact", d.engine.quality_report, "1003", "echo", QUALITY, "c-1")
    refused("unknown_contact", d.engine.quality_report, "1001", "echo", QUALITY, "c-9")
    assert [q["contact"] for q in d.engine.qualities_info()] == ["c-1", "c-1"]


def test_a_contact_rona_d_by_the_agent_was_the_agent_s():
    d = base.play(desk(), """
        hello 1001
        hello 1003
        available 1001
        post sales
        reject 1001 c-1
        available 1003
        contact c-1 reserved 1003
    """)
    d.engine.quality_report("1001", "one_way", QUALITY, "c-1")
    d.engine.quality_report("1003", "one_way", QUALITY, "c-1")


def test_reports_survive_a_restart(tmp_path):
    first = base.play(desk(db=tmp_path / "cc.db"), "hello 1001")
    first.engine.quality_report("1001", "delay", QUALITY)
    first.store.close()
    second = desk(db=tmp_path / "cc.db", clock=first.clock)
    assert second.engine.quality_report_info("q-1")["quality"]["mos"] == 2.9
    assert second.engine.quality_report("1001", "delay", QUALITY) == "q-2"


# -- log uploads -----------------------------------------------------------------------------
def test_parts_in_order_are_acked_and_the_last_keeps_the_joined_log():
    d = base.play(desk(), "hello 1001")
    e = d.engine
    assert e.log_upload("1001", "boot-7", 1, 3, "one\n") is None
    assert e.log_upload("1001", "boot-7", 2, 3, "twö\n") is None
    assert e.logs_info() == []                                  # not before its last part
    d.clock.now += 1
    assert e.log_upload("1001", "boot-7", 3, 3, "three\n") == "log-1"
    shown = e.log_text_info("log-1")
    assert shown == {"id": "log-1", "agent": "1001", "upload": "boot-7",
                     "created": d.clock.now, "size": 15, "parts": 3,
                     "text": "one\ntwö\nthree\n"}
    assert e.logs_info() == [{k: v for k, v in shown.items() if k != "text"}]
    assert told(d, "1001") == []                                # acks only: no events


def test_a_single_part_upload_and_an_empty_one():
    d = base.play(desk(), "hello 1001")
    assert d.engine.log_upload("1001", "a", 1, 1, "all of it") == "log-1"
    assert d.engine.log_upload("1001", "b", 1, 1, "") == "log-2"
    assert [(r["upload"], r["size"]) for r in d.engine.logs_info()] == [("b", 0), ("a", 9)]


@pytest.mark.parametrize("sent,why", [
    ([(2, 3)], "send part 1 first"),                            # not started
    ([(1, 3), (3, 3)], "part 2 is next"),                       # one skipped
    ([(1, 3), (2, 3), (2, 3)], "part 3 is next"),               # one again
    ([(1, 3), (2, 4)], "has 3 parts, not 4"),                   # parts changed
    ([(1, 3), (2, 2)], "has 3 parts, not 2"),
])
def test_a_part_out_of_order_is_a_bad_value_and_changes_nothing(sent, why):
    d = base.play(desk(), "hello 1001")
    *good, (part, parts) = sent
    for n, of in good:
        d.engine.log_upload("1001", "u", n, of, f"[{n}]")
    assert why in refused("bad_value", d.engine.log_upload, "1001", "u", part, parts, "x")
    assert d.engine.logs_info() == []
    if good:                                    # the upload goes on where it was
        last = good[-1][0]
        for n in range(last + 1, 4):
            d.engine.log_upload("1001", "u", n, 3, f"[{n}]")
        assert d.engine.log_text_info("log-1")["text"] == "[1][2][3]"


@pytest.mark.parametrize("part,parts,text,why", [
    (1, 0, "", "parts: 1 to 1000, got 0"),
    (1, MAX_LOG_PARTS + 1, "", "parts: 1 to 1000, got 1001"),
    (0, 3, "", "part: 1 to parts (3), got 0"),
    (4, 3, "", "part: 1 to parts (3), got 4"),
    (1, 1, "x" * (p.MAX_LOG_PART + 1), f"at most {p.MAX_LOG_PART} characters a part, got"),
])
def test_parts_and_texts_out_of_bounds_are_bad_values(part, parts, text, why):
    d = base.play(desk(), "hello 1001")
    assert why in refused("bad_value", d.engine.log_upload, "1001", "u", part, parts, text)
    assert d.engine.logs_info() == []


def test_the_bounds_themselves_are_taken():
    d = base.play(desk(), "hello 1001")
    assert d.engine.log_upload("1001", "u", 1, MAX_LOG_PARTS, "x" * p.MAX_LOG_PART) is None
    assert d.engine.log_upload("1001", "v", 1, 1, "é" * p.MAX_LOG_PART) == "log-1"
    assert d.engine.log_text_info("log-1")["size"] == 2 * p.MAX_LOG_PART


@pytest.mark.parametrize("upload", ["", "x" * 65, "a\tb"])
def test_the_upload_s_id_is_a_short_text(upload):
    d = base.play(desk(), "hello 1001")
    assert "upload" in refused("bad_value", d.engine.log_upload, "1001", upload, 1, 1, "x")


def test_part_1_starts_it_again_and_drops_an_unfinished_one():
    d = base.play(desk(), "hello 1001\nhello 1002")
    e = d.engine
    e.log_upload("1001", "u", 1, 3, "old1")
    e.log_upload("1001", "u", 2, 3, "old2")
    e.log_upload("1001", "u", 1, 2, "new1")                     # the phone starts over
    e.log_upload("1002", "u", 1, 2, "ben1")                     # another agent's: its own
    assert e.log_upload("1001", "u", 2, 2, "new2") == "log-1"
    assert e.log_text_info("log-1")["text"] == "new1new2"
    e.log_upload("1001", "v", 1, 2, "v1")
    e.log_upload("1001", "w", 1, 2, "w1")                       # one upload at a time
    refused("bad_value", e.log_upload, "1001", "v", 2, 2, "v2")
    assert e.log_upload("1002", "u", 2, 2, "ben2") == "log-2"
    assert e.log_text_info("log-2")["text"] == "ben1ben2"
    assert e.log_text_info("log-3") is None and e.log_text_info("q-1") is None


def test_an_upload_goes_on_after_a_restart_and_the_logs_are_kept(tmp_path):
    first = base.play(desk(db=tmp_path / "cc.db"), "hello 1001")
    first.engine.log_upload("1001", "a", 1, 1, "kept")
    first.engine.log_upload("1001", "b", 1, 2, "half ")
    first.store.close()
    second = desk(db=tmp_path / "cc.db", clock=first.clock)
    assert second.engine.log_upload("1001", "b", 2, 2, "and half") == "log-2"
    assert [(r["id"], r["upload"]) for r in second.engine.logs_info()] == [
        ("log-2", "b"), ("log-1", "a")]
    assert second.engine.log_text_info("log-2")["text"] == "half and half"


# -- over the wire and the admin API ---------------------------------------------------------
async def next_message(ws) -> p.ServerMessage:
    return p.decode_server(await ws.receive_str(timeout=5))


def test_the_phone_and_the_admin_api(tmp_path):
    text = base.SCENARIO.format(settings="note_max = 12")

    async def test(api, ws_url, http):
        async with http.ws_connect(ws_url) as ws:
            phone = load.Phone(ws)
            await phone.send(p.Hello(id="h", agent="1001", pin="1234"))
            snap = await phone.receive(p.Snapshot)
            assert (snap.help, snap.settings.note_max) == (False, 12)

            # help: acked, then the seq'd event; the admin answers it
            await phone.send(p.RequestHelp(id="r1"))
            assert await next_message(ws) == p.Ack(id="r1")
            assert await next_message(ws) == p.Help(seq=snap.seq + 1, state="open")
            await phone.send(p.RequestHelp(id="r2"))
            error = await next_message(ws)
            assert (error.id, error.code) == ("r2", "not_allowed")
            await phone.send(p.Resync(id="s"))
            assert (await phone.receive(p.Snapshot)).help is True
            listed = await api.get("/help?state=open")
            assert [(h["id"], h["agent"], h["state"]) for h in listed["help"]] == [
                ("h-1", "1001", "open")]
            assert (await api.get("/help?state=answered"))["help"] == []
            await api.get("/help?state=bogus", 400)
            await api.post("/help/h-1/answer", {}, 400)
            await api.post("/help/h-1/answer", {"supervisor": "Sam", "x": 1}, 400)
            answered = await api.post("/help/h-1/answer", {"supervisor": "Sam"})
            assert (answered["state"], answered["supervisor"]) == ("answered", "Sam")
            assert await next_message(ws) == p.Help(seq=snap.seq + 2, state="answered",
                                                    supervisor="Sam")
            await api.post("/help/h-1/answer", {"supervisor": "Kim"}, 409)
            await api.post("/help/h-1/close", None, 409)
            await api.post("/help/h-9/close", None, 404)
            await api.post("/help/h-9/answer", {"supervisor": "Sam"}, 404)
            assert (await api.get("/help/h-1"))["supervisor"] == "Sam"
            await api.get("/help/h-9", 404)
            await phone.send(p.RequestHelp(id="r3"))
            assert await next_message(ws) == p.Ack(id="r3")
            assert (await next_message(ws)).state == "open"
            await api.post("/help/h-2/close", None)
            assert await next_message(ws) == p.Help(seq=snap.seq + 4, state="closed")
            await phone.send(p.CancelHelp(id="c1"))
            assert (await next_message(ws)).code == "not_allowed"

            # a quality report
            await phone.send(p.QualityReport(id="q1", problem="hiss", quality=QUALITY))
            assert (await next_message(ws)).code == "bad_value"
            await phone.send(p.QualityReport(id="q2", problem="echo", quality=QUALITY))
            assert await next_message(ws) == p.Ack(id="q2")

            # a log in two parts
            await phone.send(p.LogUpload(id="l1", upload="u1", part=1, parts=2, text="a\n"))
            assert await next_message(ws) == p.Ack(id="l1")
            await phone.send(p.LogUpload(id="l2", upload="u1", part=1, parts=2,
                                         text="x" * (p.MAX_LOG_PART + 1)))
            assert (await next_message(ws)).code == "bad_value"
            await phone.send(p.LogUpload(id="l3", upload="u1", part=2, parts=2, text="b\n"))
            assert await next_message(ws) == p.Ack(id="l3")

            # a wrap-up with a note: over note_max refused, then kept
            await phone.send(p.SetState(id="a", state="available"))
            await api.post("/contacts", {"queue": "sales", "ani": "+15550001234"}, 201)
            await phone.receive(p.ContactUpdate)
            for n, event in enumerate(("answered", "ended")):
                await phone.send(p.CallEvent(id=f"e{n}", contact="c-1", event=event))
            while (await phone.receive(p.ContactUpdate)).contact.status != "wrapup":
                pass
            await phone.send(p.WrapUp(id="w1", contact="c-1", code="sale", note="x" * 13))
            error = await phone.receive(p.Error)
            assert (error.id, error.code) == ("w1", "bad_value")
            await phone.send(p.WrapUp(id="w2", contact="c-1", code="sale", note="Wants fibre"))
            assert (await phone.receive(p.Ack)).id == "w2"
            await phone.send(p.QualityReport(id="q3", problem="choppy", quality=QUALITY,
                                             contact="c-1"))            # after the call
            assert (await phone.receive(p.Ack)).id == "q3"
            await phone.send(p.QualityReport(id="q4", problem="choppy", quality=QUALITY,
                                             contact="c-7"))
            assert (await phone.receive(p.Error)).code == "unknown_contact"

        contact = await api.get("/contacts/c-1")
        assert (contact["wrapup"], contact["note"]) == ("sale", "Wants fibre")
        reports = (await api.get("/quality"))["reports"]
        assert [(r["id"], r["problem"], r["contact"]) for r in reports] == [
            ("q-2", "choppy", "c-1"), ("q-1", "echo", None)]
        assert reports[1]["quality"]["rx_lost"] == 212
        assert (await api.get("/quality/q-1")) == reports[1]
        await api.get("/quality/q-9", 404)
        logs = (await api.get("/logs"))["logs"]
        assert [(r["id"], r["upload"], r["size"], r["parts"]) for r in logs] == [
            ("log-1", "u1", 4, 2)] and "text" not in logs[0]
        assert (await api.get("/logs/log-1"))["text"] == "a\nb\n"
        await api.get("/logs/log-2", 404)
        await api.get("/logs/nope", 404)

    load.serve(tmp_path / "cc.db", test, text)


def test_a_request_over_the_wire_survives_a_server_restart(tmp_path):
    db, text = tmp_path / "cc.db", base.SCENARIO.format(settings="")

    async def first(api, ws_url, http):
        async with http.ws_connect(ws_url) as ws:
            phone = load.Phone(ws)
            await phone.send(p.Hello(id="h", agent="1001", pin="1234"))
            await phone.receive(p.Snapshot)
            await phone.send(p.RequestHelp(id="r"))
            assert (await phone.receive(p.Help)).state == "open"

    async def second(api, ws_url, http):
        async with http.ws_connect(ws_url) as ws:
            phone = load.Phone(ws)
            await phone.send(p.Hello(id="h", agent="1001", pin="1234"))
            assert (await phone.receive(p.Snapshot)).help is True
            await api.post("/help/h-1/answer", {"supervisor": "Sam"})
            assert (await phone.receive(p.Help)).supervisor == "Sam"

    load.serve(db, first, text)
    load.serve(db, second, text)

