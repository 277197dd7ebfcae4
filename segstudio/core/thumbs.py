"""Thumbnails for the image browser, cached on disk (no Qt).

A thumbnail is at most ``size`` pixels on its longer side, RGB uint8.  JPEG
sources are decoded at reduced size (Pillow's ``draft``), so a 24-megapixel
photo costs a few milliseconds instead of a full decode.  The cache file name
hashes the relative path, the file size and its modification time, so an
edited image gets a new thumbnail.  Cache files are written atomically and are
disposable: a broken one is remade.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .atomic import atomic_write_bytes
from .errors import ImageReadError, SegStudioError
from .imageio import check_size, read_image, to_rgb

THUMB_SIZE = 96
_SIMPLE_MODES = ("1", "L", "P", "RGB", "RGBA", "LA", "PA", "CMYK", "YCbCr", "RGBX")


def cache_name(relpath: str, size_bytes: int, mtime_ns: int, size: int) -> str:
    digest = hashlib.blake2b(f"{relpath}\0{size_bytes}\0{mtime_ns}\0{size}".encode(),
                             digest_size=12).hexdigest()
    return f"{digest[:2]}/{digest}.jpg"


def _fit(w: int, h: int, size: int) -> tuple[int, int]:
    scale = size / max(w, h)
    if scale >= 1.0:
        return w, h
    return max(1, round(w * scale)), max(1, round(h * scale))


def make_thumbnail(path: str | os.PathLike[str], size: int = THUMB_SIZE) -> np.ndarray:
    """Decode ``path`` reduced to at most ``size`` px on its longer side (RGB uint8)."""
    path = Path(path)
    from .pyramid import pyramid_thumbnail

    pyr = pyramid_thumbnail(path, size)  # a slide's coarsest level, not a full decode
    if pyr is not None:
        return pyr
    try:
        im: Image.Image = Image.open(path)
    except FileNotFoundError as exc:
        raise ImageReadError(f"{path}: file not found (was it moved or deleted?)") from exc
    except (UnidentifiedImageError, OSError) as exc:
        raise ImageReadError(f"{path}: not a readable image; replace or remove it") from exc
    with im:
        check_size(path, *im.size)  # the reader's bomb guard, with its message
        if im.mode in _SIMPLE_MODES:
            try:
                im.draft("RGB", (size, size))
                im = ImageOps.exif_transpose(im)
                if im.mode not in ("L", "RGB"):
                    im = im.convert("RGB")  # palette, alpha (dropped), CMYK ...
                im.thumbnail((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
                return np.asarray(im.convert("RGB"))
            except (OSError, SyntaxError, ValueError, EOFError) as exc:
                raise ImageReadError(
                    f"{path}: cannot decode ({exc}); replace or remove it") from exc
    # 16-bit and float images: the full reader applies the display stretch
    arr = to_rgb(read_image(path))
    tw, th = _fit(arr.shape[1], arr.shape[0], size)
    return cv2.resize(arr, (tw, th), interpolation=cv2.INTER_AREA)


def load_thumbnail(image_path: str | os.PathLike[str], relpath: str,
                   cache_dir: str | os.PathLike[str] | None,
                   size: int = THUMB_SIZE) -> np.ndarray:
    """The cached thumbnail of an image, made and cached on a miss."""
    image_path = Path(image_path)
    try:
        st = image_path.stat()
    except OSError as exc:
        raise ImageReadError(f"{image_path}: file not found (was it moved or deleted?)") from exc
    cached = None
    if cache_dir is not None:
        cached = Path(cache_dir) / cache_name(relpath, st.st_size, st.st_mtime_ns, size)
        if cached.is_file():
            try:
                with Image.open(cached) as im:
                    return np.asarray(im.convert("RGB"))
            except (OSError, UnidentifiedImageError, SyntaxError, ValueError):
                pass  # a broken cache file is remade below
    thumb = np.ascontiguousarray(make_thumbnail(image_path, size))
    if cached is not None:
        buf = io.BytesIO()
        Image.fromarray(thumb).save(buf, format="JPEG", quality=88)
        with contextlib.suppress(SegStudioError):  # a read-only or full cache costs speed only
            atomic_write_bytes(cached, buf.getvalue())
    return thumb
