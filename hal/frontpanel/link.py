"""PanelLink: the Pi's end of the front-panel UART (frames in hal/frontpanel/fpcodec.py).

One thread reads the port and keeps time: a PING every ``heartbeat_ms``, a command not acked
in ``RETRY_S`` sent again, the panel lost when nothing valid came for ``lost_ms``. The port is
opened again whenever it fails (a USB adapter pulled, the sim's pty gone).

What the panel should show (LCD rows as ROM codes, glyphs, LED modes, backlight) is state,
kept here as *wanted* next to what the panel has *acked*; one command at a time carries the
difference, so after a reset or a lost link (acked state forgotten) the whole of it goes
again. Events from the panel are taken in sequence and acked; a duplicate is acked and
dropped, so no key press is acted on twice.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import serial

from ..lcd import changed_runs
from . import fpcodec as fp

log = logging.getLogger("hal.frontpanel")

RETRY_S = 0.1
READ_TIMEOUT_S = 0.01
REOPEN_S = 0.2
BAD_LOG_EVERY_S = 1.0


class PanelLink:
    def __init__(self, port: str, baud: int, rows: int, cols: int, leds: int,
                 heartbeat_ms: int = 200, lost_ms: int = 1000):
        self.port, self.baud = port, baud
        self.rows, self.cols = rows, cols
        self.heartbeat_s, self.lost_s = heartbeat_ms / 1000, lost_ms / 1000
        self.when_event: Callable[[int, int], None] | None = None     # (kind, key index)
        self.when_hook: Callable[[bool], None] | None = None          # the panel's hook state
        self.when_up: Callable[[bool], None] | None = None            # link up / lost
        self._cond = threading.Condition()
        self._ser: serial.Serial | None = None
        self._decoder = fp.Decoder()
        self.up = False
        self.boot_id: int | None = None
        self.version = ""
        self._expected = 0                  # the next event seq taken
        self._last_rx = time.monotonic()
        self._last_ping = 0.0
        # wanted and acked state (None: not known to be on the panel)
        self._lcd: list[bytes] = [b" " * cols for _ in range(rows)]
        self._lcd_acked: list[bytes | None] = [None] * rows
        self._glyphs: dict[int, bytes] = {}
        self._glyphs_acked: dict[int, bytes] = {}
        self._leds = bytes(leds)
        self._leds_acked: bytes | None = None
        self._backlight = True
        self._backlight_acked: bool | None = None
        self._seq = 0
        self._outstanding: tuple[int, int, bytes, Callable[[], None]] | None = None
        self._sent_at = 0.0
        self.stats = {"bad_frames": 0, "duplicates": 0, "gaps": 0, "resends": 0, "lost": 0,
                      "resets": 0, "events": 0, "commands": 0, "cells": 0}
        self._last_bad_log = 0.0
        self._open_error: str | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="frontpanel-link", daemon=True)

    def start(self):
        self._thread.start()

    # -- what the panel should show (any thread) --------------------------------------------
    def set_lcd(self, rows: list[bytes]):
        with self._cond:
            self._lcd = [bytes(r[: self.cols]).ljust(self.cols, b" ") for r in rows[: self.rows]]
            self._pump()

    def set_glyph(self, slot: int, bitmap: bytes):
        with self._cond:
            self._glyphs[slot] = bytes(bitmap[:8]).ljust(8, b"\x00")
            self._pump()

    def set_leds(self, modes: bytes):
        with self._cond:
            self._leds = bytes(modes)
            self._pump()

    def set_backlight(self, on: bool):
        with self._cond:
            self._backlight = bool(on)
            self._pump()

    def lcd_acked(self) -> list[bytes | None]:
        with self._cond:
            return list(self._lcd_acked)

    def wait_idle(self, timeout: float | None = 2.0) -> bool:
        """Until the panel has acked everything wanted, or the link is down (nothing to wait
        for: it all goes again when the panel is back)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self.up or (self._outstanding is None
                                                               and self._next() is None),
                                       timeout)

    def wait_up(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self.up, timeout)

    # -- commands ---------------------------------------------------------------------------
    def _next(self) -> tuple[int, bytes, Callable[[], None]] | None:
        """The next command that brings the panel closer to the wanted state, with what to
        note as acked when it is done."""
        for slot, bitmap in sorted(self._glyphs.items()):
            if self._glyphs_acked.get(slot) != bitmap:
                return fp.GLYPH, bytes((slot,)) + bitmap, \
                    lambda s=slot, b=bitmap: self._glyphs_acked.__setitem__(s, b)
        if self._backlight_acked != self._backlight:
            on = self._backlight
            return fp.BACKLIGHT, bytes((on,)), lambda: setattr(self, "_backlight_acked", on)
        if self._leds_acked != self._leds:
            leds = self._leds
            return fp.LEDS, leds, lambda: setattr(self, "_leds_acked", leds)
        runs: list[tuple[int, int, bytes]] = []
        size = 0
        for r, (want, have) in enumerate(zip(self._lcd, self._lcd_acked)):
            if have == want:
                continue
            row_runs = ([(0, want)] if have is None else
                        [(c, t.encode("latin-1")) for c, t in
                         changed_runs(have.decode("latin-1"), want.decode("latin-1"))])
            for col, codes in row_runs:
                if size + 3 + len(codes) > fp.MAX_PAYLOAD:
                    break
                runs.append((r, col, codes))
                size += 3 + len(codes)
        if not runs:
            return None

        def done(runs=runs):
            for r, col, codes in runs:
                old = self._lcd_acked[r]
                if old is None:                   # a whole row went
                    self._lcd_acked[r] = codes
                else:
                    self._lcd_acked[r] = old[:col] + codes + old[col + len(codes):]
                self.stats["cells"] += len(codes)
        return fp.LCD, fp.lcd_payload(runs), done

    def _pump(self):
        """Send the next command if none is outstanding (holding the lock)."""
        if self._outstanding is not None or not self.up:
            return
        nxt = self._next()
        if nxt is None:
            self._cond.notify_all()
            return
        kind, payload, done = nxt
        self._seq = (self._seq + 1) % fp.SEQ_MOD
        self._outstanding = (self._seq, kind, payload, done)
        self._sent_at = time.monotonic()
        self._send(kind, self._seq, payload)

    def _forget_panel(self):
        """What the panel shows is not known any more: everything goes again."""
        self._lcd_acked = [None] * self.rows
        self._glyphs_acked = {}
        self._leds_acked = None
        self._backlight_acked = None
        self._outstanding = None

    # -- the wire ---------------------------------------------------------------------------
    def _send(self, kind: int, seq: int = 0, payload: bytes = b""):
        ser = self._ser
        if ser is None:
            return
        try:
            ser.write(fp.encode(kind, seq, payload))
        except (OSError, serial.SerialException) as e:
            self._port_failed(e)

    def inject(self, data: bytes):
        """Raw bytes onto the line towards the panel (tests: garbage)."""
        with self._cond:
            if self._ser is not None:
                self._ser.write(data)

    def _port_failed(self, e):
        log.warning("front panel port %s: %s", self.port, e)
        ser, self._ser = self._ser, None
        if ser is not None:
            try:
                ser.close()
            except (OSError, serial.SerialException):
                pass

    def _open(self) -> bool:
        try:
            ser = serial.Serial(self.port, self.baud, timeout=READ_TIMEOUT_S, write_timeout=1)
        except (OSError, serial.SerialException) as e:
            if self._open_error != str(e):
                self._open_error = str(e)
                log.warning("front panel port %s: %s (trying again)", self.port, e)
            return False
        if self._open_error is not None:
            log.info("front panel port %s open again", self.port)
        self._open_error = None
        with self._cond:
            self._ser = ser
            self._decoder = fp.Decoder()
        return True

    def _run(self):
        while not self._closed:
            if self._ser is None and not self._open():
                with self._cond:
                    self._timers(time.monotonic())
                time.sleep(REOPEN_S)
                continue
            ser = self._ser
            try:
                data = ser.read(max(1, ser.in_waiting)) if ser is not None else b""
            except (OSError, serial.SerialException, TypeError) as e:
                with self._cond:
                    if self._ser is ser:
                        self._port_failed(e)
                continue
            now = time.monotonic()
            with self._cond:
                if data:
                    self._receive(data, now)
                self._timers(now)

    def _receive(self, data: bytes, now: float):
        bad = self._decoder.bad
        frames = self._decoder.feed(data)
        if self._decoder.bad != bad:
            self.stats["bad_frames"] += self._decoder.bad - bad
            if now - self._last_bad_log >= BAD_LOG_EVERY_S:
                self._last_bad_log = now
                log.warning("front panel link: bad frame dropped (%s), %d so far",
                            self._decoder.last_error, self.stats["bad_frames"])
        for kind, seq, payload in frames:
            self._last_rx = now
            try:
                self._handle(kind, seq, payload)
            except fp.FrameError as e:
                self.stats["bad_frames"] += 1
                log.warning("front panel link: bad frame dropped (%s)", e)

    def _handle(self, kind: int, seq: int, payload: bytes):
        if kind == fp.HELLO:
            self._hello(*fp.parse_hello(payload))
        elif kind == fp.EVENT:
            self._event(seq, payload)
        elif kind == fp.ACK:
            out = self._outstanding
            if out is not None and out[0] == seq:
                self._outstanding = None
                out[3]()
                self.stats["commands"] += 1
                self._pump()
        else:
            log.warning("front panel link: unknown frame type %d", kind)

    def _hello(self, boot_id, first_unacked, hook, bad_frames, why, version):
        if boot_id != self.boot_id:
            if self.boot_id is not None:
                self.stats["resets"] += 1
                log.warning("front panel reset (boot id %08x, was %08x): sending it all again",
                            boot_id, self.boot_id)
            self.boot_id, self._expected = boot_id, first_unacked
            self._forget_panel()
        elif fp.seq_newer(first_unacked, self._expected):
            self._expected = first_unacked     # it dropped events while it could not send
        self.version = version
        came_up = not self.up
        if came_up:
            self.up = True
            self._forget_panel()
            log.info("front panel up: version %s, boot id %08x, %d bad frames on its side",
                     version, boot_id, bad_frames)
        if self.when_hook is not None:
            self.when_hook(hook)
        if came_up and self.when_up is not None:
            self.when_up(True)
        self._pump()
        self._cond.notify_all()

    def _event(self, seq: int, payload: bytes):
        if not self.up or len(payload) < 2:
            return                            # the HELLO first (it says where the seqs are)
        if seq == self._expected:
            self._expected = (seq + 1) % fp.SEQ_MOD
            self.stats["events"] += 1
            if self.when_event is not None:
                self.when_event(payload[0], payload[1])
        elif fp.seq_newer(seq, self._expected):
            self.stats["gaps"] += 1
        else:
            self.stats["duplicates"] += 1
        self._send(fp.EVACK, (self._expected - 1) % fp.SEQ_MOD)

    def _timers(self, now: float):
        if now - self._last_ping >= self.heartbeat_s:
            self._last_ping = now
            self._send(fp.PING)
        if self.up and now - self._last_rx > self.lost_s:
            self.up = False
            self.stats["lost"] += 1
            self._forget_panel()
            log.warning("Front panel lost: no answer for %d ms", self.lost_s * 1000)
            if self.when_up is not None:
                self.when_up(False)
            self._cond.notify_all()
        out = self._outstanding
        if out is not None and now - self._sent_at >= RETRY_S:
            self._sent_at = now
            self.stats["resends"] += 1
            self._send(out[1], out[0], out[2])

    def close(self):
        self._closed = True
        if self._thread.is_alive():
            self._thread.join(timeout=1)
        with self._cond:
            if self._ser is not None:
                self._ser.close()
                self._ser = None
