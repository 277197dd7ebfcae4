"""The fast PNG / JPEG header reader answers exactly as Pillow does, or leaves it to Pillow."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from PIL import Image

from segstudio.core import imageio
from segstudio.core.headers import read_header
from segstudio.core.imageio import read_info

RNG = np.random.default_rng(7)


def pillow_info(path, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(imageio, "read_header", lambda _p: None)
        return read_info(path)


def _exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def _rgb(h=37, w=53):
    return RNG.integers(0, 256, (h, w, 3), dtype=np.uint8)


PLAIN = {  # name -> (writer, expected (w, h, channels, depth))
    "gray.png": (lambda p: Image.fromarray(_rgb()[..., 0]).save(p), (53, 37, 1, 8)),
    "bilevel.png": (lambda p: Image.fromarray(_rgb()[..., 0] > 99).save(p), (53, 37, 1, 8)),
    "rgb.png": (lambda p: Image.fromarray(_rgb()).save(p), (53, 37, 3, 8)),
    "rgba.png": (lambda p: Image.fromarray(np.dstack([_rgb(), _rgb()[..., 0]])).save(p),
                 (53, 37, 3, 8)),
    "la.png": (lambda p: Image.fromarray(_rgb()[..., :2].copy(), "LA").save(p), (53, 37, 1, 8)),
    "palette.png": (lambda p: Image.fromarray(_rgb()).convert("P").save(p), (53, 37, 3, 8)),
    "palette4.png": (lambda p: Image.fromarray(_rgb()).quantize(16).save(p, bits=4),
                     (53, 37, 3, 8)),
    "text.png": (lambda p: _png_with_text(p), (53, 37, 3, 8)),
    "gray.jpg": (lambda p: Image.fromarray(_rgb()[..., 0]).save(p, quality=90), (53, 37, 1, 8)),
    "rgb.jpg": (lambda p: Image.fromarray(_rgb()).save(p, quality=90), (53, 37, 3, 8)),
    "progressive.jpeg": (lambda p: Image.fromarray(_rgb(400, 300)).save(p, progressive=True),
                         (300, 400, 3, 8)),
    "cmyk.jpg": (lambda p: Image.fromarray(_rgb()).convert("CMYK").save(p), (53, 37, 3, 8)),
}

LEFT_TO_PILLOW = {
    "gray16.png": lambda p: Image.fromarray(
        RNG.integers(0, 65535, (20, 30), dtype=np.uint16)).save(p),
    "exif6.png": lambda p: Image.fromarray(_rgb()).save(p, exif=_exif(6)),
    "exif6.jpg": lambda p: Image.fromarray(_rgb()).save(p, exif=_exif(6)),
    "big-icc.jpg": lambda p: Image.fromarray(_rgb()).save(p, icc_profile=b"\0" * 200_000),
    "picture.bmp": lambda p: Image.fromarray(_rgb()).save(p),
    "picture.tif": lambda p: Image.fromarray(_rgb()).save(p),
}


def _png_with_text(path):
    from PIL import PngImagePlugin

    meta = PngImagePlugin.PngInfo()
    meta.add_text("Comment", "x" * 5000)
    Image.fromarray(_rgb()).save(path, pnginfo=meta)


@pytest.mark.parametrize("name", sorted(PLAIN))
def test_plain_files_are_read_fast_and_as_pillow_reads_them(tmp_path, monkeypatch, name):
    write, want = PLAIN[name]
    path = tmp_path / name
    write(path)
    head = read_header(path)
    assert head is not None and (head.width, head.height, head.channels, head.bit_depth) == want
    assert read_info(path) == pillow_info(path, monkeypatch)


@pytest.mark.parametrize("name", sorted(LEFT_TO_PILLOW))
def test_other_files_are_left_to_pillow(tmp_path, name):
    path = tmp_path / name
    LEFT_TO_PILLOW[name](path)
    assert read_header(path) is None
    info = read_info(path)
    if name.startswith("exif6"):  # rotated: width and height as displayed
        assert (info.width, info.height, info.orientation) == (37, 53, 6)


def test_damaged_headers_are_left_to_pillow_and_its_error(tmp_path):
    good = tmp_path / "good.png"
    Image.fromarray(_rgb()).save(good)
    data = bytearray(good.read_bytes())
    bad_crc = tmp_path / "bad-crc.png"
    bad_crc.write_bytes(bytes(data[:29]) + b"\0\0\0\0" + bytes(data[33:]))
    assert read_header(bad_crc) is None
    with pytest.raises(imageio.ImageReadError, match="bad-crc.png"):
        read_info(bad_crc)
    short = tmp_path / "short.png"
    short.write_bytes(bytes(data[:20]))
    assert read_header(short) is None
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    assert read_header(empty) is None
    with pytest.raises(imageio.ImageReadError, match="empty"):
        read_info(empty)
    # a chunk with a wrong CRC before the image data: Pillow refuses, so does the scan
    text = tmp_path / "text.png"
    _png_with_text(text)
    raw = bytearray(text.read_bytes())
    at = raw.index(b"tEXt")
    raw[at + 10] ^= 0xFF
    broken = tmp_path / "broken-text.png"
    broken.write_bytes(bytes(raw))
    assert read_header(broken) is None
    assert zlib.crc32(b"") == 0  # (the reader's CRC is zlib's)


def test_the_pixel_guard_applies_to_the_fast_path(tmp_path):
    path = tmp_path / "rgb.png"
    Image.fromarray(_rgb()).save(path)
    old = imageio.max_pixels()
    imageio.set_max_pixels(1000)
    try:
        with pytest.raises(imageio.ImageReadError, match="rgb.png"):
            read_info(path)
    finally:
        imageio.set_max_pixels(old)


def test_camvid_headers_match_pillow(camvid, monkeypatch):
    files = sorted((camvid / "train").glob("*.png"))[:40]
    for path in files:
        assert read_header(path) is not None
        assert read_info(path) == pillow_info(path, monkeypatch)
