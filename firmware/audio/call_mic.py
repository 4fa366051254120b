"""The agent's voice: the mic of the route in use, read one 20 ms period at a time by a thread
of its own and handed to the call while the agent talks on it (not held, not muted).

The mic is open only while it is needed, so nothing records between calls, and a dead mic is
retried quietly without ever holding up the call or the phone's loop. Each mic's periods go
through its cleanup (cleanup.py: the echo of what the speaker plays taken out, and the floor's
noise when ``noise_removal`` is on), then its level control (level.py); both are kept from
call to call: the desk and the agent's voice are the same. Each mic's card clock is measured
against the host's, which the call's packets keep to, from when its periods arrive
(drift.py, ``clocks``: the console's ``card_ppm``), and once known the voice is resampled to
the call's clock (``ClockFollower``), so a fast or slow card neither piles up periods in the
call nor runs it dry."""
from __future__ import annotations

import logging
import threading
import time

from .cleanup import MicCleanup, Played
from .cleanup import available as cleanup_available
from .drift import MIC_HEARING, CardClock, ClockFollower
from .level import LevelControl

log = logging.getLogger("hardphone.audio")

RETRY_S = 1.0                # a mic that failed is tried again this often


class CallMic:
    def __init__(self, devices, send, level_control: bool = True,
                 played: Played | None = None, clocks: dict[str, CardClock] | None = None):
        """``send(call, samples)`` takes each period (mono S16_LE at the board's rate) on this
        class's thread, as it is spoken; through the mic's level control unless
        ``level_control`` is False (the samples exactly as read). ``played``: what the
        speaker plays (CallAudio.played), whose echo is taken out of the mic. ``clocks``:
        each mic route's card clock, measured here."""
        self._devices, self._send = devices, send
        self.level_control = level_control
        self._played = played
        self.noise_removal = False       # remove the floor's noise from the agent's voice
        self._cleanups: dict[str, MicCleanup] = {}     # mic route -> its cleanup
        self.clocks = clocks if clocks is not None else {}
        self._target: tuple[str, str] | None = None       # (call, mic route)
        self._wake = threading.Condition()
        self._closing = False
        self._levels: dict[str, LevelControl] = {}     # mic route -> its level control
        self._follower = ClockFollower("call mic")     # the open mic's card -> the call's clock
        self._thread = threading.Thread(target=self._run, name="call-mic", daemon=True)
        self._thread.start()

    @property
    def following(self) -> bool:
        """The voice is resampled to follow the open mic's drifting card."""
        return self._follower.active

    @property
    def jitter_s(self) -> float:
        """How late the host hands the open mic's periods over (CardClock.jitter_s)."""
        target = self._target
        clock = self.clocks.get(target[1]) if target is not None else None
        return clock.jitter_s if clock is not None else 0.0

    def to(self, target: tuple[str, str] | None):
        """(call, mic route) to speak into from now on; None closes the mic."""
        if target == self._target:
            return
        with self._wake:
            self._target = target
            self._wake.notify()

    def close(self):
        with self._wake:
            self._closing, self._target = True, None
            self._wake.notify()
        self._thread.join(2)

    def _next_target(self, stream):
        """The target, once there is one; the mic is closed while there is none."""
        with self._wake:
            if self._target is None and stream is not None:
                stream.close()
                stream = None
                if self._played is not None:
                    p = self._played
                    log.info("echo reference: %d periods, %d found nothing played, %d cut",
                             p.heard, p.missed, p.cut)
            while self._target is None and not self._closing:
                self._wake.wait()
            return self._target, stream

    def _run(self):
        stream, failing = None, ""
        while True:
            target, stream = self._next_target(stream)
            if target is None:
                break
            call, route = target
            try:
                if stream is not None and stream.route != route:
                    stream.close()
                    stream = None
                if stream is None:
                    stream = self._devices.audio.open_capture(route)
                    if route in self._cleanups:
                        self._cleanups[route].restart()
                    self._clock(route).restart()
                    self._follower = ClockFollower(f"call mic on {route}")
                samples = stream.read()
                self._clock(route).arrived(time.monotonic(), len(samples) // 2)
            except Exception as e:             # noqa: BLE001 - a mic fault must not end calls
                if str(e) != failing:
                    log.error("call mic on %s: %s (the customer hears silence)", route, e)
                    failing = str(e)
                if stream is not None:
                    stream.close()
                    stream = None
                with self._wake:
                    self._wake.wait(RETRY_S)
                continue
            if failing:
                log.info("call mic on %s works again", route)
                failing = ""
            played_on, played = self._played.take() if self._played else (None, b"")
            if played_on is not None and MIC_HEARING.get(played_on) != route:
                played_on = None               # played where this mic doesn't hear it
            if self._target == target:         # not muted, held or ended while it was read
                try:
                    if (played_on is not None or self.noise_removal) and cleanup_available():
                        samples = self._cleanup(route).process(samples, played_on, played,
                                                               self.noise_removal)
                    if self.level_control:
                        samples = self._levels.setdefault(route, LevelControl()).process(samples)
                    # at the call's pace: periods come out a sample or so short or long
                    samples = self._follower.follow(samples, self._clock(route).drift)
                    self._send(call, samples)
                except Exception:
                    log.exception("call %s: the agent's voice not sent", call)
        if stream is not None:
            stream.close()

    def _clock(self, route: str) -> CardClock:
        if route not in self.clocks:
            self.clocks[route] = CardClock(self._devices.audio.rate)
        return self.clocks[route]

    def _cleanup(self, route: str) -> MicCleanup:
        if route not in self._cleanups:
            audio = self._devices.audio
            delay = round(getattr(audio, "echo_delay_ms", 0) / 20)
            self._cleanups[route] = MicCleanup(audio.rate, audio.period_frames * 2, delay,
                                               getattr(audio, "echo_coupling_db", 0.0))
        return self._cleanups[route]
