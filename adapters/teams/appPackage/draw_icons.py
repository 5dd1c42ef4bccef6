"""Draws the Teams app icons once; the PNGs are committed. Run: python adapters/teams/appPackage/draw_icons.py

Pure Python (zlib + struct), so it needs nothing beyond the standard library. Teams wants a 192×192
full-colour icon and a 32×32 outline icon that is white on a transparent background.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ACCENT = (46, 125, 96)  # Tend green, also the manifest's accentColor #2E7D60
WHITE = (255, 255, 255)
SAMPLES = 4  # supersampling per axis, for smooth edges

Pixel = tuple[int, int, int, int]


def in_heart(x: float, y: float) -> bool:
    """The classic heart curve, (x² + y² − 1)³ − x²y³ ≤ 0, with y pointing up."""
    return (x * x + y * y - 1) ** 3 - x * x * y**3 <= 0


def coverage(px: int, py: int, size: int, scale: float) -> float:
    """The share of a pixel inside the heart, centred in a ``size`` square and ``scale`` wide."""
    inside = 0
    for sy in range(SAMPLES):
        for sx in range(SAMPLES):
            x = ((px + (sx + 0.5) / SAMPLES) / size - 0.5) * 2 / scale
            y = -((py + (sy + 0.5) / SAMPLES) / size - 0.5) * 2 / scale + 0.12 / scale
            inside += in_heart(x * 1.15, y * 1.15)
    return inside / SAMPLES**2


def png(size: int, pixel: Callable[[int, int], Pixel]) -> bytes:
    rows = b"".join(b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(size)) for y in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def color_pixel(x: int, y: int) -> Pixel:
    share = coverage(x, y, 192, 0.62)
    mixed = [round(a + (w - a) * share) for a, w in zip(ACCENT, WHITE, strict=True)]
    return (mixed[0], mixed[1], mixed[2], 255)


def outline_pixel(x: int, y: int) -> Pixel:
    return (*WHITE, round(255 * coverage(x, y, 32, 0.8)))


def main() -> None:
    (HERE / "color.png").write_bytes(png(192, color_pixel))
    (HERE / "outline.png").write_bytes(png(32, outline_pixel))


if __name__ == "__main__":
    main()
