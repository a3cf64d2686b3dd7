"""A tiny PNG line chart of an alert's recent buckets, written with zlib and struct only.

Used as the inline (CID) image of alert emails: a light grid, the series as a line, and
the last point (the one that fired) marked. No fonts: the numbers are in the text around it.
"""

from __future__ import annotations

import itertools
import struct
import zlib
from collections.abc import Sequence

Color = tuple[int, int, int]

_BACKGROUND: Color = (255, 255, 255)
_GRID: Color = (228, 231, 235)
_LINE: Color = (37, 99, 235)
_MARK: Color = (220, 38, 38)
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def line_chart_png(
    values: Sequence[float], *, width: int = 480, height: int = 120, margin: int = 8
) -> bytes:
    """Renders the values as a PNG line chart (RGB, 8 bits); an empty series gives a blank one."""
    if width < 2 * margin + 2 or height < 2 * margin + 2:
        raise ValueError("the chart is too small for its margins")
    canvas = _Canvas(width, height)
    for i in range(5):  # horizontal grid lines, bottom and top included
        y = margin + round(i * (height - 2 * margin - 1) / 4)
        canvas.hline(margin, width - margin - 1, y, _GRID)
    points = _scale(values, width=width, height=height, margin=margin)
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        canvas.line(x0, y0, x1, y1, _LINE)
        canvas.line(x0, y0 + 1, x1, y1 + 1, _LINE)  # two pixels thick
    if points:
        x, y = points[-1]
        canvas.dot(x, y, 3, _MARK)
    return canvas.png()


def _scale(
    values: Sequence[float], *, width: int, height: int, margin: int
) -> list[tuple[int, int]]:
    finite = [float(v) for v in values if v == v and abs(v) != float("inf")]
    if not finite:
        return []
    low, high = min(0.0, min(finite)), max(finite)
    span = (high - low) or 1.0
    inner_w, inner_h = width - 2 * margin - 1, height - 2 * margin - 1
    count = len(finite)
    points = []
    for i, value in enumerate(finite):
        x = margin + (round(i * inner_w / (count - 1)) if count > 1 else inner_w // 2)
        y = margin + inner_h - round((value - low) / span * inner_h)
        points.append((x, y))
    return points


class _Canvas:
    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.rows = [bytearray(bytes(_BACKGROUND) * width) for _ in range(height)]

    def set(self, x: int, y: int, color: Color) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            self.rows[y][3 * x : 3 * x + 3] = bytes(color)

    def hline(self, x0: int, x1: int, y: int, color: Color) -> None:
        for x in range(x0, x1 + 1):
            self.set(x, y, color)

    def line(self, x0: int, y0: int, x1: int, y1: int, color: Color) -> None:
        """Bresenham's line."""
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
        err = dx + dy
        while True:
            self.set(x0, y0, color)
            if x0 == x1 and y0 == y1:
                return
            e2 = 2 * err
            if e2 >= dy:
                err += dy
                x0 += sx
            if e2 <= dx:
                err += dx
                y0 += sy

    def dot(self, cx: int, cy: int, radius: int, color: Color) -> None:
        for y in range(cy - radius, cy + radius + 1):
            for x in range(cx - radius, cx + radius + 1):
                if (x - cx) ** 2 + (y - cy) ** 2 <= radius * radius:
                    self.set(x, y, color)

    def png(self) -> bytes:
        raw = b"".join(b"\x00" + bytes(row) for row in self.rows)  # filter type 0 per row
        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return b"".join(
            (
                _PNG_SIGNATURE,
                _chunk(b"IHDR", header),
                _chunk(b"IDAT", zlib.compress(raw, 9)),
                _chunk(b"IEND", b""),
            )
        )


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)
