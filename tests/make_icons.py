"""Draws the app icons (app/static/appIcon*.png) with the standard library only.

Run from the repository root: python3 tests/make_icons.py. The PNGs are committed; this script
is how they were made, so they can be redrawn at other sizes.
"""
import os
import struct
import zlib

# A 7x7 "R" on a rounded square: the regsvr32 initial. 1 = glyph.
GLYPH = [
    "111110.",
    "11..11.",
    "11..11.",
    "111110.",
    "11.11..",
    "11..11.",
    "11...11",
]
BACKGROUND = (0x1F, 0x4E, 0x79)   # dark blue
ALT_BACKGROUND = (0xFF, 0xFF, 0xFF)
FOREGROUND = (0xF2, 0xA9, 0x00)   # amber: "suspicious"


def png(width, height, rows):
    """rows: list of bytes objects, RGBA, width*4 long."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + row for row in rows)
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def icon(size, background, foreground):
    radius = size // 6
    cell = size * 2 // 3 // len(GLYPH)
    offset = (size - cell * len(GLYPH)) // 2
    rows = []
    for y in range(size):
        row = bytearray()
        for x in range(size):
            # Rounded corners: transparent outside the corner circles.
            cx = min(max(x, radius), size - 1 - radius)
            cy = min(max(y, radius), size - 1 - radius)
            if (x - cx) ** 2 + (y - cy) ** 2 > radius ** 2:
                row += bytes((0, 0, 0, 0))
                continue
            gx, gy = (x - offset) // cell, (y - offset) // cell
            inside = 0 <= gx < len(GLYPH) and 0 <= gy < len(GLYPH) and x >= offset and y >= offset
            color = foreground if inside and GLYPH[gy][gx] == "1" else background
            row += bytes(color + (255,))
        rows.append(bytes(row))
    return png(size, size, rows)


def main():
    static = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "app", "static")
    os.makedirs(static, exist_ok=True)
    for name, size, bg in (("appIcon.png", 36, BACKGROUND), ("appIcon_2x.png", 72, BACKGROUND),
                           ("appIconAlt.png", 36, ALT_BACKGROUND), ("appIconAlt_2x.png", 72, ALT_BACKGROUND)):
        with open(os.path.join(static, name), "wb") as f:
            f.write(icon(size, bg, FOREGROUND))


if __name__ == "__main__":
    main()
