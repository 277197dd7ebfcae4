"""Mask files: single-channel 8-bit PNGs whose pixel values are class ids.

Masks are written with a palette of the class colours (PNG colour type 3), so
any viewer shows them in colour while the stored values stay the class ids.
Reading accepts palette, grayscale and 16-bit grayscale PNGs (values are the
ids) and RGB colour-coded maps (colours are looked up in the class table).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .atomic import atomic_write_bytes
from .errors import MaskError

PNG_COMPRESS_LEVEL = 3  # masks compress well; level 3 is ~5x faster than 6 for ~5 % more bytes


def encode_mask_png(mask: np.ndarray, palette: np.ndarray | None) -> bytes:
    """PNG bytes for a uint8 (H, W) mask, with a 256-colour palette if given."""
    if mask.dtype != np.uint8 or mask.ndim != 2:
        raise MaskError(f"a mask must be a 2-D uint8 array, got {mask.dtype} {mask.shape}")
    mask = np.ascontiguousarray(mask)
    im = Image.frombuffer("L", (mask.shape[1], mask.shape[0]), mask, "raw", "L", 0, 1)
    if palette is not None:
        im = im.copy()
        im.putpalette(np.asarray(palette, dtype=np.uint8).reshape(-1).tolist(), rawmode="RGB")
    buf = io.BytesIO()
    im.save(buf, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buf.getvalue()


def write_mask(path: str | os.PathLike[str], mask: np.ndarray, palette: np.ndarray | None) -> None:
    """Atomically write a mask PNG (temp file, fsync, rename)."""
    atomic_write_bytes(path, encode_mask_png(mask, palette))


def _colour_to_ids(rgb: np.ndarray, palette: np.ndarray, known: np.ndarray,
                   path: Path) -> np.ndarray:
    codes = ((rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8)
             | rgb[..., 2])
    lookup: dict[int, int] = {}
    for cid in np.flatnonzero(known):
        r, g, b = (int(v) for v in palette[cid])
        lookup.setdefault((r << 16) | (g << 8) | b, int(cid))
    uniq, inverse = np.unique(codes.ravel(), return_inverse=True)
    ids = np.empty(len(uniq), dtype=np.uint8)
    for i, code in enumerate(uniq):
        found = lookup.get(int(code))
        if found is None:
            col = (int(code) >> 16, (int(code) >> 8) & 255, int(code) & 255)
            raise MaskError(
                f"{path}: colour {col} is not the colour of any class; "
                "fix the class colours or save the mask with class ids"
            )
        ids[i] = found
    return ids[inverse].reshape(codes.shape)


def open_label_image(path: Path, redo: str = "re-import") -> Image.Image:
    """The decoded image of a label map file, or one MaskError line that says what is
    wrong (empty, missing, not an image, broken) and what to do (``redo`` it)."""
    try:
        if path.stat().st_size == 0:
            raise MaskError(f"{path}: the mask file is empty (0 bytes); delete it or {redo}")
        im = Image.open(path)
    except FileNotFoundError as exc:
        raise MaskError(f"{path}: mask file not found") from exc
    except UnidentifiedImageError as exc:
        raise MaskError(f"{path}: not a readable image; delete it or {redo}") from exc
    except OSError as exc:
        raise MaskError(f"{path}: cannot read ({exc})") from exc
    try:
        im.load()
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        im.close()
        raise MaskError(f"{path}: cannot decode ({exc}); the file is broken") from exc
    return im


def read_mask(
    path: str | os.PathLike[str],
    palette: np.ndarray | None = None,
    known: np.ndarray | None = None,
) -> np.ndarray:
    """Read a label map as uint8 class ids.

    ``palette``/``known`` (from a :class:`ClassTable`) are needed only for
    RGB colour-coded maps.
    """
    path = Path(path)
    with open_label_image(path) as im:
        mode = im.mode
        if mode in ("P", "L"):
            return np.array(im, dtype=np.uint8)
        if mode == "1":
            return np.array(im.convert("L"), dtype=np.uint8) // 255
        if mode in ("I", "I;16", "I;16L", "I;16B", "I;16N"):
            arr = np.asarray(im)
            if arr.size and int(arr.max()) > 255:
                raise MaskError(
                    f"{path}: holds value {int(arr.max())}; class ids must be 0..255"
                )
            return arr.astype(np.uint8)
        if mode in ("LA", "PA"):
            return np.array(im.getchannel(0), dtype=np.uint8)
        if mode in ("RGB", "RGBA"):
            rgb = np.asarray(im)[..., :3]
            r_, g_, b_ = rgb[..., 0], rgb[..., 1], rgb[..., 2]
            if np.array_equal(r_, g_) and np.array_equal(g_, b_):
                gray = np.ascontiguousarray(rgb[..., 0])
                if palette is None:
                    return gray
                # gray-coded ids unless the gray values are exactly class colours
                ids_known = known if known is not None else np.ones(256, bool)
                if ids_known[np.unique(gray)].all():
                    return gray
            if palette is None or known is None:
                raise MaskError(f"{path}: an RGB mask needs a class table to map colours")
            return _colour_to_ids(rgb, palette, known, path)
    raise MaskError(f"{path}: unsupported mask mode {mode}; save it as 8-bit PNG")


def unknown_ids(mask: np.ndarray, known: np.ndarray) -> list[int]:
    """Class ids present in the mask that the table does not know."""
    present = np.flatnonzero(np.bincount(mask.ravel(), minlength=256))
    return [int(v) for v in present if not known[v]]
