"""Custom 5x8 characters loaded into the LCD controller's 8 CGRAM slots.

Frames use chr(slot); the console's ``lcd`` shows each as its stand-in character.
"""
CHECK, CROSS, HANDSET, BELL, EMPTY = "\x00", "\x01", "\x02", "\x03", "\x04"

# slot -> (rows of 5 pixels, stand-in)
GLYPHS = {
    0: ((0x00, 0x01, 0x03, 0x16, 0x1C, 0x08, 0x00, 0x00), "✓"),
    1: ((0x00, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x00, 0x00), "✗"),
    2: ((0x00, 0x18, 0x1C, 0x0C, 0x06, 0x07, 0x03, 0x00), "☎"),
    3: ((0x04, 0x0E, 0x0E, 0x0E, 0x1F, 0x00, 0x04, 0x00), "♪"),
    4: ((0x1F, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1F, 0x00), "▯"),
}

# Plain Unicode: the display's driver (hal) maps it to its character set, and a character the
# panel can't show comes out as a stand-in there.
FULL = "█"
POINTER = "→"
DOT = "･"           # a centred dot, for keys sent unseen
