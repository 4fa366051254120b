"""[sip] jitter_buffer_ms and jitter_buffer_max_ms: the received audio's playout delay the SIP
stack is configured with, and how far it may grow on a jittery network
(tests/integration/test_rtprelay.py checks what baresip reports on one)."""
import pytest

from firmware.app.config import ConfigError, load_config
from firmware.sip.config import SipConfig, problems
from firmware.sip.stack import jitter_buffer_lines


def test_by_default_audio_plays_30_ms_after_it_arrives_and_may_wait_up_to_160():
    c = SipConfig(user="1001", domain="127.0.0.1")
    assert c.jitter_buffer_ms == 30 and not problems(c)
    assert jitter_buffer_lines(c) == ("audio_jitter_buffer_type adaptive\n"
                                      "audio_jitter_buffer_ms 30-160\n")


def test_a_fixed_wait_when_the_ceiling_is_the_wait():
    c = SipConfig(user="1001", domain="127.0.0.1", jitter_buffer_max_ms=30)
    assert jitter_buffer_lines(c) == ("audio_jitter_buffer_type fixed\n"
                                      "audio_jitter_buffer_ms 30-200\n")


def test_a_longer_delay_for_a_worse_network_keeps_room_above_it():
    c = SipConfig(user="1001", domain="127.0.0.1", jitter_buffer_ms=300)
    assert not problems(c)
    assert jitter_buffer_lines(c).endswith("audio_jitter_buffer_ms 300-300\n")


@pytest.mark.parametrize("ceiling", [20, 1001])
def test_a_ceiling_below_the_wait_or_past_a_second_is_named(ceiling):
    found = dict(problems(SipConfig(user="1001", domain="127.0.0.1",
                                    jitter_buffer_max_ms=ceiling)))
    assert found["jitter_buffer_max_ms"] == (f"must be jitter_buffer_ms (30) to 1000 ms, "
                                             f"got {ceiling}")


@pytest.mark.parametrize("value", [0, 19, 1001, -40])
def test_a_delay_the_stack_cannot_keep_is_named(value):
    found = dict(problems(SipConfig(user="1001", domain="127.0.0.1", jitter_buffer_ms=value)))
    assert found["jitter_buffer_ms"] == f"must be 20-1000 ms, got {value}"


@pytest.mark.parametrize("line,problem", [
    ("jitter_buffer_ms = 5", "must be 20-1000 ms, got 5"),
    ('jitter_buffer_ms = "40"', "expected int, got '40'"),
    ("jitter_buffer_ms = 40.5", "expected int, got 40.5"),
])
def test_the_config_file_refuses_a_bad_jitter_buffer_with_its_field(tmp_path, line, problem):
    p = tmp_path / "phone.toml"
    p.write_text(f'[sip]\nuser = "1001"\ndomain = "127.0.0.1"\n{line}\n')
    with pytest.raises(ConfigError, match="sip.jitter_buffer_ms") as e:
        load_config(str(p))
    assert problem in str(e.value)


def test_the_config_file_sets_it(tmp_path):
    p = tmp_path / "phone.toml"
    p.write_text('[sip]\nuser = "1001"\ndomain = "127.0.0.1"\njitter_buffer_ms = 80\n'
                 'jitter_buffer_max_ms = 240\n')
    sip = load_config(str(p)).sip
    assert (sip.jitter_buffer_ms, sip.jitter_buffer_limit_ms) == (80, 240)
