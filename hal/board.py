"""Board files: the data that describes one kind of phone hardware.

A board is data, not code (board/<name>/board.toml). ``load_board`` checks every field once,
so drivers can trust what they get, and names the file and field when something is wrong.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .charset import ROMS
from .errors import BoardError
from .keypad import KEY_NAMES

BOARDS_DIR = Path(__file__).resolve().parent.parent / "board"
BACKENDS = ("sim", "rpi", "frontpanel")   # frontpanel: keys, hook, LEDs, LCD on a UART MCU
LED_NAMES = ("line", "mwi", "mute", "headset", "speaker")
AUDIO_ROUTES = ("handset", "headset", "speaker", "ringer", "mic", "headset_mic")
# Acoustic shock protection (firmware/audio/limiter.py): the loudest peak a call plays at the
# ear, in dBFS, unless the board file's [audio.limit_dbfs] sets its own for its transducers
EAR_ROUTES = ("handset", "headset")
LIMIT_DBFS = -6.0
LIMIT_RANGE = (-40.0, 0.0)
# Routes whose sound reaches a mic loudly enough to need echo cancellation
# (firmware/audio/cleanup.py), unless the board file's [audio] echo_routes names others
ECHO_ROUTES = ("speaker",)
# Sidetone (hal/sidetone.py): how loud the agent hears their own voice at the ear, in dB
# against the mic, unless the board file's [audio.sidetone] says otherwise; the codec's mixer
# control that carries it on a device
SIDETONE_DB = -18.0
SIDETONE_RANGE = (-40.0, -6.0)
SIDETONE_CONTROL = "Sidetone"
PLAYED_ROUTES = ("handset", "headset", "speaker")
# PCM names: the sim board defines its own in a generated asound.conf, where only a bare word
# survives; a device's are ALSA names ("plughw:CARD=x,DEV=0"), never quotes, spaces or '\'.
PCM_NAME = {"sim": re.compile(r"[A-Za-z0-9_]+"), "rpi": re.compile(r"[A-Za-z0-9_.:,=-]+")}
PCM_NAME["frontpanel"] = PCM_NAME["rpi"]     # on a Pi; its sim variant takes bare words
# Hz: what the SIP stack's codecs run at (G.711 8 kHz, G.722 16 kHz, Opus 48 kHz and its
# divisors); baresip's resampler converts between them by whole ratios
AUDIO_RATES = (8000, 16000, 32000, 48000)
# HD44780 modules as sold (cols, rows). A 40x4 is two controllers, each driving 40x2 with its
# own E line; everything else is one controller (80 cells at most).
HD44780_GEOMETRIES = ((8, 1), (8, 2), (16, 1), (16, 2), (16, 4), (20, 1), (20, 2), (20, 4),
                      (24, 2), (40, 1), (40, 2), (40, 4))
MIN_LCD = (20, 4)              # the agent's screens (offer, call, lists) need this much at least
# The PCF8574 backpack drives P0=RS, P1=RW, P2=E, P3=backlight, P4-P7=D4-D7. The driver never
# reads the panel, so RW can be tied to GND on the module and P1 drive a 40x4's second E.
PCF8574_FREE_BITS = (1,)


@dataclass(frozen=True)
class KeypadSpec:
    rows: tuple[int, ...]
    cols: tuple[int, ...]
    keys: tuple[tuple[str, ...], ...]   # keys[row][col]; "" where no key is fitted
    scan_interval_ms: float = 4
    debounce_scans: int = 2
    long_press_ms: int = 800


@dataclass(frozen=True)
class LcdSpec:
    driver: str
    i2c_bus: int
    address: int
    cols: int
    rows: int
    bus_hz: int = 100_000
    contrast_pin: int | None = None
    charset: str = "A00"             # the character ROM (hal/charset.py)
    e2_bit: int | None = None        # the PCF8574 bit wired to a 40x4's second E line

    @property
    def controllers(self) -> int:
        return 1 if self.e2_bit is None else 2


@dataclass(frozen=True)
class FrontPanelSpec:
    """The front-panel microcontroller (backend "frontpanel", hal/frontpanel): the keypad,
    hook, LED and LCD pins of the board file are its pins, not the Pi's."""
    port: str                        # the Pi's UART to it; "sim": the MicroPython unix port
    baud: int = 115200
    heartbeat_ms: int = 200          # the Pi pings this often
    lost_ms: int = 1000              # no answer for this long: "Front panel lost"
    uart_id: int = 0                 # the panel's side: its UART and I2C peripherals and pins
    uart_tx: int = 0
    uart_rx: int = 1
    i2c_sda: int = 4
    i2c_scl: int = 5

    @property
    def sim(self) -> bool:
        return self.port == "sim"


@dataclass(frozen=True)
class BoardSpec:
    name: str
    description: str
    backend: str
    path: Path
    console_port: str
    console_baud: int
    console_max_baud: int
    keypad: KeypadSpec
    hook_pin: int
    leds: dict[str, int]
    lcd: LcdSpec
    audio_rate: int
    audio_pcm: dict[str, str]
    audio_limit_dbfs: dict[str, float] = field(default_factory=dict)
    audio_echo_routes: tuple[str, ...] = ECHO_ROUTES
    audio_echo_delay_ms: int = 0
    audio_echo_coupling_db: float = 0.0
    audio_sidetone_db: dict[str, float] = field(default_factory=dict)
    audio_sidetone_control: tuple[str, str] = ("default", SIDETONE_CONTROL)   # (device, name)
    sim: dict[str, object] = field(default_factory=dict)
    frontpanel: FrontPanelSpec | None = None

    @property
    def dir(self) -> Path:
        return self.path.parent

    @property
    def emulated(self) -> bool:
        """Its hardware is emulated on a development machine (the host's clock, file PCMs):
        the sim backend, or a front panel run on the MicroPython unix port."""
        return self.backend == "sim" or (self.frontpanel is not None and self.frontpanel.sim)


def board_path(name_or_path: str) -> Path:
    """A board name (``sim``) maps to board/<name>/board.toml; a path is taken as it is."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or "/" in name_or_path:
        return p
    return BOARDS_DIR / name_or_path / "board.toml"


def known_boards() -> list[str]:
    return sorted(p.parent.name for p in BOARDS_DIR.glob("*/board.toml"))


def load_board(name_or_path: str) -> BoardSpec:
    path = board_path(name_or_path)
    if not path.is_file():
        known = ", ".join(known_boards()) or "none"
        raise BoardError(path, None, f"no such board file (known boards: {known})")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise BoardError(path, None, f"not valid TOML: {e}") from None
    return _parse(path, data)


class _Fields:
    """Typed access to one TOML table that names the file and dotted field on error."""

    def __init__(self, path: Path, data: dict, prefix: str = ""):
        self.path, self.data, self.prefix = path, data, prefix

    def _name(self, key):
        return f"{self.prefix}{key}"

    def fail(self, key, problem):
        raise BoardError(self.path, self._name(key), problem)

    def get(self, key, kind, default=...):
        if key not in self.data:
            if default is ...:
                self.fail(key, "missing")
            return default
        value = self.data[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.fail(key, f"expected {_kind_name(kind)}, got {value!r}")
        return value

    def table(self, key, default=...):
        return _Fields(self.path, self.get(key, dict, default if default is ... else {}),
                       f"{self._name(key)}.")

    def pin(self, key, default=...):
        value = self.get(key, int, default)
        if value is not None and not 0 <= value <= 53:
            self.fail(key, f"GPIO pin must be 0-53, got {value}")
        return value

    def pins(self, key):
        values = self.get(key, list)
        if not values or not all(isinstance(v, int) and 0 <= v <= 53 for v in values):
            self.fail(key, f"expected a non-empty list of GPIO pins 0-53, got {values!r}")
        return tuple(values)


def _kind_name(kind):
    return {str: "a string", int: "an integer", float: "a number", list: "a list",
            dict: "a table", bool: "true or false"}.get(kind, kind.__name__)


def _parse(path: Path, data: dict) -> BoardSpec:
    top = _Fields(path, data)
    board = top.table("board")
    backend = board.get("backend", str)
    if backend not in BACKENDS:
        board.fail("backend", f"unknown backend {backend!r} (known: {', '.join(BACKENDS)})")

    console = top.table("console")
    keypad = _parse_keypad(top.table("keypad"))
    hook = top.table("hook")
    leds_t = top.table("leds")
    leds = {name: leds_t.pin(name) for name in LED_NAMES}
    for name in leds_t.data:
        if name not in LED_NAMES:
            leds_t.fail(name, f"unknown LED (known: {', '.join(LED_NAMES)})")

    lcd_t = top.table("lcd")
    driver = lcd_t.get("driver", str)
    if driver != "hd44780-pcf8574":
        lcd_t.fail("driver", f"unknown LCD driver {driver!r} (known: hd44780-pcf8574)")
    lcd = LcdSpec(
        driver=driver,
        i2c_bus=lcd_t.get("i2c_bus", int),
        address=lcd_t.get("address", int),
        cols=lcd_t.get("cols", int),
        rows=lcd_t.get("rows", int),
        bus_hz=lcd_t.get("bus_hz", int, 100_000),
        contrast_pin=lcd_t.pin("contrast_pin", None),
        charset=lcd_t.get("charset", str, "A00"),
        e2_bit=lcd_t.get("e2_bit", int, None),
    )
    if not 0x03 <= lcd.address <= 0x77:
        lcd_t.fail("address", f"I2C address must be 0x03-0x77, got {lcd.address:#x}")
    _check_lcd_size(lcd_t, lcd)
    if lcd.charset not in ROMS:
        lcd_t.fail("charset", f"unknown HD44780 character ROM {lcd.charset!r} "
                              f"(known: {', '.join(ROMS)})")

    audio = top.table("audio")
    pcm_t = audio.table("pcm")
    pcm = {route: pcm_t.get(route, str) for route in AUDIO_ROUTES}
    for route, name in pcm.items():
        if not PCM_NAME[backend].fullmatch(name):
            pcm_t.fail(route, f"not a PCM name the {backend} backend can use: {name!r} "
                              f"(allowed: {PCM_NAME[backend].pattern})")
    rate = audio.get("rate", int, 8000)
    if rate not in AUDIO_RATES:
        audio.fail("rate", f"must be one of {', '.join(map(str, AUDIO_RATES))} Hz (the rates "
                           f"the call's codecs run at), got {rate}")

    limit_t = audio.table("limit_dbfs", {})
    for route in limit_t.data:
        if route not in EAR_ROUTES:
            limit_t.fail(route, f"only the routes at the ear are limited: {', '.join(EAR_ROUTES)}")
    limits = {route: limit_t.get(route, float, LIMIT_DBFS) for route in EAR_ROUTES}
    for route, dbfs in limits.items():
        if not LIMIT_RANGE[0] <= dbfs <= LIMIT_RANGE[1]:
            limit_t.fail(route, f"must be {LIMIT_RANGE[0]:g} to {LIMIT_RANGE[1]:g} dBFS, "
                                f"got {dbfs:g}")

    echo_routes = tuple(audio.get("echo_routes", list, list(ECHO_ROUTES)))
    for route in echo_routes:
        if route not in PLAYED_ROUTES:
            audio.fail("echo_routes", f"{route!r} is not a route calls play on "
                                      f"({', '.join(PLAYED_ROUTES)})")
    echo_delay_ms = audio.get("echo_delay_ms", int, 0)
    if not 0 <= echo_delay_ms <= 500 or echo_delay_ms % 20:
        audio.fail("echo_delay_ms", f"must be 0-500 ms in whole 20 ms periods, got {echo_delay_ms}")
    echo_coupling_db = audio.get("echo_coupling_db", float, 0.0)
    if not -40 <= echo_coupling_db <= 10:
        audio.fail("echo_coupling_db", f"must be -40 to 10 dB, got {echo_coupling_db:g}")

    sidetone_t = audio.table("sidetone", {})
    for key in sidetone_t.data:
        if key not in (*EAR_ROUTES, "control", "device"):
            sidetone_t.fail(key, f"sidetone is at the ear ({', '.join(EAR_ROUTES)}), set "
                                 f"with the codec's mixer 'control' on a 'device'")
    sidetone = {route: sidetone_t.get(route, float, SIDETONE_DB) for route in EAR_ROUTES}
    for route, db in sidetone.items():
        if not SIDETONE_RANGE[0] <= db <= SIDETONE_RANGE[1]:
            sidetone_t.fail(route, f"must be {SIDETONE_RANGE[0]:g} to {SIDETONE_RANGE[1]:g} "
                                   f"dB, got {db:g}")
    sidetone_control = (sidetone_t.get("device", str, "default"),
                        sidetone_t.get("control", str, SIDETONE_CONTROL))

    fpanel = _parse_frontpanel(top, backend)
    used: dict[int, str] = {}
    contrast = [("lcd.contrast_pin", lcd.contrast_pin)] if lcd.contrast_pin is not None else []
    if fpanel is not None:
        if lcd.contrast_pin is not None:
            lcd_t.fail("contrast_pin", "a front panel's contrast is a trimmer on the panel")
        contrast = [(f"frontpanel.{n}", getattr(fpanel, n))
                    for n in ("uart_tx", "uart_rx", "i2c_sda", "i2c_scl")]
    for label, pin in ([("keypad.rows", p) for p in keypad.rows]
                       + [("keypad.cols", p) for p in keypad.cols]
                       + [("hook.pin", hook.pin("pin"))]
                       + [(f"leds.{n}", p) for n, p in leds.items()]
                       + contrast):
        if pin in used:
            raise BoardError(path, label, f"GPIO {pin} is already used by {used[pin]}")
        used[pin] = label

    return BoardSpec(
        name=board.get("name", str),
        description=board.get("description", str, ""),
        backend=backend,
        path=path,
        console_port=console.get("port", str),
        console_baud=console.get("baud", int, 115200),
        console_max_baud=console.get("max_baud", int, console.get("baud", int, 115200)),
        keypad=keypad,
        hook_pin=hook.pin("pin"),
        leds=leds,
        lcd=lcd,
        audio_rate=rate,
        audio_pcm=pcm,
        audio_limit_dbfs=limits,
        audio_echo_routes=echo_routes,
        audio_echo_delay_ms=echo_delay_ms,
        audio_echo_coupling_db=echo_coupling_db,
        audio_sidetone_db=sidetone,
        audio_sidetone_control=sidetone_control,
        sim=dict(top.get("sim", dict, {})),
        frontpanel=fpanel,
    )


def _parse_frontpanel(top: _Fields, backend: str) -> FrontPanelSpec | None:
    if backend != "frontpanel":
        if "frontpanel" in top.data:
            top.fail("frontpanel", f"only the frontpanel backend has a front panel, not {backend}")
        return None
    t = top.table("frontpanel")
    spec = FrontPanelSpec(port=t.get("port", str), baud=t.get("baud", int, 115200),
                          heartbeat_ms=t.get("heartbeat_ms", int, 200),
                          lost_ms=t.get("lost_ms", int, 1000),
                          uart_id=t.get("uart_id", int, 0), uart_tx=t.pin("uart_tx", 0),
                          uart_rx=t.pin("uart_rx", 1), i2c_sda=t.pin("i2c_sda", 4),
                          i2c_scl=t.pin("i2c_scl", 5))
    if not 10 <= spec.heartbeat_ms <= 5000:
        t.fail("heartbeat_ms", f"must be 10-5000 ms, got {spec.heartbeat_ms}")
    if spec.lost_ms < 3 * spec.heartbeat_ms:
        t.fail("lost_ms", f"must be at least 3 heartbeats ({3 * spec.heartbeat_ms} ms), "
                          f"got {spec.lost_ms}")
    for key in t.data:
        if key not in FrontPanelSpec.__dataclass_fields__:
            t.fail(key, "unknown field")
    return spec


def _check_lcd_size(t: _Fields, lcd: LcdSpec) -> None:
    size = f"{lcd.cols}x{lcd.rows}"
    if (lcd.cols, lcd.rows) not in HD44780_GEOMETRIES:
        t.fail("cols", f"unsupported HD44780 geometry {size}")
    if lcd.cols < MIN_LCD[0] or lcd.rows < MIN_LCD[1]:
        t.fail("cols" if lcd.cols < MIN_LCD[0] else "rows",
               f"a {size} LCD is too small: the agent's screens need "
               f"{MIN_LCD[0]}x{MIN_LCD[1]} at least")
    two = lcd.cols * lcd.rows > 80                # beyond one controller's DDRAM
    if two and lcd.e2_bit is None:
        t.fail("e2_bit", f"a {size} LCD has two controllers: name the PCF8574 bit wired to "
                         f"the second E line (free: {', '.join(map(str, PCF8574_FREE_BITS))})")
    if not two and lcd.e2_bit is not None:
        t.fail("e2_bit", f"a {size} LCD has one controller and one E line")
    if lcd.e2_bit is not None and lcd.e2_bit not in PCF8574_FREE_BITS:
        t.fail("e2_bit", f"PCF8574 bit {lcd.e2_bit} is taken by the backpack "
                         f"(free: {', '.join(map(str, PCF8574_FREE_BITS))}: RW, tied to GND)")


def _parse_keypad(t: _Fields) -> KeypadSpec:
    rows, cols = t.pins("rows"), t.pins("cols")
    keys = t.get("keys", list)
    if len(keys) != len(rows) or not all(isinstance(r, list) and len(r) == len(cols) for r in keys):
        t.fail("keys", f"expected {len(rows)} rows of {len(cols)} key names (one per row x column)")
    seen = set()
    for r, row in enumerate(keys):
        for c, name in enumerate(row):
            if name == "":
                continue
            if name not in KEY_NAMES:
                t.fail(f"keys[{r}][{c}]", f"unknown key {name!r}")
            if name in seen:
                t.fail(f"keys[{r}][{c}]", f"key {name!r} appears twice")
            seen.add(name)
    missing = [k for k in KEY_NAMES if k not in seen]
    if missing:
        t.fail("keys", f"keys not on the matrix: {', '.join(missing)}")
    spec = KeypadSpec(rows=rows, cols=cols, keys=tuple(tuple(r) for r in keys),
                      scan_interval_ms=t.get("scan_interval_ms", float, 4.0),
                      debounce_scans=t.get("debounce_scans", int, 2),
                      long_press_ms=t.get("long_press_ms", int, 800))
    if spec.scan_interval_ms <= 0 or spec.debounce_scans < 1 or spec.long_press_ms <= 0:
        t.fail("scan_interval_ms", "scan interval, debounce scans and long press must be positive")
    return spec
