"""Image reading: every kind of file a user throws at the program."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from segstudio.core import imageio
from segstudio.core.errors import ImageReadError
from segstudio.core.imageio import read_image, read_info, stretch_to_uint8


def test_rgb_png_roundtrip(tmp_path):
    arr = np.random.default_rng(1).integers(0, 256, (13, 17, 3), dtype=np.uint8)
    Image.fromarray(arr).save(tmp_path / "a.png")
    out = read_image(tmp_path / "a.png")
    assert out.dtype == np.uint8 and out.shape == (13, 17, 3)
    assert np.array_equal(out, arr)
    info = read_info(tmp_path / "a.png")
    assert (info.width, info.height, info.channels, info.bit_depth) == (17, 13, 3, 8)


def test_grayscale_stays_single_channel(tmp_path):
    arr = np.arange(12 * 10, dtype=np.uint8).reshape(12, 10)
    Image.fromarray(arr).save(tmp_path / "g.png")
    out = read_image(tmp_path / "g.png")
    assert out.shape == (12, 10) and np.array_equal(out, arr)
    assert read_info(tmp_path / "g.png").channels == 1


def test_rgba_alpha_is_dropped_not_composited(tmp_path):
    arr = np.zeros((4, 5, 4), np.uint8)
    arr[..., 0] = 200
    arr[..., 1] = 100
    arr[..., 2] = 50
    arr[..., 3] = 0  # fully transparent: compositing would change the colours
    Image.fromarray(arr, "RGBA").save(tmp_path / "a.png")
    out = read_image(tmp_path / "a.png")
    assert out.shape == (4, 5, 3)
    assert (out == [200, 100, 50]).all()


def test_palette_image_expands_to_colours(tmp_path):
    idx = np.array([[0, 1], [2, 1]], np.uint8)
    im = Image.fromarray(idx, "L").convert("P")
    im.putpalette([10, 20, 30, 40, 50, 60, 70, 80, 90] + [0] * (768 - 9))
    im.save(tmp_path / "p.png")
    out = read_image(tmp_path / "p.png")
    assert out.shape == (2, 2, 3)
    assert out[0, 0].tolist() == [10, 20, 30]
    assert out[0, 1].tolist() == [40, 50, 60]
    assert out[1, 0].tolist() == [70, 80, 90]


def test_16bit_gray_is_stretched_between_percentiles(tmp_path):
    # values 1000..1999: a 10-bit range in a 16-bit file
    arr = (1000 + np.arange(1000, dtype=np.uint16)).reshape(20, 50)
    cv2.imwrite(str(tmp_path / "d.png"), arr)
    info = read_info(tmp_path / "d.png")
    assert info.bit_depth == 16 and info.channels == 1
    out = read_image(tmp_path / "d.png")
    assert out.dtype == np.uint8 and out.shape == (20, 50)
    # the lowest value with >= 0.1 % of pixels at or below it, and likewise 99.9 %
    lo, hi = 1000, 1998
    expected = np.clip((arr.astype(np.float32) - lo) * np.float32(255.0 / (hi - lo)), 0, 255)
    assert np.array_equal(out, (expected + 0.5).astype(np.uint8))
    assert out.min() == 0 and out.max() == 255


def test_16bit_colour_decodes_all_bits(tmp_path):
    arr = np.zeros((8, 8, 3), np.uint16)
    arr[..., 0] = np.linspace(0, 4095, 64, dtype=np.uint16).reshape(8, 8)  # red ramp (RGB)
    cv2.imwrite(str(tmp_path / "c.png"), arr[..., ::-1])  # OpenCV writes BGR
    out = read_image(tmp_path / "c.png")
    assert out.shape == (8, 8, 3)
    assert read_info(tmp_path / "c.png").bit_depth == 16
    assert out[..., 0].max() == 255 and out[..., 1].max() == 0  # red spans the range


def test_constant_16bit_image_maps_to_zero():
    assert not stretch_to_uint8(np.full((3, 3), 500, np.uint16)).any()


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_applied(tmp_path, orientation):
    from PIL import ImageOps

    arr = np.random.default_rng(orientation).integers(0, 256, (6, 9, 3), dtype=np.uint8)
    im = Image.fromarray(arr)
    exif = im.getexif()
    exif[0x0112] = orientation
    path = tmp_path / f"o{orientation}.jpg"
    im.save(path, exif=exif.tobytes(), quality=95)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(path)))
    out = read_image(path)
    assert np.array_equal(out, expected)
    info = read_info(path)
    assert (info.height, info.width) == expected.shape[:2]
    if orientation >= 5:
        assert out.shape[:2] == (9, 6)


def test_zero_byte_file_names_file_and_cause(tmp_path):
    p = tmp_path / "empty.png"
    p.write_bytes(b"")
    with pytest.raises(ImageReadError, match=r"empty\.png.*empty \(0 bytes\)"):
        read_image(p)


def test_truncated_png_is_reported(tmp_path):
    arr = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    data = buf.getvalue()
    p = tmp_path / "cut.png"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match=r"cut\.png.*(truncated|cannot decode)"):
        read_image(p)


def test_truncated_jpeg_is_reported(tmp_path):
    arr = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG")
    data = buf.getvalue()
    p = tmp_path / "cut.jpg"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match=r"cut\.jpg.*truncated"):
        read_image(p)


def test_garbage_file_is_reported(tmp_path):
    p = tmp_path / "noise.png"
    p.write_bytes(b"this is not an image at all" * 10)
    with pytest.raises(ImageReadError, match=r"noise\.png.*not a readable image"):
        read_info(p)


def test_missing_file(tmp_path):
    with pytest.raises(ImageReadError, match="not found"):
        read_image(tmp_path / "nope.png")


def test_decompression_bomb_guard(tmp_path, monkeypatch):
    Image.fromarray(np.zeros((100, 100), np.uint8)).save(tmp_path / "big.png")
    monkeypatch.setattr(imageio, "_max_pixels", 9_999)
    with pytest.raises(ImageReadError, match=r"10,000 pixels is above the limit of 9,999"):
        read_image(tmp_path / "big.png")
    with pytest.raises(ImageReadError, match="decompression bombs"):
        read_info(tmp_path / "big.png")
    monkeypatch.setattr(imageio, "_max_pixels", 10_000)
    assert read_image(tmp_path / "big.png").shape == (100, 100)


def test_10000_square_image_loads(tmp_path):
    arr = np.zeros((10000, 10000), np.uint8)
    arr[::97, :] = 255
    arr[5000, 1234] = 7
    cv2.imwrite(str(tmp_path / "huge.png"), arr, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    out = read_image(tmp_path / "huge.png")
    assert out.shape == (10000, 10000)
    assert out[5000, 1234] == 7 and out[97, 0] == 255 and out[1, 1] == 0


def test_non_ascii_names(tmp_path):
    arr = np.full((5, 5, 3), 9, np.uint8)
    p = tmp_path / "straße_画像.png"
    Image.fromarray(arr).save(p)
    assert np.array_equal(read_image(p), arr)


@pytest.mark.parametrize("ext", [".bmp", ".tif", ".webp", ".jpeg"])
def test_other_formats(tmp_path, ext):
    arr = np.zeros((10, 12, 3), np.uint8)
    arr[:, 6:] = (255, 0, 0)
    p = tmp_path / f"x{ext}"
    kwargs = {"lossless": True} if ext == ".webp" else {}
    Image.fromarray(arr).save(p, **kwargs)
    out = read_image(p)
    assert out.shape == (10, 12, 3)
    if ext in (".bmp", ".tif", ".webp"):
        assert np.array_equal(out, arr)
    else:
        assert abs(int(out[5, 10, 0]) - 255) < 8 and int(out[5, 1, 0]) < 8
