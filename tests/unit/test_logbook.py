"""The phone's recent log (firmware/app/logbook.py): what it keeps, what leaves it masked, and
how it is cut into upload parts."""
import logging
import random
import threading

import pytest

from firmware.app.logbook import RecentLog, install, parts, redact


@pytest.fixture
def logger():
    """A logger of its own with a RecentLog on it, removed afterwards."""
    log = logging.getLogger(f"hardphone.test_logbook.{random.randrange(1 << 30)}")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    handler = install(log)
    yield log, handler
    log.removeHandler(handler)


def test_a_logged_line_has_its_time_level_logger_and_message(logger):
    log, recent = logger
    log.warning("registration at %s failed: %s", "sip:pbx", "timeout")
    line = recent.text()
    assert line.endswith(f"WARNING {log.name}: registration at sip:pbx failed: timeout")
    assert line[4] == "-" and line[10] == "T"            # 2026-01-31T12:00:00.123


def test_install_twice_gives_the_same_handler(logger):
    log, recent = logger
    assert install(log) is recent
    assert sum(isinstance(h, RecentLog) for h in log.handlers) == 1


def test_the_pin_and_the_sip_password_are_gone_and_the_phone_number_stays(logger):
    log, recent = logger
    log.info("dialing call c1 to %s", "+1 555-123-4567")
    log.warning("login refused: agent=1001 pin=%s", "4321")
    log.error("registration failed: user 1001 password %s rejected", "Hunter2!")
    text = redact(recent.text(), ["4321", "Hunter2!"])
    assert "4321" not in text and "Hunter2!" not in text
    assert "+1 555-123-4567" in text and "agent=1001" in text
    assert "pin=***" in text and "password ***" in text


@pytest.mark.parametrize("line", [
    "login pin=7788", "PIN: 7788", 'CcLogin(agent=\'1001\', pin=\'7788\')',
    '{"password": "7788"}', "sip_passwd=7788;", "secret = 7788", "session: 7788",
    "X-CC-Token: 7788", "wss://cc/ws?token=7788&v=1", "auth=7788",
    "Authorization: Digest username=\"1001\", response=\"7788\"",
    "Proxy-Authorization: Bearer 7788",
])
def test_values_after_secret_keys_are_masked_without_knowing_them(line):
    out = redact(line)
    assert "7788" not in out and "***" in out


@pytest.mark.parametrize("line", [
    "spin=5 mapping: 6 pinned: 7", 'qop="auth", nonce="n1"', "the session ended (9 s)",
])
def test_words_that_only_contain_a_key_name_are_left_alone(line):
    assert redact(line) == line


def test_a_secret_inside_another_is_masked_whole_and_short_ones_not_at_all():
    assert redact("code abc123x then abc", ["abc", "abc123x"]) == "code *** then ***"
    assert redact("call 12 at 10:12", ["12"]) == "call 12 at 10:12"   # too short to mask


@pytest.mark.parametrize("line, kept", [
    ("dtmf 1234#", "dtmf "),
    ("DTMF=5", "DTMF="),
    ("dtmf digits: 4111 1111", "dtmf digits: "),
    ("audio: send DTMF digit: '9'", "send DTMF digit: '"),              # baresip's own
    ("call: received SIP INFO DTMF: '*' (duration=160)", "INFO DTMF: '"),
    ("Signal=7\r\nDuration=160", "Signal="),                          # a SIP INFO body
])
def test_dtmf_digits_are_masked_and_the_word_kept(line, kept):
    out = redact(line)
    assert kept in out and "***" in out
    assert not any(d in out.replace("***", "").replace("160", "") for d in "1234579*#")


def test_what_the_phone_logs_about_dtmf_without_digits_stays():
    for line in ("call c3: 4 DTMF digit(s) not sent: busy", "DTMF: no call c12 (already ended?)",
                 "call c1: DTMF not sent: not a DTMF digit"):
        assert redact(line) == line


def test_card_numbers_are_masked_whole_and_phone_numbers_stay():
    assert redact("card 4111 1111 1111 1111 read") == "card *** read"
    assert redact("card 5500-0000-0000-0004.") == "card ***."
    assert redact("pan 4111111111111") == "pan ***"                   # 13 digits
    for kept in ("5551234567", "+44 20 7946 0958", "(555) 123-4567",
                 "two 5551234567 5551234568", "2026-01-31T12:00:00.123"):
        assert redact(kept) == kept


def test_the_ring_keeps_the_newest_lines_within_its_line_count(logger):
    log, _ = logger
    recent = RecentLog(max_lines=10)
    log.addHandler(recent)
    for i in range(25):
        log.info("line %d", i)
    lines = recent.text().split("\n")
    assert len(lines) == 10
    assert lines[0].endswith("line 15") and lines[-1].endswith("line 24")
    log.removeHandler(recent)


def test_the_ring_stays_within_its_character_budget(logger):
    log, _ = logger
    recent = RecentLog(max_chars=2000)
    log.addHandler(recent)
    for i in range(200):
        log.info("event %d %s", i, "x" * (i % 37))
    log.error("one huge line %s", "y" * 5000)       # kept, cut to the budget
    assert len(recent.text()) <= 2000
    assert "one huge line" in recent.text()
    log.info("the newest")
    assert recent.text().endswith("the newest") and len(recent.text()) <= 2000
    log.removeHandler(recent)


def test_a_traceback_counts_its_lines(logger):
    log, recent = logger
    try:
        raise ValueError("pin=1234")
    except ValueError:
        log.exception("command failed")
    text = recent.text()
    assert "Traceback" in text and "ValueError: pin=***" in redact(text)
    assert len(text.split("\n")) == len(recent._lines)


def test_records_from_many_threads_are_all_kept_whole(logger):
    log, recent = logger

    def talk(n):
        for i in range(200):
            log.info("thread %d record %d", n, i)

    threads = [threading.Thread(target=talk, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = recent.text().split("\n")
    assert len(lines) == 1600 and all(" record " in line for line in lines)
    assert recent._chars == sum(len(line) + 1 for line in lines)


@pytest.mark.parametrize("seed", range(20))
def test_parts_never_exceed_the_size_and_join_back(seed):
    rng = random.Random(seed)
    text = "\n".join("z" * rng.randrange(0, 90) for _ in range(rng.randrange(0, 60)))
    size = rng.randrange(1, 120)
    pieces = parts(text, size)
    assert pieces and "".join(pieces) == text
    assert all(0 < len(p) <= size for p in pieces) or pieces == [""]


def test_parts_break_between_lines_where_a_line_fits():
    assert parts("ab\ncd\nef\n", 6) == ["ab\ncd\n", "ef\n"]
    assert parts("ab\nlongerline\nc", 4) == ["ab\n", "long", "erli", "ne\nc"]
    assert parts("", 10) == [""]
    with pytest.raises(ValueError):
        parts("x", 0)
