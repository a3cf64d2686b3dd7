"""The dependency-free PNG chart: a valid PNG of the asked size."""

from __future__ import annotations

import struct
import zlib

from services.alerting.notifiers.chart import line_chart_png


def _chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, offset = [], 8
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        kind = png[offset + 4 : offset + 8]
        data = png[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", png[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind + data) & 0xFFFFFFFF
        chunks.append((kind, data))
        offset += 12 + length
    return chunks


def test_png_is_valid_with_the_asked_dimensions() -> None:
    png = line_chart_png([1, 5, 3, 8, 2, 13], width=200, height=60)
    chunks = _chunks(png)
    assert [kind for kind, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (width, height, depth, color, interlace) == (200, 60, 8, 2, 0)
    raw = zlib.decompress(chunks[1][1])
    assert len(raw) == height * (1 + 3 * width)
    assert all(raw[row * (1 + 3 * width)] == 0 for row in range(height))  # filter 0
    pixels = {raw[i : i + 3] for r in range(height) for i in range(r * 601 + 1, (r + 1) * 601, 3)}
    assert bytes((37, 99, 235)) in pixels  # the line was drawn
    assert bytes((220, 38, 38)) in pixels  # and the last point marked


def test_degenerate_series_still_make_a_png() -> None:
    for values in ([], [3.0], [0.0, 0.0], [float("nan"), 2.0]):
        chunks = _chunks(line_chart_png(values))
        assert struct.unpack(">II", chunks[0][1][:8]) == (480, 120)
