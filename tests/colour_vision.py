"""Colour-vision deficiency simulation (Machado, Oliveira and Fernandes 2009, severity 1), for the charts' tests.

A colour is simulated in linear sRGB and compared in CIELAB (CIE76): two kinds a chart tells apart by colour
must stay at least ``DISTINCT`` apart for every reader.
"""

from __future__ import annotations

import itertools
import math

__all__ = ["DISTINCT", "SIMULATIONS", "closest_pair", "distance", "simulate"]

#: Machado et al. (2009), table 1, severity 1.0: linear-RGB matrices.
SIMULATIONS = {
    "protanopia": ((0.152286, 1.052583, -0.204868), (0.114503, 0.786281, 0.099216), (-0.003882, -0.048116, 1.051998)),
    "deuteranopia": ((0.367322, 0.860646, -0.227968), (0.280085, 0.672501, 0.047413), (-0.011820, 0.042940, 0.968881)),
    "tritanopia": ((1.255528, -0.076749, -0.178779), (-0.078411, 0.930809, 0.147602), (0.004733, 0.691367, 0.303900)),
}
#: A ΔE (CIE76) below which two colours read as one at a glance, small swatches included.
DISTINCT = 12.0

RGB = tuple[float, float, float]


def _linear(channel: float) -> float:
    return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4


def _encoded(channel: float) -> float:
    channel = min(1.0, max(0.0, channel))
    return channel * 12.92 if channel <= 0.0031308 else 1.055 * channel ** (1 / 2.4) - 0.055


def parse(colour: str) -> RGB:
    """``#rrggbb`` as three channels in 0..1."""
    return tuple(int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))  # type: ignore[return-value]


def simulate(rgb: RGB, deficiency: str) -> RGB:
    linear = [_linear(c) for c in rgb]
    matrix = SIMULATIONS[deficiency]
    return tuple(_encoded(sum(m * c for m, c in zip(row, linear, strict=True))) for row in matrix)  # type: ignore[return-value]


def _lab(rgb: RGB) -> RGB:
    r, g, b = (_linear(c) for c in rgb)
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883
    f = [t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116 for t in (x, y, z)]
    return (116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2]))


def distance(a: RGB, b: RGB) -> float:
    return math.dist(_lab(a), _lab(b))


def closest_pair(colours: dict[str, RGB], deficiency: str | None) -> tuple[float, str, str]:
    """The two kinds whose colours are nearest as a reader with ``deficiency`` (None: typical vision) sees them."""
    seen = {kind: simulate(rgb, deficiency) if deficiency else rgb for kind, rgb in colours.items()}
    return min((distance(seen[a], seen[b]), a, b) for a, b in itertools.combinations(seen, 2))


def png_pixels(data: bytes) -> list[tuple[int, int, int]]:
    """The pixels of an 8-bit RGB or RGBA, non-interlaced PNG (as Chromium's screenshots are), alpha dropped."""
    import struct
    import zlib

    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    at, chunks, header = 8, [], b""
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        at += 12 + length
    width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour_type in (2, 6) and interlace == 0, (depth, colour_type, interlace)
    step = 4 if colour_type == 6 else 3
    raw, stride = zlib.decompress(b"".join(chunks)), width * step
    rows: list[bytearray] = []
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        above = rows[-1] if rows else bytearray(stride)
        for x in range(stride):
            left = line[x - step] if x >= step else 0
            up, corner = above[x], above[x - step] if x >= step else 0
            if kind == 1:
                line[x] = (line[x] + left) & 255
            elif kind == 2:
                line[x] = (line[x] + up) & 255
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[x] = (line[x] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        rows.append(line)
    return [(row[x], row[x + 1], row[x + 2]) for row in rows for x in range(0, stride, step)]
