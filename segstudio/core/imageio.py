"""Reading images for display and for the model.

Every image comes back as ``uint8``: ``(H, W)`` for grayscale, ``(H, W, 3)``
RGB otherwise.  The rules:

* RGBA / LA / PA: the alpha channel is dropped (not composited).
* Palette images are expanded to their RGB colours.
* 16-bit and 32-bit integer or float images are mapped to 8 bits linearly
  between the 0.1st and the 99.9th percentile of the image's own values
  (clipped), so a 12-bit scan in a 16-bit file uses the full display range.
  A constant image maps to 0.
* The EXIF orientation tag is applied, so width and height are as displayed.
* An image above the decompression-bomb limit (default 400 megapixels, see
  :func:`set_max_pixels` and ``SEGSTUDIO_MAX_PIXELS``) is refused before it is
  decoded; a tiled pyramidal TIFF is not, as it is only ever read by tiles
  (:mod:`.pyramid`).

Pillow parses headers and decodes (it reports truncated files clearly);
16-bit colour files, which Pillow reduces to 8 bits by itself, are decoded with
OpenCV instead so that the percentile rule applies to them too.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from .errors import ImageReadError
from .headers import read_header

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"})

DEFAULT_MAX_PIXELS = 400_000_000
PIXEL_LIMIT_MARK = "is above the limit of"  # in the stored error, so a new limit re-checks it


def _env_limit() -> tuple[int, str]:
    """The limit from SEGSTUDIO_MAX_PIXELS (the default when unset or bad) and what is
    wrong with the variable ('' when nothing)."""
    raw = os.environ.get("SEGSTUDIO_MAX_PIXELS")
    if raw is None or not raw.strip():
        return DEFAULT_MAX_PIXELS, ""
    try:
        value = int(raw.strip().replace("_", ""))
    except ValueError:
        value = 0
    if value <= 0:
        return DEFAULT_MAX_PIXELS, (f"SEGSTUDIO_MAX_PIXELS={raw!r} is not a positive whole "
                                    "number of pixels; fix or unset it (default "
                                    f"{DEFAULT_MAX_PIXELS:,})")
    return value, ""


_max_pixels, _env_problem = _env_limit()


def env_max_pixels_problem() -> str:
    """What is wrong with SEGSTUDIO_MAX_PIXELS ('' when nothing); the default applies then."""
    return _env_problem

# We apply our own, configurable limit before decoding.
Image.MAX_IMAGE_PIXELS = None
ImageFile.LOAD_TRUNCATED_IMAGES = False


def set_max_pixels(limit: int) -> None:
    """Set the decompression-bomb guard (pixels) for this process."""
    global _max_pixels
    if limit <= 0:
        raise ValueError("the pixel limit must be positive")
    _max_pixels = int(limit)


def max_pixels() -> int:
    return _max_pixels


@dataclass(frozen=True)
class ImageInfo:
    """What a header tells without decoding the pixels."""

    width: int  # after EXIF orientation
    height: int
    channels: int  # 1 or 3, as loaded
    bit_depth: int  # 8, 16 or 32 in the file
    orientation: int  # EXIF orientation tag (1 = none)
    format: str


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def _orientation(im: Image.Image) -> int:
    try:
        raw = im.info.get("exif")
        if raw:
            exif = Image.Exif()
            exif.load(raw)
        elif im.format in ("TIFF", "MPO"):
            exif = im.getexif()
        else:
            return 1
        value = int(exif.get(0x0112, 1))
    except Exception:  # a broken EXIF block must not make the image unreadable
        return 1
    return value if value in range(1, 9) else 1


def _rawmode(im: Image.Image) -> str:
    try:
        # Pillow declares tile on ImageFile only; a decoded image keeps it as well
        return str(im.tile[0][3]) if im.tile else ""  # type: ignore[attr-defined]
    except (IndexError, TypeError):
        return ""


def _bit_depth(im: Image.Image) -> int:
    if im.mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        return 16
    if im.mode in ("I", "F"):
        return 32
    if ";16" in _rawmode(im):
        return 16
    return 8


def _channels(im: Image.Image) -> int:
    return 1 if im.mode in ("1", "L", "LA", "I", "I;16", "I;16L", "I;16B", "I;16N", "F") else 3


def _open(path: Path) -> Image.Image:
    try:
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise ImageReadError(f"{path}: file not found (was it moved or deleted?)") from exc
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot read ({exc.strerror})") from exc
    if size == 0:
        raise ImageReadError(f"{path}: the file is empty (0 bytes); replace or remove it")
    try:
        return Image.open(path)
    except UnidentifiedImageError as exc:
        raise ImageReadError(
            f"{path}: not a readable image (unknown or corrupt format); replace or remove it"
        ) from exc
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot read ({_describe(exc)})") from exc


def check_size(path: Path, width: int, height: int) -> None:
    """Refuse an empty size, or one above the decompression-bomb limit, naming the file."""
    if width <= 0 or height <= 0:
        raise ImageReadError(f"{path}: the header gives an empty size {width}x{height}")
    if width * height > _max_pixels:
        raise ImageReadError(
            f"{path}: {width}x{height} = {width * height:,} pixels {PIXEL_LIMIT_MARK} "
            f"{_max_pixels:,} (a guard against decompression bombs); raise it with "
            "--max-pixels or SEGSTUDIO_MAX_PIXELS if you trust this file"
        )


def read_info(path: str | os.PathLike[str]) -> ImageInfo:
    """Read the header only: size after EXIF rotation, channels, bit depth."""
    path = Path(path)
    fast = read_header(path)  # plain PNG / JPEG: the same answer as Pillow's, sooner
    if fast is None and path.suffix.lower() in (".tif", ".tiff"):
        from .pyramid import tiff_info  # a tiled pyramid is read by tiles: no pixel limit

        tiled = tiff_info(path)
        if tiled is not None:
            return tiled
    if fast is not None:
        check_size(path, fast.width, fast.height)
        return ImageInfo(fast.width, fast.height, fast.channels, fast.bit_depth, 1, fast.format)
    im = _open(path)
    with im:
        try:
            width, height = im.size
            orientation = _orientation(im)
            info = ImageInfo(
                width=width,
                height=height,
                channels=_channels(im),
                bit_depth=_bit_depth(im),
                orientation=orientation,
                format=str(im.format),
            )
        except Exception as exc:
            raise ImageReadError(f"{path}: unreadable header ({_describe(exc)})") from exc
    if orientation in (5, 6, 7, 8):
        info = ImageInfo(height, width, info.channels, info.bit_depth, orientation, info.format)
    check_size(path, info.width, info.height)
    return info


def display_range(values: np.ndarray) -> tuple[float, float]:
    """The 0.1st and 99.9th percentiles of a high-bit-depth array's values (finite ones)."""
    if values.dtype == np.uint16:
        hist = np.bincount(values.ravel(), minlength=65536)
        cdf = np.cumsum(hist)
        total = cdf[-1]
        return (float(np.searchsorted(cdf, total * 0.001, side="left")),
                float(np.searchsorted(cdf, total * 0.999, side="left")))
    finite = values[np.isfinite(values)] if values.dtype.kind == "f" else values
    if finite.size == 0:
        return 0.0, 0.0
    lo, hi = (float(v) for v in np.percentile(finite, [0.1, 99.9]))
    return lo, hi


def scale_to_uint8(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Map ``values`` linearly from [lo, hi] to 0..255 (clipped; NaN to 0)."""
    if hi <= lo:
        return np.zeros(values.shape, np.uint8)
    scale = 255.0 / (hi - lo)
    out = (values.astype(np.float32) - np.float32(lo)) * np.float32(scale)
    np.nan_to_num(out, copy=False, nan=0.0)
    np.clip(out, 0, 255, out=out)
    return (out + 0.5).astype(np.uint8)


def stretch_to_uint8(values: np.ndarray) -> np.ndarray:
    """Map a high-bit-depth array to uint8 between its 0.1 and 99.9 percentiles."""
    if values.dtype == np.uint8:
        return values
    lo, hi = display_range(values)
    return scale_to_uint8(values, lo, hi)


def _orient_array(arr: np.ndarray, orientation: int) -> np.ndarray:
    if orientation == 1:
        return arr
    if orientation == 2:
        return arr[:, ::-1]
    if orientation == 3:
        return arr[::-1, ::-1]
    if orientation == 4:
        return arr[::-1]
    if orientation == 5:
        return arr.swapaxes(0, 1)
    if orientation == 6:
        return np.rot90(arr, -1)
    if orientation == 7:
        return arr[::-1, ::-1].swapaxes(0, 1)
    if orientation == 8:
        return np.rot90(arr, 1)
    return arr


def _decode_with_opencv(path: Path) -> np.ndarray:
    data = np.fromfile(str(path), dtype=np.uint8)
    arr = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise ImageReadError(f"{path}: OpenCV could not decode this 16-bit file; it may be corrupt")
    if arr.ndim == 3:
        arr = arr[:, :, :3][:, :, ::-1]
    return arr


def _to_array(im: Image.Image, path: Path) -> np.ndarray:
    mode = im.mode
    if mode == "1":
        return np.asarray(im.convert("L"))
    if mode in ("L", "RGB"):
        return np.asarray(im)
    if mode == "LA":
        return np.asarray(im.getchannel(0))
    if mode in ("RGBA", "RGBX", "RGBa"):
        return np.asarray(im.convert("RGB")) if mode == "RGBa" else np.asarray(im)[:, :, :3]
    if mode in ("P", "PA"):
        palette_mode = im.palette.mode if im.palette is not None else "RGB"
        rgb = im.convert("RGBA" if "A" in palette_mode or "transparency" in im.info else "RGB")
        arr = np.asarray(rgb)
        return arr[:, :, :3] if arr.shape[2] == 4 else arr
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        arr = np.asarray(im).astype(np.uint16, copy=False)
        return stretch_to_uint8(arr)
    if mode in ("I", "F"):
        return stretch_to_uint8(np.asarray(im))
    return np.asarray(im.convert("RGB"))


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Decode an image as uint8 ``(H, W)`` or ``(H, W, 3)`` RGB, oriented."""
    path = Path(path)
    im = _open(path)
    with im:
        width, height = im.size
        check_size(path, width, height)
        orientation = _orientation(im)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                wide_modes = ("I;16", "I;16L", "I;16B", "I;16N", "I")
                if ";16" in _rawmode(im) and im.mode not in wide_modes:
                    arr = stretch_to_uint8(_decode_with_opencv(path))
                else:
                    im.load()
                    arr = _to_array(im, path)
        except ImageReadError:
            raise
        except MemoryError as exc:
            raise ImageReadError(
                f"{path}: not enough memory to decode {width}x{height}; close other programs"
            ) from exc
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            reason = _describe(exc)
            if "truncated" in reason.lower() or isinstance(exc, EOFError):
                reason = f"the file is truncated or incomplete ({reason})"
            raise ImageReadError(f"{path}: cannot decode: {reason}; replace or remove it") from exc
    arr = _orient_array(arr, orientation)
    return np.ascontiguousarray(arr)


def to_rgb(image: np.ndarray) -> np.ndarray:
    """Grayscale ``(H, W)`` to ``(H, W, 3)``; RGB unchanged."""
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2)
    return image


def to_gray(image: np.ndarray) -> np.ndarray:
    """RGB to luminance (ITU-R BT.601, as OpenCV); grayscale unchanged."""
    if image.ndim == 2:
        return image
    return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)


def is_image_file(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS
