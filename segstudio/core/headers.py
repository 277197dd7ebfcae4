"""Fast header reading for the two formats a big folder is made of: PNG and JPEG.

Scanning a folder of 10,000 images reads every header once; Pillow's
``Image.open`` costs tens of microseconds of Python per file, most of it
spent on work a scan does not need.  These readers look at the first bytes
only and answer for the plain cases, giving exactly what Pillow would give
(size, channels as loaded, bit depth, orientation 1):

* PNG: 8-bit or lower (all colour types), no ``eXIf`` chunk before the image
  data (Pillow only sees EXIF there at open), and every chunk before it with
  a correct CRC (as Pillow checks at open);
* JPEG: 8-bit precision, 1, 3 or 4 components, no EXIF (APP1 ``Exif``) and
  no multi-picture (APP2 ``MPF``, Pillow's MPO) segment before the scan.

Anything else (16-bit, EXIF, a damaged or odd file, other formats) returns
``None`` and the caller asks Pillow, which also words the errors.
"""

from __future__ import annotations

import os
import struct
import zlib
from typing import NamedTuple

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HEAD_BYTES = 65536
# start-of-frame markers: baseline, extended, progressive, lossless (Huffman and arithmetic)
_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_PNG_COLOUR_TYPES = {0: 1, 2: 3, 3: 3, 4: 1, 6: 3}  # colour type -> channels as loaded


class Header(NamedTuple):
    width: int
    height: int
    channels: int
    bit_depth: int
    format: str


def read_header(path: str | os.PathLike[str]) -> Header | None:
    """The header of a plain PNG or JPEG file, or None when Pillow must decide."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(HEAD_BYTES)
    except OSError:
        return None
    if head.startswith(PNG_SIGNATURE):
        return png_header(head)
    if head.startswith(b"\xff\xd8\xff"):
        return jpeg_header(head)
    return None


def png_header(head: bytes) -> Header | None:
    if len(head) < 33 or head[12:16] != b"IHDR" or head[8:12] != b"\x00\x00\x00\x0d":
        return None
    width, height, depth, colour, comp, filt, interlace = struct.unpack(">IIBBBBB", head[16:29])
    channels = _PNG_COLOUR_TYPES.get(colour)
    if (channels is None or width == 0 or height == 0 or depth > 8 or comp or filt
            or interlace > 1):
        return None
    if zlib.crc32(head[12:29]) != int.from_bytes(head[29:33], "big"):
        return None
    pos = 33  # after IHDR's CRC: walk the chunks to the image data
    while pos + 8 <= len(head):
        length = int.from_bytes(head[pos:pos + 4], "big")
        kind = head[pos + 4:pos + 8]
        if kind == b"IDAT":
            return Header(width, height, channels, 8, "PNG")
        end = pos + 8 + length
        if kind == b"eXIf" or end + 4 > len(head):
            return None
        if zlib.crc32(head[pos + 4:end]) != int.from_bytes(head[end:end + 4], "big"):
            return None
        pos = end + 4
    return None  # the image data starts beyond what was read: let Pillow look


def jpeg_header(head: bytes) -> Header | None:
    pos = 2
    size = None
    n = len(head)
    while pos + 4 <= n:
        if head[pos] != 0xFF:
            return None
        marker = head[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # no length
            pos += 2
            continue
        length = int.from_bytes(head[pos + 2:pos + 4], "big")
        if length < 2:
            return None
        body = head[pos + 4:pos + 2 + length]
        if marker == 0xDA:  # start of scan: every header segment has been seen
            return size
        if (marker == 0xE1 and body.startswith(b"Exif")) or (
                marker == 0xE2 and body.startswith(b"MPF")):
            return None
        if marker in _SOF:
            if len(body) < 6 or size is not None:
                return None
            precision, height, width, comps = struct.unpack(">BHHB", body[:6])
            if precision != 8 or width == 0 or height == 0 or comps not in (1, 3, 4):
                return None
            size = Header(width, height, 1 if comps == 1 else 3, 8, "JPEG")
        pos += 2 + length
    return None
