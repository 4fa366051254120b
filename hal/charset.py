"""HD44780 character ROMs: the code each Unicode character is drawn with, and the way back.

The board file names the panel's ROM (``[lcd] charset``). The firmware above hal writes plain
Unicode; this is the one place that knows what a panel can draw:

- ``A00`` (Japanese; the common one): ASCII (with ¥ for \\ and → ← for ~ DEL), katakana and
  symbols: → at 0x7E, ･ at 0xA5, █ at 0xFF. No Cyrillic, no accented Latin.
- ``A02`` (European): Latin-1, Greek and some Cyrillic; no █ or ･ (· is used for ･).

A character the ROM lacks is shown as ``STAND_IN``, never dropped silently and never an error.
Codes 0-7 are the 8 custom CGRAM glyphs and pass through as chr(0)..chr(7).
"""
from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType, ModuleType

from RPLCD.codecs import hd44780_a00, hd44780_a02

STAND_IN = "?"              # drawn by every ROM at 0x3F
CGRAM_SLOTS = 8


@dataclass(frozen=True)
class CharacterRom:
    name: str
    codes: Mapping[str, int]        # Unicode -> ROM code
    chars: Mapping[int, str]        # ROM code -> the Unicode character it draws

    def fit(self, text: str) -> str:
        """``text`` with every character this ROM can't draw replaced: by a look-alike the ROM
        has (``LOOKALIKES``), else by its letter without the accent (ë -> e: a customer's name
        on a Japanese ROM), else by STAND_IN; one cell for one, so layouts hold."""
        look = LOOKALIKES.get(self.name, {})
        return "".join(ch if ch in self.codes else look.get(ch) or self._plain(ch)
                       for ch in text)

    def _plain(self, ch: str) -> str:
        base = unicodedata.normalize("NFKD", ch)[:1]
        return base if base != ch and base in self.codes else STAND_IN

    def char(self, code: int) -> str:
        """What the panel draws for ``code`` (CGRAM codes 0-15 as chr(0)..chr(7))."""
        if code < 16:
            return chr(code & 7)               # codes 0x08-0x0F show CGRAM slots 0-7 again
        return self.chars.get(code, STAND_IN)


def _rom(name: str, table: ModuleType, extra: Mapping[int, str]) -> CharacterRom:
    codes: dict[str, int] = dict(table.encoding_table)
    chars: dict[int, str] = {}
    for ch, code in codes.items():
        chars.setdefault(code, ch)             # the first (canonical) character of each code
    chars.update(extra)
    return CharacterRom(name, MappingProxyType(codes), MappingProxyType(chars))


ROMS: Mapping[str, CharacterRom] = MappingProxyType({
    # A00: 0xFF is the all-dots cell (RPLCD maps "█" to it); 0xA0 is blank (U+3000 would be a
    # double-width space)
    "A00": _rom("A00", hd44780_a00, {0xFF: "█", 0xA0: " "}),
    "A02": _rom("A02", hd44780_a02, {}),
})
# Characters the firmware uses that a ROM lacks but draws something close to.
LOOKALIKES: Mapping[str, Mapping[str, str]] = MappingProxyType({"A02": {"･": "·"}})


def rom(name: str) -> CharacterRom:
    return ROMS[name]
