"""Wideband calls end to end: agent 1001's phone on a sim board whose audio runs at 16 kHz
offers G.722 (then Opus, then G.711). A wideband customer (a customers process of the test's
own, through the lab's proxy) gets G.722 and hears the agent's 6 kHz tone, which no 8 kHz
call can carry, and the agent hears the customer's in the handset; a narrowband (PCMU only)
customer still gets a working call to the same phone. The console's ``calls`` names the
codec; the customer's ``audio`` reports say it too."""
from pathlib import Path

import numpy as np
import pytest

from tools.lab import Desk

ROOT = Path(__file__).resolve().parents[2]
RATE = 16000


def board_at_16k(tmp_path: Path) -> str:
    """board/sim with its audio at 16 kHz."""
    text = (ROOT / "board" / "sim" / "board.toml").read_text()
    assert "[audio]\nrate = 8000\n" in text
    path = tmp_path / "sim-16k" / "board.toml"
    path.parent.mkdir()
    path.write_text(text.replace("[audio]\nrate = 8000\n", f"[audio]\nrate = {RATE}\n"))
    return str(path)


def say(desk: Desk, hz: float) -> None:
    """The agent speaks ``hz`` into the handset's mic (the board's rate) for a minute."""
    audio = desk.phone.workdir / "state" / "run" / "audio"
    audio.mkdir(parents=True, exist_ok=True)
    t = np.arange(60 * RATE) / RATE
    (audio / "mic.raw").write_bytes((0.3 * 32767 * np.sin(2 * np.pi * hz * t))
                                    .astype("<i2").tobytes())


def handset_hz(desk: Desk, seconds: float = 0.5) -> int | None:
    """The loudest frequency of the last ``seconds`` the handset played (16 kHz samples)."""
    raw = desk.phone.workdir / "state" / "run" / "audio" / "handset.raw"
    if not raw.exists() or raw.stat().st_size < seconds * RATE * 2:
        return None
    pcm = np.frombuffer(raw.read_bytes()[-int(seconds * RATE) * 2:], dtype="<i2")
    if np.abs(pcm).max() < 300:                  # silence: no pitch
        return None
    spectrum = np.abs(np.fft.rfft(pcm * np.hanning(len(pcm))))
    return int(round(np.argmax(spectrum) * RATE / len(pcm) / 10) * 10)


def call(lab, desk: Desk, customers, contact: str, agent_hz: int, customer_hz: int) -> dict:
    """A customer playing ``customer_hz`` calls the agent, who answers saying ``agent_hz``;
    returns the customer's first report of hearing it, once the agent has heard the customer
    in the handset too."""
    say(desk, agent_hz)
    customers.send(op="dial", contact=contact, to=lab.extension_uri("1001"),
                   ani="+15550007777", personal=True, talk_s=30, hz=customer_hz)
    desk.wait_lcd("+15550007777")
    desk.hook(True)
    heard = customers.wait(lambda e: e.get("contact") == contact and e["event"] == "audio"
                           and abs(agent_hz - (e["hz"] or 0)) < agent_hz * 0.03, timeout=15)
    lab.wait_for(lambda: (handset_hz(desk) or 0) == customer_hz, timeout=10,
                 desc=f"the customer's {customer_hz} Hz in the handset")
    return heard


def hang_up(lab, desk: Desk, customers, contact: str) -> None:
    desk.hook(False)
    customers.wait(lambda e: e.get("contact") == contact and e["event"] == "ended")
    lab.wait_for(lambda: desk.status()["calls"] == "0", desc="the call over")


@pytest.mark.parametrize("codecs,hz,codec,rate", [
    # a wideband customer and the agent hear each other's 6 kHz over G.722
    ("g722,pcmu", 6000, "g722/16000", RATE),
    # a narrowband customer still talks to a 16 kHz phone, over PCMU
    ("pcmu", 1000, "pcmu/8000", 8000),
], ids=["wideband-g722", "narrowband-pcmu"])
def test_a_16_khz_phone_talks_with_wideband_and_narrowband_customers(lab, tmp_path, codecs, hz,
                                                                     codec, rate):
    desk = Desk(lab.phone("1001", board=board_at_16k(tmp_path)))
    customers = lab.customers_process("--codecs", codecs)
    try:
        desk.wait_status(agent="IDLE", cc="up", sip="registered")
        heard = call(lab, desk, customers, codec, agent_hz=hz, customer_hz=hz)
        assert (heard["codec"], heard["rate"]) == (codec, rate)
        assert [c["codec"] for c in desk.calls()] == [codec]
        hang_up(lab, desk, customers, codec)
    finally:
        customers.close()
        desk.close()
