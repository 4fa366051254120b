"""The front panel's firmware: keypad, hook switch, LEDs and an HD44780 LCD on a small
microcontroller, driven by the Pi over a framed, checksummed UART link (fpcodec).

One loop, no threads: read the UART, scan the keys and the hook, blink the LEDs, keep the link
(events sent until acked, a HELLO for each PING, the lost screen when the Pi goes quiet).
The board (pins, LCD) is data: a JSON file the Pi's board file is turned into
(``python -m tools.frontpanel build --board NAME``).
"""
import json
import os
import time

import fpcodec as fp
import logging
import machine
from hd44780 import Hd44780
from keyscan import DOWN, LONG, UP, Hook, Matrix

VERSION = "1.0.0"
RETRY_MS = 100          # an event not acked by then is sent again
HELLO_MS = 500          # while the Pi is not heard: a HELLO this often
MAX_EVENTS = 32         # events held for the Pi; more are dropped (and logged)
BLINK_MS = 250          # 2 Hz, as the Pi's own LEDs blink
IDLE_MS = 20            # nothing pressed: how long the loop may sleep
HOOK_DEBOUNCE_MS = 20

KIND = {DOWN: fp.KEY_DOWN, UP: fp.KEY_UP, LONG: fp.KEY_LONG}

log = logging.getLogger("frontpanel")


def load_config(path):
    with open(path) as f:
        return json.load(f)


def boot_id():
    try:
        b = os.urandom(4)
        return b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24
    except (AttributeError, OSError):
        return time.ticks_us() & 0xFFFFFFFF


class Leds:
    def __init__(self, pins):
        self.pins = [machine.Pin(p, machine.Pin.OUT, value=0) for p in pins]
        self.modes = [fp.MODE_OFF] * len(pins)
        self.since = 0

    def set(self, modes, now):
        if list(modes) != self.modes:
            self.since = now          # a new pattern: blinking LEDs start lit, in step
        self.modes = list(modes)[: len(self.pins)] + self.modes[len(modes):]
        self.update(now)

    def update(self, now):
        lit = (time.ticks_diff(now, self.since) // BLINK_MS) % 2 == 0
        for pin, mode in zip(self.pins, self.modes):
            pin.value(1 if mode == fp.MODE_ON or (mode == fp.MODE_BLINK and lit) else 0)


class Panel:
    def __init__(self, cfg, uart, i2c, now=None):
        self.cfg = cfg
        self.uart = uart
        lcd = cfg["lcd"]
        self.cols = lcd["cols"]
        self.lcd = Hd44780(i2c, lcd["address"], lcd["cols"], lcd["rows"], lcd.get("e2_bit"))
        self.matrix = Matrix(cfg["rows"], cfg["cols"], cfg.get("debounce_scans", 2),
                             cfg.get("long_press_ms", 800))
        self.hook = Hook(cfg["hook"], HOOK_DEBOUNCE_MS)
        self.leds = Leds(cfg["leds"])
        self.scan_ms = max(1, int(cfg.get("scan_interval_ms", 4)))
        self.lost_ms = cfg.get("lost_ms", 1000)
        self.decoder = fp.Decoder()
        self.boot_id = boot_id()
        self.next_seq = 0
        self.events = []          # (seq, kind, key) not yet acked, oldest first
        now = time.ticks_ms() if now is None else now
        self.heard = False        # a frame from the Pi within lost_ms
        self.lost_shown = False
        self.last_rx = now
        self.last_hello = now
        self.last_event_tx = now
        self.dropped_events = 0
        self.commands = 0
        log.info("front panel %s up, boot id %08x", VERSION, self.boot_id)
        self.hello(fp.WHY_BOOT)

    # -- to the Pi ------------------------------------------------------------------------
    def send(self, kind, seq=0, payload=b""):
        self.uart.write(fp.encode(kind, seq, payload))

    def first_unacked(self):
        return self.events[0][0] if self.events else self.next_seq

    def hello(self, why):
        self.send(fp.HELLO, 0, fp.hello_payload(self.boot_id, self.first_unacked(),
                                                 self.hook.lifted, self.decoder.bad, why,
                                                 VERSION))

    def event(self, kind, key, now):
        if self.lost_shown:
            # the agent sees "Front panel lost": a key pressed now is not acted on later
            # (the hook's state goes with every HELLO)
            self.dropped_events += 1
            return
        if len(self.events) >= MAX_EVENTS:
            self.dropped_events += 1
            log.warning("event queue full: dropped kind %d key %d", kind, key)
            return
        seq = self.next_seq
        self.next_seq = (self.next_seq + 1) % fp.SEQ_MOD
        self.events.append((seq, kind, key))
        if self.heard:
            if len(self.events) == 1:
                self.last_event_tx = now          # the resend timer runs from the oldest
            self.send(fp.EVENT, seq, bytes((kind, key)))

    # -- from the Pi ----------------------------------------------------------------------
    def receive(self, now):
        data = self.uart.read(256)
        while data:
            bad = self.decoder.bad
            for kind, seq, payload in self.decoder.feed(data):
                self.handle(kind, seq, payload, now)
            if self.decoder.bad != bad:
                log.warning("bad frame from the Pi (%s), %d so far", self.decoder.last_error,
                            self.decoder.bad)
            data = self.uart.read(256)

    def handle(self, kind, seq, payload, now):
        self.last_rx = now
        if not self.heard:
            self.heard, self.lost_shown = True, False    # the Pi sends its screen again
            log.info("the Pi is heard")
        if kind == fp.PING:
            self.hello(fp.WHY_PONG)
        elif kind == fp.EVACK:
            self.events = [e for e in self.events if fp.seq_newer(e[0], seq)]
        elif kind in (fp.LCD, fp.LEDS, fp.BACKLIGHT, fp.GLYPH):
            try:
                self.command(kind, payload, now)
            except (ValueError, IndexError) as e:
                log.warning("bad command %d: %s", kind, e)
                return
            self.commands += 1
            self.send(fp.ACK, seq)
        else:
            log.warning("unknown frame type %d", kind)

    def command(self, kind, payload, now):
        if kind == fp.LCD:
            for row, col, codes in fp.parse_lcd(payload):
                self.lcd.write(row, col, codes)
        elif kind == fp.LEDS:
            self.leds.set(list(payload), now)
        elif kind == fp.BACKLIGHT:
            self.lcd.set_backlight(bool(payload[0]))
        elif kind == fp.GLYPH:
            self.lcd.glyph(payload[0], payload[1:9])

    # -- the loop ---------------------------------------------------------------------------
    def step(self, now):
        """One turn of the loop; how long it may sleep before the next."""
        self.receive(now)
        scanning = self.matrix.active
        if scanning:
            for kind, key in self.matrix.tick(now):
                self.event(KIND[kind], key, now)
        hook = self.hook.tick(now)
        if hook is not None:
            self.event(fp.HOOK_LIFTED if hook else fp.HOOK_REPLACED, 0, now)
        self.leds.update(now)
        self.keep_link(now)
        return self.scan_ms if scanning or self.hook.active else IDLE_MS

    def keep_link(self, now):
        if self.heard and time.ticks_diff(now, self.last_rx) > self.lost_ms:
            self.heard = False
            log.warning("the Pi is not heard for %d ms", self.lost_ms)
        if not self.heard:
            if not self.lost_shown and time.ticks_diff(now, self.last_rx) > self.lost_ms:
                self.show_lost(now)
            if time.ticks_diff(now, self.last_hello) >= HELLO_MS:
                self.last_hello = now
                self.hello(fp.WHY_LOST)
            return
        if self.events and time.ticks_diff(now, self.last_event_tx) >= RETRY_MS:
            self.last_event_tx = now
            for seq, kind, key in self.events[:8]:
                self.send(fp.EVENT, seq, bytes((kind, key)))

    def show_lost(self, now):
        """The Pi is gone: say so on the glass, LEDs off, and forget the keys pressed since
        (nothing acts on them later); the hook state goes with each HELLO."""
        self.lost_shown = True
        if self.events:
            log.warning("dropping %d events the Pi did not take", len(self.events))
            self.events = []
        text = fp.LOST_TEXT
        row0 = (" " * ((self.cols - len(text)) // 2) + text).encode()
        self.lcd.clear()
        self.lcd.write(0, 0, row0)
        self.leds.set([fp.MODE_OFF] * len(self.leds.pins), now)

    def run(self):
        wait = getattr(machine, "wait_io", None)     # the unix port's shim blocks on its fds
        while True:
            pause = self.step(time.ticks_ms())
            if wait is not None:
                wait(pause)
            else:
                time.sleep_ms(min(pause, self.scan_ms))


def main(config_path="board.json"):
    cfg = load_config(config_path)
    handler = logging.StreamHandler()            # stderr: the USB REPL on the MCU
    handler.setFormatter(logging.Formatter("frontpanel %(levelname)s %(message)s"))
    log.addHandler(handler)                      # micropython-lib's logging: no propagation
    u = cfg.get("uart", {})
    kwargs = {}
    if "tx" in u:
        kwargs["tx"], kwargs["rx"] = machine.Pin(u["tx"]), machine.Pin(u["rx"])
    uart = machine.UART(u.get("id", 0), u.get("baud", 115200), **kwargs)
    i = cfg.get("i2c", {})
    kwargs = {}
    if "sda" in i:
        kwargs["sda"], kwargs["scl"] = machine.Pin(i["sda"]), machine.Pin(i["scl"])
    i2c = machine.I2C(i.get("id", 0), freq=cfg["lcd"].get("bus_hz", 100000), **kwargs)
    Panel(cfg, uart, i2c).run()
