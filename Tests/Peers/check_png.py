#!/usr/bin/env python3
"""Decodes a PNG twice, independently of SpinePlan: by hand with zlib (chunks, CRCs, the five row filters) and with
Pillow. Writes the RGB bytes of the hand decode to RAW_OUT and prints one JSON line.

usage: check_png.py PNG RAW_OUT
"""
import json
import struct
import sys
import zlib

import numpy as np
from PIL import Image


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def decode(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    pos, idat, header, crc_ok, stored_only = 8, b"", None, True, True
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        crc_ok &= zlib.crc32(kind + body) == struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour = header[:4]
    assert (depth, colour) == (8, 2), "expected 8-bit RGB"
    # The first deflate block's type (bits 1-2 after the 2-byte zlib header): 0 means stored, no compression.
    stored_only = (idat[2] >> 1) & 3 == 0
    raw = zlib.decompress(idat)
    stride = width * 3
    out = bytearray(height * stride)
    filters = set()
    for y in range(height):
        f = raw[y * (stride + 1)]
        filters.add(f)
        line = raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)]
        for x in range(stride):
            a = out[y * stride + x - 3] if x >= 3 else 0
            b = out[(y - 1) * stride + x] if y > 0 else 0
            c = out[(y - 1) * stride + x - 3] if x >= 3 and y > 0 else 0
            pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][f]
            out[y * stride + x] = (line[x] + pred) & 255
    return width, height, bytes(out), sorted(filters), crc_ok, stored_only


def main(path, raw_out):
    data = open(path, "rb").read()
    width, height, pixels, filters, crc_ok, stored = decode(data)
    open(raw_out, "wb").write(pixels)
    pil = np.asarray(Image.open(path).convert("RGB"))
    mine = np.frombuffer(pixels, np.uint8).reshape(height, width, 3)
    print(json.dumps({"width": width, "height": height, "filters": filters, "crc_ok": crc_ok, "stored_blocks": stored,
                      "bytes": len(data), "pil_equals_zlib": bool(pil.shape == mine.shape and (pil == mine).all())}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
