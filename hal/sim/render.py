"""A picture of the HD44780 panel as a person sees it: a backlit glass of 5x8 dot cells.

Every character is drawn as dots. CGRAM slots come from the panel's own bitmaps; ROM
characters are rasterised from a monospace TTF at the size where FreeType's hinting lands
its strokes on a 5x7 grid (baseline above the eighth, cursor, row), then cached.
"""
from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from .hd44780 import HD44780, LcdModule

FONT_PATH = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")
FONT_PX = 9           # DejaVu Sans Mono at 9 px: caps 7 dots tall, stems hinted to whole dots

CELL_W, CELL_H = 5, 8
PITCH_X, PITCH_Y = 6, 9   # one blank dot between cells, as on the glass (0.6 mm dot pitch)
MARGIN_X, MARGIN_Y = 4, 4  # glass around the active area, in dots (76 x 25 mm viewing area)

# Palette indices of the dot-resolution picture.
BG, UNLIT, LIT = 0, 1, 2

# Yellow-green STN: (glass, ink) with the backlight on and off.
GLASS_ON, INK_ON = (152, 192, 58), (28, 48, 18)
GLASS_OFF, INK_OFF = (84, 94, 60), (24, 30, 18)


def image_size(cols: int, rows: int, scale: int = 4) -> tuple[int, int]:
    """Pixel size of the picture of a cols x rows panel."""
    return ((cols * PITCH_X - 1 + 2 * MARGIN_X) * scale,
            (rows * PITCH_Y - 1 + 2 * MARGIN_Y) * scale)


@lru_cache(maxsize=1)
def _font():
    try:
        return ImageFont.truetype(str(FONT_PATH), FONT_PX)
    except OSError:
        return ImageFont.load_default()


@lru_cache(maxsize=512)
def rom_bitmap(ch: str) -> tuple[int, ...]:
    """The 5x8 dot rows (bit 4 = leftmost) a ROM character is drawn with."""
    if ch == " ":
        return (0,) * CELL_H
    # Draw wider than a cell, then centre the ink: some glyphs sit off-centre in their advance.
    canvas = Image.new("L", (CELL_W + 6, CELL_H), 0)
    draw = ImageDraw.Draw(canvas)
    draw.fontmode = "1"
    draw.text((3, 7), ch, font=_font(), fill=255, anchor="ls")
    box = canvas.getbbox()
    if box is None:
        return (0,) * CELL_H
    width = box[2] - box[0]
    left = box[0] - (CELL_W - width) // 2        # a wider glyph is cut evenly on both sides
    ink = canvas.crop((left, 0, left + CELL_W, CELL_H)).tobytes()    # "L": a byte a pixel
    return tuple(sum(1 << (CELL_W - 1 - x) for x in range(CELL_W) if ink[y * CELL_W + x] > 127)
                 for y in range(CELL_H))


@lru_cache(maxsize=1024)
def _cell_image(bitmap: tuple[int, ...]) -> Image.Image:
    cell = Image.new("P", (CELL_W, CELL_H), UNLIT)
    for y, bits in enumerate(bitmap):
        for x in range(CELL_W):
            if bits & (1 << (CELL_W - 1 - x)):
                cell.putpixel((x, y), LIT)
    return cell


@lru_cache(maxsize=8)
def _gap_mask(size: tuple[int, int], scale: int) -> Image.Image | None:
    """White on the last pixel row and column of every dot: the hairline between dots."""
    if scale < 3:
        return None
    mask = Image.new("1", size, 0)
    draw = ImageDraw.Draw(mask)
    for x in range(scale - 1, size[0], scale):
        draw.line([(x, 0), (x, size[1])], fill=1)
    for y in range(scale - 1, size[1], scale):
        draw.line([(0, y), (size[0], y)], fill=1)
    return mask


def _mix(a, b, k):
    return tuple(round(x + (y - x) * k) for x, y in zip(a, b))


def _palette(backlight: bool, contrast: float | None) -> list[int]:
    glass, ink = (GLASS_ON, INK_ON) if backlight else (GLASS_OFF, INK_OFF)
    c = 0.5 if contrast is None else max(0.0, min(1.0, contrast))
    # Higher V0 contrast darkens lit dots and, past the sweet spot, the unlit ones too.
    lit = _mix(glass, ink, min(1.0, 0.35 + 1.3 * c))
    unlit = _mix(glass, ink, 0.07 + max(0.0, c - 0.5) * 0.6)
    return [*glass, *unlit, *lit]


def render(panel: HD44780 | LcdModule, scale: int = 4,
           contrast: float | None = None) -> Image.Image:
    scale = max(1, int(scale))
    dots = Image.new("P", image_size(panel.cols, panel.rows, 1), BG)
    for r, row in enumerate(panel.text()):
        for c, ch in enumerate(row):
            code = ord(ch)
            bitmap = tuple(panel.glyph(code)) if code < 8 else rom_bitmap(ch)
            dots.paste(_cell_image(bitmap), (MARGIN_X + c * PITCH_X, MARGIN_Y + r * PITCH_Y))
    dots.putpalette(_palette(panel.backlight, contrast))
    big = dots.resize((dots.width * scale, dots.height * scale), Image.Resampling.NEAREST)
    gaps = _gap_mask(big.size, scale)
    if gaps is not None:
        big.paste(BG, mask=gaps)
    return big.convert("RGB")


def render_png(panel: HD44780 | LcdModule, path_or_none=None, scale: int = 4, *,
               contrast: float | None = None) -> bytes:
    """PNG bytes of the panel; also written to ``path_or_none`` when given."""
    buf = io.BytesIO()
    render(panel, scale, contrast).save(buf, format="PNG", compress_level=1)
    data = buf.getvalue()
    if path_or_none is not None:
        Path(path_or_none).write_bytes(data)
    return data
