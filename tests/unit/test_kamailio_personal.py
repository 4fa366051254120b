"""The Kamailio config tools/kamailio.py writes for personal calls (``personal_db``,
``voicemail_user``): the lines that route them, none of them without those arguments (the
config is what it always was), the mistakes refused, and Kamailio's own check of each
config (``kamailio -c``, where Kamailio and its SQLite module are installed)."""
import os
import shutil
import sqlite3
import subprocess

import pytest

from tools.kamailio import KAMAILIO, LOOKUP, Kamailio, KamailioError, module_path, wal_database

HOST = "127.0.0.1"


def config(tmp_path, **kw) -> str:
    return Kamailio(5062, workdir=tmp_path, **kw).config_text()


def personal(tmp_path, **kw) -> str:
    return config(tmp_path, personal_db=tmp_path / "ccsim.db", **kw)


def sqlite_module() -> bool:
    try:
        return os.path.exists(module_path() + "db_sqlite.so")
    except KamailioError:
        return False


def test_without_personal_db_nothing_changes(tmp_path):
    text = config(tmp_path)
    for word in ("sqlops", "db_sqlite", "route(PERSONAL)", "failure_route", "Diversion",
                 "X-Voicemail", "t_set_fr"):
        assert word not in text
    assert LOOKUP in text
    with pytest.raises(KamailioError, match="needs personal_db"):
        config(tmp_path, voicemail_user="voicemail")


def test_a_personal_call_is_an_invite_to_an_agents_extension_with_no_contact(tmp_path):
    text = personal(tmp_path)
    assert f'modparam("sqlops", "sqlcon", "personal=>sqlite://{tmp_path}/ccsim.db")' in text
    assert 'if (is_method("INVITE")) route(PERSONAL);' in text
    # a contact's INVITE (queue, campaign, consult) and one forwarded already are left alone
    assert ('if (uri != myself || is_present_hf("X-CC-Contact-Id") || '
            'is_present_hf("X-CC-Token")\n      || is_present_hf("Diversion")') in text
    # the forwarding table: no row, not an agent's extension, routed as before
    assert ('"SELECT always, busy, no_answer, no_answer_s FROM forwarding WHERE ext = "'
            in text)
    assert '!= 1) return;' in text
    # always: the INVITE goes there; else the phone rings no_answer_s, then failure_route
    assert ('if ($var(always) != "") { $var(to) = $var(always); $var(why) = "unconditional"; '
            'route(DIVERT); }') in text
    assert "t_set_fr($var(ring_ms), $var(ring_ms));" in text
    assert 't_on_failure("PERSONAL");' in text
    assert "if (t_is_canceled()) exit;" in text
    assert ('if (t_check_status("486|600|603")) { $var(to) = $avp(pc_busy); '
            '$var(why) = "user-busy"; }') in text
    assert ('else if (t_check_status("408|480")) { $var(to) = $avp(pc_no_answer); '
            '$var(why) = "no-answer"; }') in text
    # no phone registered: the no-answer target
    assert "if ($avp(pc_ext) != $null) route(UNREACHABLE);" in text
    assert ('append_hf("Diversion: <sip:$avp(pc_ext)@127.0.0.1:5062>;reason=$var(why)\\r\\n");'
            in text)
    # without voicemail nothing goes there: the failure reaches the caller
    assert "route(VOICEMAIL)" not in text and "X-Voicemail" not in text.replace(
        'remove_hf("X-Voicemail-For");\n  remove_hf("X-Voicemail-Box");', "")


def test_with_voicemail_what_is_not_taken_goes_to_the_box_and_the_number_reaches_ones_own(
        tmp_path):
    text = personal(tmp_path, voicemail_user="vm", voicemail_number="*86")
    assert ('  if ($var(to) != "") route(DIVERT);\n  route(VOICEMAIL);\n}') in text
    assert 'if ($var(to) == "*86") route(VOICEMAIL);' in text       # forwarded to voicemail
    assert ('route[VOICEMAIL] {\n  append_hf("X-Voicemail-For: $avp(pc_ext)\\r\\n");\n'
            '  route(DIVERSION);\n  $ru = "sip:vm@127.0.0.1:5062";') in text
    assert 'send_reply("480", "Voicemail Unavailable")' in text
    # the caller's own box: whom the digest authenticated, never a header it brought
    assert 'remove_hf("X-Voicemail-For");\n  remove_hf("X-Voicemail-Box");' in text
    assert ('if ($rU == "*86" && uri == myself) {\n'
            '    append_hf("X-Voicemail-Box: $fU\\r\\n"); $rU = "vm"; return;') in text


@pytest.mark.parametrize("kw, error", [
    ({"voicemail_user": "voice mail"}, "voicemail_user"),
    ({"voicemail_user": "vm", "voicemail_number": "*9#"}, "voicemail_number"),
    ({"rtp_relay": (HOST, 7722)}, "media relay"),
])
def test_mistakes_are_refused(tmp_path, kw, error):
    with pytest.raises(KamailioError, match=error):
        personal(tmp_path, **kw)
    with pytest.raises(KamailioError, match="quotes"):
        config(tmp_path, personal_db=tmp_path / 'a"b.db')


def test_the_database_is_made_in_wal_mode_and_kept_as_it_is(tmp_path):
    db = tmp_path / "sub" / "ccsim.db"
    wal_database(db)
    with sqlite3.connect(db) as c:
        assert c.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        c.execute("CREATE TABLE t (x)")
        c.execute("INSERT INTO t VALUES (1)")
    wal_database(db)                                    # already there: untouched
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT x FROM t").fetchall() == [(1,)]


@pytest.mark.skipif(not (shutil.which(KAMAILIO) or os.path.exists(KAMAILIO))
                    or not sqlite_module(), reason="kamailio and kamailio-sqlite-modules")
@pytest.mark.parametrize("kw", [{}, {"personal_db": True},
                                {"personal_db": True, "voicemail_user": "voicemail"}])
def test_kamailio_takes_the_config(tmp_path, kw):
    if kw.get("personal_db"):
        kw = {**kw, "personal_db": tmp_path / "ccsim.db"}
    cfg = tmp_path / "kamailio.cfg"
    cfg.write_text(config(tmp_path, **kw))
    check = subprocess.run([KAMAILIO, "-c", "-f", str(cfg)], capture_output=True, text=True,
                           timeout=30)
    assert check.returncode == 0, check.stderr[-2000:]
