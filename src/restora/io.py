"""Safe image reading and writing.

Every image inside restora is an :class:`Image`: float32 RGB in [0, 1] of shape (H, W, 3), an
optional float32 alpha plane (H, W), and the metadata needed to write it back faithfully (bit
depth, ICC profile, EXIF, whether it was grey).

Reading applies the EXIF orientation, keeps 16-bit precision (Pillow cannot hold 16-bit colour,
so those files are decoded with OpenCV or tifffile), converts grey, palette and CMYK (through its
ICC profile when there is one) to RGB, and refuses images over a pixel limit before decoding
them. Writing picks the format from the extension, writes to a temporary file in the target
folder and renames it into place, never replaces the input and never replaces an existing file
unless asked to.
"""

from __future__ import annotations

import contextlib
import io as _bytesio
import logging
import os
import re
import stat
import struct
import tempfile
import threading
import time
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image as PILImage
from PIL import ImageCms, UnidentifiedImageError

from restora.errors import (
    CorruptImageError,
    ImageTooLargeError,
    InputError,
    OutputError,
    UnsupportedFormatError,
)

log = logging.getLogger(__name__)

DEFAULT_MAX_PIXELS = 150_000_000
"""Default pixel-count limit (150 megapixels); override per call or with RESTORA_MAX_PIXELS."""

READ_FORMATS = {"PNG", "JPEG", "MPO", "TIFF", "BMP", "DIB", "WEBP"}
WRITE_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".bmp": "BMP",
    ".webp": "WEBP",
}
SIXTEEN_BIT_FORMATS = {"PNG", "TIFF"}
ALPHA_FORMATS = {"PNG", "TIFF", "WEBP"}
DEFAULT_JPEG_QUALITY = 95
DEFAULT_WEBP_QUALITY = 95
EXIF_ORIENTATION_TAG = 0x0112
_PIL_LIMIT_LOCK = threading.Lock()


@dataclass(frozen=True)
class ImageMeta:
    """What restora keeps about a file so that it can be written back faithfully."""

    path: Path | None = None
    format: str | None = None
    mode: str | None = None
    bit_depth: int = 8
    grey: bool = False
    icc_profile: bytes | None = None
    exif: bytes | None = None
    orientation: int = 1
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Image:
    """An image as restora works on it: float32 RGB in [0, 1], optional alpha, metadata."""

    rgb: np.ndarray
    alpha: np.ndarray | None = None
    meta: ImageMeta = field(default_factory=ImageMeta)

    def __post_init__(self) -> None:
        if self.rgb.ndim != 3 or self.rgb.shape[2] != 3:
            raise ValueError(f"rgb must have shape (H, W, 3), got {self.rgb.shape}")
        if self.alpha is not None and self.alpha.shape != self.rgb.shape[:2]:
            raise ValueError(
                f"alpha shape {self.alpha.shape} does not match image {self.rgb.shape[:2]}"
            )

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def megapixels(self) -> float:
        return self.height * self.width / 1e6

    def with_rgb(self, rgb: np.ndarray) -> Image:
        """A new image with other pixels and the same alpha (resized if the size changed)."""
        alpha = self.alpha
        if alpha is not None and alpha.shape != rgb.shape[:2]:
            alpha = _resize_plane(alpha, rgb.shape[0], rgb.shape[1])
        return Image(np.ascontiguousarray(rgb, dtype=np.float32), alpha, self.meta)

    @classmethod
    def from_array(cls, array: np.ndarray, alpha: np.ndarray | None = None) -> Image:
        """Wrap a uint8/uint16/float array (H, W), (H, W, 3) or (H, W, 4) as an Image."""
        arr = np.asarray(array)
        bit_depth = 16 if arr.dtype == np.uint16 else 8
        arr = to_float(arr)
        grey = arr.ndim == 2
        if arr.ndim == 2:
            arr = np.repeat(arr[:, :, None], 3, axis=2)
        if arr.shape[2] == 4:
            alpha = arr[:, :, 3] if alpha is None else alpha
            arr = arr[:, :, :3]
        if arr.shape[2] == 1:
            arr = np.repeat(arr, 3, axis=2)
        return cls(
            np.ascontiguousarray(arr),
            None if alpha is None else to_float(alpha),
            ImageMeta(bit_depth=bit_depth, grey=grey),
        )


def to_float(array: np.ndarray) -> np.ndarray:
    """Integer or float pixels to float32 in [0, 1] (uint8 /255, uint16 /65535)."""
    arr = np.asarray(array)
    if arr.dtype in (np.uint8, np.uint16):
        # divide in place: one float32 copy of the pixels instead of two (same values)
        out = arr.astype(np.float32)
        return np.divide(out, 255.0 if arr.dtype == np.uint8 else 65535.0, out=out)
    if arr.dtype == np.bool_:
        return arr.astype(np.float32)
    if np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"unsupported integer pixel type {arr.dtype}")
    return np.clip(arr.astype(np.float32), 0.0, 1.0)


def to_uint(array: np.ndarray, bit_depth: int = 8) -> np.ndarray:
    """Float in [0, 1] to uint8 or uint16 with rounding (values are clipped first)."""
    top = 65535.0 if bit_depth == 16 else 255.0
    dtype = np.uint16 if bit_depth == 16 else np.uint8
    return (np.clip(array, 0.0, 1.0) * top + 0.5).astype(dtype)


def max_pixels_default() -> int:
    from restora.settings import settings

    value = settings().max_pixels
    return DEFAULT_MAX_PIXELS if value is None else value


# ---------------------------------------------------------------------------------------- memory

DECODE_BYTES_PER_PIXEL: dict[str, float] = {"default": 21.0, "alpha": 40.0, "sixteen": 32.0}
"""Peak bytes per pixel of :func:`load` itself (Pillow's buffer, the uint array, the float32
RGB planes), measured with /proc/self/status VmHWM on 12 MP files and rounded up: 8-bit RGB
or grey 17-19, RGBA 36, 16-bit RGB 30, 16-bit grey 18 (see docs/quality.md, "Memory")."""

ROTATION_BYTES_PER_PIXEL: dict[str, float] = {"default": 12.0, "alpha": 16.0}
"""What an EXIF rotation adds to the decode: one more copy of the float32 planes."""

GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"})
"""Pillow modes that :func:`load` reads as grey."""

MEMORY_MARGIN = 1.15
"""Headroom on top of an estimate: allocator slack and the interpreter's own growth."""


def available_memory() -> int | None:
    """Bytes this process can still allocate without swapping: the smaller of the system's
    available memory (psutil when installed, else ``MemAvailable`` of /proc/meminfo, else
    ``os.sysconf``) and the headroom under a cgroup memory limit; None when unknown."""
    found: list[int] = []
    try:
        import psutil  # type: ignore[import-untyped]

        found.append(int(psutil.virtual_memory().available))
    except ImportError:
        system = _meminfo_available()
        if system is None:
            with contextlib.suppress(ValueError, OSError, AttributeError):
                system = int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
        if system is not None and system > 0:
            found.append(system)
    headroom = _cgroup_headroom()
    if headroom is not None:
        found.append(headroom)
    return min(found) if found else None


def _meminfo_available() -> int | None:
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return None


def _cgroup_headroom(
    root: Path = Path("/sys/fs/cgroup"), membership: Path = Path("/proc/self/cgroup")
) -> int | None:
    """Limit minus the memory in use of this process's cgroup (v2, then v1), its page cache
    not counted (the kernel reclaims it before refusing memory); None without a limit."""
    folders = [root]
    with contextlib.suppress(OSError):
        for line in membership.read_text().splitlines():
            if line.startswith("0::"):
                folders.insert(0, root / line[3:].lstrip("/"))
    with contextlib.suppress(OSError, ValueError):
        for folder in folders:
            limit_file = folder / "memory.max"
            if limit_file.is_file():
                limit = limit_file.read_text().strip()
                if limit == "max":
                    return None
                used = int((folder / "memory.current").read_text())
                used -= _cgroup_stat(folder / "memory.stat", "file")  # page cache
                return max(int(limit) - used, 0)
        v1 = root / "memory"
        if (v1 / "memory.limit_in_bytes").is_file():
            limit_v1 = int((v1 / "memory.limit_in_bytes").read_text())
            if limit_v1 >= 1 << 60:  # "no limit" is a huge number in v1
                return None
            used = int((v1 / "memory.usage_in_bytes").read_text())
            used -= _cgroup_stat(v1 / "memory.stat", "total_cache")
            return max(limit_v1 - used, 0)
    return None


def _cgroup_stat(path: Path, key: str) -> int:
    with contextlib.suppress(OSError, ValueError):
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    return 0


def format_bytes(count: float) -> str:
    """``"3.1 GB"``, ``"420 MB"`` (decimal units, as memory is usually quoted)."""
    if count >= 1e9:
        return f"{count / 1e9:.1f} GB"
    return f"{max(count, 0) / 1e6:.0f} MB"


def format_pixels(count: float) -> str:
    """``"150.0 megapixels"``, ``"0.25 megapixels"``, or ``"12,288 pixels"`` below 100,000
    (never a rounded "0.0")."""
    if count >= 1e6:
        return f"{count / 1e6:.1f} megapixels"
    if count >= 1e5:
        return f"{count / 1e6:.2f} megapixels"
    return f"{count:,.0f} pixels"


@dataclass(frozen=True)
class ImageHeader:
    """What an image file declares before any pixel is decoded."""

    path: Path
    format: str
    mode: str
    width: int
    height: int
    sixteen_bit: bool = False
    alpha: bool = False
    orientation: int = 1

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def grey(self) -> bool:
        """Whether :func:`load` will mark it grey (one plane of information)."""
        return self.mode in GREY_MODES

    @property
    def decode_bytes(self) -> float:
        """Estimated peak memory of decoding it with :func:`load`."""
        if self.alpha:
            per_pixel = DECODE_BYTES_PER_PIXEL["alpha"]
        elif self.sixteen_bit or self.mode.startswith("I"):
            per_pixel = DECODE_BYTES_PER_PIXEL["sixteen"]
        else:
            per_pixel = DECODE_BYTES_PER_PIXEL["default"]
        if self.orientation != 1:
            per_pixel += ROTATION_BYTES_PER_PIXEL["alpha" if self.alpha else "default"]
        return per_pixel * self.pixels


def check_memory(
    header: ImageHeader, needed: float, purpose: str, max_pixels: int | None = None
) -> None:
    """Refuse an image whose estimated peak memory (``needed`` bytes) is over what is
    available, before any pixel is decoded (:class:`ImageTooLargeError`, one line)."""
    available = available_memory()
    if available is None:
        return
    needed *= MEMORY_MARGIN
    if needed <= available:
        return
    fit = header.pixels * available / needed
    limit = max_pixels_default() if max_pixels is None else max_pixels
    raise ImageTooLargeError(
        f"{header.path}: {header.width}x{header.height} = {header.pixels / 1e6:.1f} megapixels "
        f"needs about {format_bytes(needed)} of memory to {purpose}, over the "
        f"{format_bytes(available)} available (about {fit / 1e6:.1f} megapixels fit now; "
        f"--max-pixels, now {format_pixels(limit)}, refuses larger images before reading)"
    )


def read_header(path: str | os.PathLike[str], *, max_pixels: int | None = None) -> ImageHeader:
    """Format, mode and size of an image file without decoding its pixels (Pillow opens
    lazily); the checks of :func:`load` on the path, format and pixel limit apply."""
    path = Path(path)
    _check_input_path(path)
    limit = max_pixels_default() if max_pixels is None else int(max_pixels)
    try:
        with _own_pixel_limit(), PILImage.open(path) as im:
            return _header_of(im, path, limit)
    except (UnidentifiedImageError, PILImage.DecompressionBombError) as exc:
        raise UnsupportedFormatError(f"{path}: not a recognised image file") from exc
    except (OSError, SyntaxError, ValueError, struct.error, EOFError, IndexError) as exc:
        if isinstance(exc, InputError):
            raise
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CorruptImageError(f"{path}: cannot decode image ({reason})") from exc


def _header_of(im: PILImage.Image, path: Path, limit: int) -> ImageHeader:
    fmt = im.format or "?"
    if fmt not in READ_FORMATS:
        raise UnsupportedFormatError(
            f"{path}: unsupported image format {fmt} (PNG, JPEG, TIFF, BMP, WebP are)"
        )
    width, height = im.size
    if width * height > limit:
        raise ImageTooLargeError(
            f"{path}: {width}x{height} = {format_pixels(width * height)} is over "
            f"the limit of {format_pixels(limit)} (raise it with --max-pixels)"
        )
    if width == 0 or height == 0:
        raise CorruptImageError(f"{path}: image has no pixels")
    alpha = im.mode in ("RGBA", "LA", "La", "RGBa", "PA") or (
        im.mode == "P" and "transparency" in im.info
    )
    sixteen = _is_sixteen_bit_colour(im)  # before getexif(), which may load the tiles
    header = ImageHeader(path, fmt, im.mode, width, height, sixteen, alpha)
    return replace(header, orientation=_declared_orientation(im))


def _declared_orientation(im: PILImage.Image) -> int:
    """The EXIF orientation, without decoding: a PNG's eXIf chunk counts only when it comes
    before the pixel data (Pillow's getexif() would decode the image to look further)."""
    try:
        if im.format == "PNG":
            raw = im.info.get("exif")
            if not raw:
                return 1
            exif = PILImage.Exif()
            exif.load(raw)
        else:
            exif = im.getexif()
        value = int(exif.get(EXIF_ORIENTATION_TAG, 1) or 1)
    except Exception:  # a broken EXIF block only costs the estimate its rotation
        return 1
    return value if value in range(1, 9) else 1


# --------------------------------------------------------------------------------------- reading


def _check_input_path(path: Path) -> None:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, expected an image file")
    if not path.is_file():
        raise InputError(f"{path}: not a regular file")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    if size == 0:
        raise InputError(f"{path}: file is empty")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: permission denied")


@contextlib.contextmanager
def _own_pixel_limit() -> Iterator[None]:
    """Disable Pillow's global bomb check while restora applies its own, settable limit."""
    with _PIL_LIMIT_LOCK:
        saved = PILImage.MAX_IMAGE_PIXELS
        PILImage.MAX_IMAGE_PIXELS = None
        try:
            with warnings.catch_warnings():
                # Pillow warns about odd tags and truncated metadata; restora reports real
                # decoding failures itself, so the warnings would only add noise on stderr.
                warnings.simplefilter("ignore")
                yield
        finally:
            PILImage.MAX_IMAGE_PIXELS = saved


def _orient(array: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1-8) to an (H, W[, C]) array so it displays upright."""
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1, :],
        5: lambda a: np.swapaxes(a, 0, 1),
        6: lambda a: np.swapaxes(a, 0, 1)[:, ::-1],
        7: lambda a: np.swapaxes(a, 0, 1)[::-1, ::-1],
        8: lambda a: np.swapaxes(a, 0, 1)[::-1, :],
    }
    op = ops.get(orientation)
    return array if op is None else np.ascontiguousarray(op(array))


def _is_sixteen_bit_colour(im: PILImage.Image) -> bool:
    """Pillow decodes 16-bit RGB(A) to 8 bits; its tile raw mode tells the real depth."""
    if im.mode not in ("RGB", "RGBA"):
        return False
    for tile in getattr(im, "tile", None) or []:
        args = tile[3] if len(tile) > 3 else None
        if ";16" in str(args):
            return True
    if im.format == "TIFF":
        bits = getattr(im, "tag_v2", {}).get(258)
        if bits and max(bits if isinstance(bits, tuple) else (bits,)) == 16:
            return True
    return False


def _decode_sixteen_bit(path: Path, fmt: str) -> np.ndarray:
    """(H, W, 3|4) uint16 RGB(A) for a 16-bit colour PNG or TIFF."""
    if fmt == "TIFF":
        import tifffile

        tiff = np.asarray(tifffile.imread(str(path)))
        if tiff.ndim == 3 and tiff.shape[0] in (3, 4) and tiff.shape[2] not in (3, 4):
            tiff = np.moveaxis(tiff, 0, -1)  # planar configuration
        return np.asarray(tiff, dtype=np.uint16)
    import cv2

    data = np.fromfile(str(path), dtype=np.uint8)
    arr = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if arr is None or arr.dtype != np.uint16:
        raise CorruptImageError(f"{path}: cannot decode 16-bit image data")
    if arr.ndim == 3 and arr.shape[2] == 4:
        return arr[:, :, [2, 1, 0, 3]]
    return arr[:, :, ::-1] if arr.ndim == 3 else arr


def _cmyk_to_rgb(im: PILImage.Image, icc: bytes | None) -> tuple[PILImage.Image, bytes | None]:
    """CMYK to sRGB through the embedded profile when there is one (Pillow's littleCMS)."""
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(_bytesio.BytesIO(icc))
            converted = ImageCms.profileToProfile(im, source, srgb, outputMode="RGB")
            if converted is not None:
                return converted, srgb.tobytes()
        except (ImageCms.PyCMSError, OSError, ValueError) as exc:
            log.warning("CMYK profile conversion failed (%s); using a naive conversion", exc)
    return im.convert("RGB"), None


def _pil_to_planes(
    im: PILImage.Image, path: Path
) -> tuple[np.ndarray, np.ndarray | None, int, bool, bytes | None]:
    """Decode a Pillow image: (rgb float, alpha float|None, bit depth, grey, icc)."""
    icc = im.info.get("icc_profile")
    mode = im.mode
    if mode == "1":
        im, mode = im.convert("L"), "L"
    if mode == "P" or mode == "PA":
        has_alpha = mode == "PA" or "transparency" in im.info
        im = im.convert("RGBA" if has_alpha else "RGB")
        mode = im.mode
    if mode == "CMYK":
        im, icc = _cmyk_to_rgb(im, icc)
        mode = "RGB"
    if mode in ("YCbCr", "LAB", "HSV"):
        im, mode = im.convert("RGB"), "RGB"
    if mode == "La":
        im, mode = im.convert("LA"), "LA"
    if mode == "RGBa":
        im, mode = im.convert("RGBA"), "RGBA"

    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        grey = np.clip(np.asarray(im).astype(np.float32) / 65535.0, 0.0, 1.0)
        return np.repeat(grey[:, :, None], 3, axis=2), None, 16, True, icc
    if mode == "F":
        grey = np.asarray(im, dtype=np.float32)
        # min and max carry NaN through: no full-size mask of finite values
        if not (np.isfinite(grey.min()) and np.isfinite(grey.max())):
            raise InputError(
                f"{path}: has NaN or infinite pixel values (restora needs finite ones)"
            )
        grey = np.clip(grey, 0.0, 1.0)
        return np.repeat(grey[:, :, None], 3, axis=2), None, 32, True, icc
    if mode == "L":
        grey = to_float(np.asarray(im))
        return np.repeat(grey[:, :, None], 3, axis=2), None, 8, True, icc
    if mode == "LA":
        arr = to_float(np.asarray(im))
        return np.repeat(arr[:, :, :1], 3, axis=2), arr[:, :, 1].copy(), 8, True, icc
    if mode == "RGB":
        return to_float(np.asarray(im)), None, 8, False, icc
    if mode == "RGBA":
        arr = to_float(np.asarray(im))
        return np.ascontiguousarray(arr[:, :, :3]), arr[:, :, 3].copy(), 8, False, icc
    raise UnsupportedFormatError(f"{path}: unsupported pixel mode {mode}")


EXIF_IFD_TAG = 0x8769
EXIF_ISO_TAG = 34855
"""ISOSpeedRatings (PhotographicSensitivity since EXIF 2.3)."""
EXIF_EXPOSURE_TIME_TAG = 33434


def pixel_fingerprint(rgb: np.ndarray) -> int:
    """A cheap fingerprint of an image's pixels: CRC-32 of the shape and of about 64 x 64 of
    them on an even grid. :func:`load` keeps it beside what the file says about itself
    (:func:`file_signals`), so that an image whose pixels changed since (restored, cropped)
    while keeping the metadata is not taken for the file."""
    h, w = rgb.shape[:2]
    sample = np.ascontiguousarray(rgb[:: max(1, h // 64), :: max(1, w // 64)], dtype=np.float32)
    return zlib.crc32(sample.tobytes(), zlib.crc32(repr(tuple(rgb.shape)).encode()))


def file_signals(im: PILImage.Image, exif: PILImage.Exif, rgb: np.ndarray) -> dict[str, Any]:
    """What a file says about how its pixels were made, for ``ImageMeta.extra``: a JPEG's
    quantisation tables (``jpeg_quantization``: 64 values each in table order, luminance
    first), EXIF ``iso`` and ``exposure_time`` (seconds), and, with any of them, the
    ``pixel_fingerprint`` of the decoded pixels. Never raises: a broken block only leaves its
    entry out."""
    signals: dict[str, Any] = {}
    with contextlib.suppress(Exception):
        tables = getattr(im, "quantization", None)
        if tables:
            signals["jpeg_quantization"] = tuple(
                tuple(int(v) for v in tables[key]) for key in sorted(tables)
            )
    for key, tag in (("iso", EXIF_ISO_TAG), ("exposure_time", EXIF_EXPOSURE_TIME_TAG)):
        with contextlib.suppress(Exception):
            value = exif.get_ifd(EXIF_IFD_TAG).get(tag, exif.get(tag))
            if isinstance(value, (tuple, list)):
                value = value[0] if value else None
            if value is not None and np.isfinite(float(value)) and float(value) > 0:
                signals[key] = int(value) if key == "iso" else float(value)
    if signals:
        signals["pixel_fingerprint"] = pixel_fingerprint(rgb)
    return signals


def load(
    path: str | os.PathLike[str],
    *,
    max_pixels: int | None = None,
    peak_memory: Callable[[ImageHeader], float] | None = None,
    purpose: str = "read it",
) -> Image:
    """Read an image file into an :class:`Image`.

    Args:
        path: a PNG, JPEG, TIFF, BMP or WebP file.
        max_pixels: refuse images with more pixels than this (default 150 MP, or the
            ``RESTORA_MAX_PIXELS`` environment variable); checked before decoding.
        peak_memory: the caller's estimate of its peak memory in bytes for this image, from
            the header (``lambda header: 40 * header.pixels``); it, and the decode's own
            peak, must fit in :func:`available_memory`, checked before decoding.
        purpose: what the memory is for, in the refusal (``"assess it"``).

    Raises:
        InputError: missing, empty, a directory, unreadable.
        UnsupportedFormatError: not an image format restora reads.
        CorruptImageError: truncated or garbled data.
        ImageTooLargeError: over the pixel limit, or too large for the memory available.
    """
    path = Path(path)
    _check_input_path(path)
    limit = max_pixels_default() if max_pixels is None else int(max_pixels)
    try:
        with _own_pixel_limit(), PILImage.open(path) as im:
            header = _header_of(im, path, limit)
            needed = header.decode_bytes
            if peak_memory is not None:
                needed = max(needed, float(peak_memory(header)))
            check_memory(header, needed, purpose, limit)
            fmt, mode, sixteen = header.format, header.mode, header.sixteen_bit
            width, height = header.width, header.height
            exif_obj = im.getexif()
            orientation = int(exif_obj.get(EXIF_ORIENTATION_TAG, 1) or 1)
            if orientation not in range(1, 9):
                orientation = 1
            if sixteen:
                # Pillow would decode these to 8 bits: skip that copy, OpenCV/tifffile decode
                raw = _decode_sixteen_bit(path, fmt)
                if raw.shape[:2] != (height, width) or raw.ndim != 3:
                    raise CorruptImageError(f"{path}: 16-bit decode gave shape {raw.shape}")
                rgb = to_float(np.ascontiguousarray(raw[:, :, :3]))
                alpha = to_float(np.ascontiguousarray(raw[:, :, 3])) if raw.shape[2] == 4 else None
                del raw
                depth, grey, icc = 16, False, im.info.get("icc_profile")
            else:
                im.load()
                rgb, alpha, depth, grey, icc = _pil_to_planes(im, path)
            exif_bytes: bytes | None = None
            if len(exif_obj):
                if orientation != 1:
                    exif_obj[EXIF_ORIENTATION_TAG] = 1  # pixels are upright from now on
                exif_bytes = exif_obj.tobytes()
    except (UnidentifiedImageError, PILImage.DecompressionBombError) as exc:
        raise UnsupportedFormatError(f"{path}: not a recognised image file") from exc
    except (OSError, SyntaxError, ValueError, struct.error, EOFError, IndexError) as exc:
        if isinstance(exc, InputError):
            raise
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CorruptImageError(f"{path}: cannot decode image ({reason})") from exc
    rgb = _orient(rgb, orientation)
    if alpha is not None:
        alpha = _orient(alpha, orientation)
        if float(alpha.min()) >= 1.0:
            alpha = None  # fully opaque alpha carries no information; keep it out of the way
    meta = ImageMeta(
        path=path.resolve(),
        format=fmt,
        mode=mode,
        bit_depth=depth,
        grey=grey,
        icc_profile=icc,
        exif=exif_bytes,
        orientation=orientation,
        extra=file_signals(im, exif_obj, rgb),
    )
    return Image(np.ascontiguousarray(rgb, dtype=np.float32), alpha, meta)


# --------------------------------------------------------------------------------------- writing


def format_for(path: str | os.PathLike[str]) -> str:
    """The output format for a file name, from its extension."""
    suffix = Path(path).suffix.lower()
    fmt = WRITE_FORMATS.get(suffix)
    if fmt is None:
        valid = ", ".join(sorted(WRITE_FORMATS))
        raise OutputError(
            f"{path}: cannot write {suffix or 'files without an extension'}; use {valid}"
        )
    return fmt


def check_output(
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    inputs: list[Path] | tuple[Path, ...] = (),
    image: bool = True,
) -> Path:
    """Validate an output path before any work is done; returns it resolved.

    Refuses a path that is one of the inputs (even with ``overwrite``), an existing file
    without ``overwrite``, an unknown extension and a folder that cannot be written.
    ``image=False`` is for other outputs (a CSV table): every rule but the image extension.
    """
    out = Path(path)
    if image:
        format_for(out)
    check_name_length(out)
    resolved = out.resolve()
    for src in inputs:
        try:
            same = Path(src).resolve() == resolved or (
                resolved.exists() and os.path.samefile(src, resolved)
            )
        except OSError:
            same = False
        if same:
            raise OutputError(f"{out}: refusing to overwrite the input image")
    if resolved.is_dir():
        raise OutputError(f"{out}: is a directory, expected an output file name")
    if resolved.exists() and not overwrite:
        raise OutputError(f"{out}: already exists (use --overwrite to replace it)")
    check_folder_writable(out)
    return resolved


def check_folder_writable(path: str | os.PathLike[str]) -> None:
    """Refuse an output whose folder (or its nearest existing ancestor, which the writer would
    create folders under) cannot be written, and a file name too long for it."""
    out = Path(path)
    check_name_length(out)
    existing = out.resolve().parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not _can_write_in(existing):
        raise OutputError(f"{out}: folder {existing} is not writable")


def check_name_length(path: Path) -> None:
    """Refuse a file name longer than the file system takes (255 bytes on most), before any
    work is done rather than when the result is written."""
    folder = path.parent if str(path.parent) else Path(".")
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        limit = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    # the atomic writer adds a hidden prefix and a random suffix to the name
    longest = limit - 24
    if len(os.fsencode(path.name)) > longest:
        raise OutputError(
            f"{path.name[:40]}...: the file name is too long ({len(os.fsencode(path.name))} "
            f"bytes; this folder takes at most {longest} for an output)"
        )


def _can_write_in(folder: Path) -> bool:
    """Probe by creating a file: os.access is wrong for root and for read-only mounts."""
    if not os.access(folder, os.W_OK | os.X_OK):
        return False
    try:
        fd, name = tempfile.mkstemp(prefix=".restora-probe-", dir=folder)
    except OSError:
        return False
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(name)
    return True


def _resize_plane(plane: np.ndarray, height: int, width: int) -> np.ndarray:
    import cv2

    return np.clip(
        cv2.resize(plane.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR),
        0.0,
        1.0,
    )


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def _png_with_metadata(png: bytes, icc: bytes | None, exif: bytes | None) -> bytes:
    """Insert iCCP and eXIf chunks after IHDR (OpenCV's PNG writer cannot attach them)."""
    if not icc and not exif:
        return png
    ihdr_end = 8 + 8 + 13 + 4
    chunks = b""
    if icc:
        chunks += _png_chunk(b"iCCP", b"ICC profile\x00\x00" + zlib.compress(icc))
    if exif:
        raw = exif[6:] if exif.startswith(b"Exif\x00\x00") else exif
        chunks += _png_chunk(b"eXIf", raw)
    return png[:ihdr_end] + chunks + png[ihdr_end:]


def encode(
    image: Image,
    fmt: str,
    *,
    quality: int | None = None,
    bit_depth: int | None = None,
    keep_metadata: bool = True,
) -> bytes:
    """Encode an image to bytes in ``fmt`` (PNG, JPEG, TIFF, BMP, WEBP)."""
    depth = bit_depth or (16 if image.meta.bit_depth >= 16 else 8)
    if fmt not in SIXTEEN_BIT_FORMATS:
        depth = 8
    rgb = image.rgb
    alpha = image.alpha
    if alpha is not None and alpha.shape != rgb.shape[:2]:
        alpha = _resize_plane(alpha, rgb.shape[0], rgb.shape[1])
    if alpha is not None and fmt not in ALPHA_FORMATS:
        log.warning("%s cannot store transparency; compositing over white", fmt)
        rgb = rgb * alpha[:, :, None] + (1.0 - alpha[:, :, None])
        alpha = None
    grey = image.meta.grey and float(np.ptp(rgb, axis=2).max(initial=0.0)) < 1.0 / 512
    icc = image.meta.icc_profile if keep_metadata else None
    exif = image.meta.exif if keep_metadata else None
    if grey and icc:
        icc = None  # an RGB profile on a grey file is invalid; grey profiles are rare

    if depth == 16:
        if grey:
            plane = to_uint(rgb[:, :, 0], 16)
            if alpha is None and fmt == "PNG":
                buf = _bytesio.BytesIO()
                PILImage.fromarray(plane).save(buf, "PNG")
                return _png_with_metadata(buf.getvalue(), None, exif)
            pixels = plane if alpha is None else np.dstack([plane, to_uint(alpha, 16)])
        else:
            pixels = to_uint(rgb, 16)
            if alpha is not None:
                pixels = np.dstack([pixels, to_uint(alpha, 16)])
        if fmt == "TIFF":
            import tifffile

            buf = _bytesio.BytesIO()
            extratags = [(34675, "B", len(icc), icc, True)] if icc else []
            photometric = "minisblack" if pixels.ndim == 2 or grey else "rgb"
            tifffile.imwrite(
                buf,
                pixels,
                photometric=photometric,
                extrasamples=("unassalpha",) if alpha is not None else None,
                compression="zlib",
                extratags=extratags,
            )
            return buf.getvalue()
        import cv2

        if pixels.ndim == 3 and pixels.shape[2] == 4:
            bgr = pixels[:, :, [2, 1, 0, 3]] if not grey else pixels
        elif pixels.ndim == 3 and pixels.shape[2] == 3:
            bgr = pixels[:, :, ::-1]
        else:
            bgr = pixels
        if grey and pixels.ndim == 3:  # grey + alpha: OpenCV has no LA, write RGBA
            g = pixels[:, :, 0]
            bgr = np.dstack([g, g, g, pixels[:, :, 1]])
        ok, data = cv2.imencode(".png", np.ascontiguousarray(bgr))
        if not ok:
            raise OutputError("OpenCV could not encode the 16-bit PNG")
        return _png_with_metadata(data.tobytes(), icc, exif)

    if grey:
        plane = to_uint(rgb[:, :, 0], 8)
        im = (
            PILImage.fromarray(plane)
            if alpha is None
            else PILImage.fromarray(np.dstack([plane, to_uint(alpha, 8)]))
        )
    else:
        arr8 = to_uint(rgb, 8)
        im = (
            PILImage.fromarray(arr8)
            if alpha is None
            else PILImage.fromarray(np.dstack([arr8, to_uint(alpha, 8)]))
        )
    params: dict[str, Any] = {}
    if icc:
        params["icc_profile"] = icc
    if exif and fmt in ("JPEG", "PNG", "WEBP", "TIFF"):
        params["exif"] = exif
    if fmt == "JPEG":
        params.update(quality=quality or DEFAULT_JPEG_QUALITY, subsampling=0, optimize=True)
    elif fmt == "WEBP":
        params.update(quality=quality or DEFAULT_WEBP_QUALITY, method=4)
    elif fmt == "PNG":
        params.update(compress_level=6)
    elif fmt == "TIFF":
        params.update(compression="tiff_deflate")
    buf = _bytesio.BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


def write_bytes_atomic(
    path: str | os.PathLike[str], data: bytes, *, overwrite: bool = False
) -> Path:
    """Write bytes to ``path`` through a temporary file in the same folder and a rename.

    A crash or interrupt leaves either the old state or the complete new file, never a partial
    one. Without ``overwrite`` an existing file is never replaced, even one that appears while
    writing (the final step is a hard link, which fails if the name exists).
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"{target}: cannot create folder {target.parent} ({exc.strerror})"
        ) from None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise OutputError(f"{target}: cannot write in {target.parent} ({exc.strerror})") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        if overwrite:
            os.replace(tmp, target)
        else:
            try:
                os.link(tmp, target)
            except FileExistsError:
                raise OutputError(
                    f"{target}: already exists (use --overwrite to replace it)"
                ) from None
            except OSError:  # file systems without hard links
                if target.exists():
                    raise OutputError(
                        f"{target}: already exists (use --overwrite to replace it)"
                    ) from None
                os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError) and exc.filename in (None, tmp_name):
            # a full disk fails the write with no file name: name the file being written
            exc.filename, exc.filename2 = str(target), None
        raise
    with contextlib.suppress(OSError):
        tmp.unlink()
    _sweep_once(target.parent)
    return target


TEMPORARY_NAME = re.compile(r"\.(?P<name>.+)\.[a-z0-9_]{8}\.tmp")
"""The temporary files of :func:`write_bytes_atomic`: ``tempfile.mkstemp`` with prefix
``.{name}.`` and suffix ``.tmp``, so eight characters of tempfile's alphabet between."""

PROBE_NAME = re.compile(r"\.restora-probe-[a-z0-9_]{8}")
"""The files the writability probes create and remove at once (``.restora-probe-XXXXXXXX``)."""

STALE_AFTER_SECONDS = 3600.0
"""A temporary file untouched for this long belongs to a write that was killed."""

_SWEPT: dict[str, float] = {}
_SWEPT_LOCK = threading.Lock()


def sweep_stale_temporaries(
    folder: str | os.PathLike[str], *, older_than: float = STALE_AFTER_SECONDS
) -> int:
    """Remove the temporary files that killed writes of restora left in ``folder``; returns
    how many were removed.

    Only names of restora's own patterns (:data:`TEMPORARY_NAME`, :data:`PROBE_NAME`), only
    regular files (never a link) owned by this user, not modified for ``older_than`` seconds
    and that no process holds open (where /proc tells) are removed; nothing else is touched
    and no error is raised."""
    now = time.time()
    candidates: list[str] = []
    uid = os.getuid() if hasattr(os, "getuid") else None
    try:
        entries = os.scandir(folder)
    except OSError:
        return 0
    with entries:
        for entry in entries:
            if not (TEMPORARY_NAME.fullmatch(entry.name) or PROBE_NAME.fullmatch(entry.name)):
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if not stat.S_ISREG(info.st_mode) or (uid is not None and info.st_uid != uid):
                continue
            if now - info.st_mtime >= older_than:
                candidates.append(os.path.abspath(entry.path))
    if not candidates:
        return 0
    in_use = open_files()
    removed = 0
    for name in candidates:
        if name in in_use or os.path.realpath(name) in in_use:
            continue
        with contextlib.suppress(OSError):
            os.unlink(name)
            removed += 1
            log.info("removed %s, left by an interrupted write", name)
    return removed


def _sweep_once(folder: Path) -> None:
    """:func:`sweep_stale_temporaries` at most once an hour per folder and process, so that
    writing many files into one folder does not rescan it for each."""
    key = os.path.abspath(folder)
    now = time.monotonic()
    with _SWEPT_LOCK:
        last = _SWEPT.get(key)
        if last is not None and now - last < STALE_AFTER_SECONDS:
            return
        _SWEPT[key] = now
    with contextlib.suppress(Exception):  # best effort: never fail a write that succeeded
        sweep_stale_temporaries(folder)


def open_files() -> set[str]:
    """Every file a process this one may inspect holds open (empty where there is no /proc)."""
    found: set[str] = set()
    proc = Path("/proc")
    if not (proc / "self" / "fd").is_dir():
        return found
    for pid in os.listdir(proc):
        if not pid.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd_entry in os.scandir(proc / pid / "fd"):
                with contextlib.suppress(OSError):
                    found.add(os.readlink(fd_entry.path))
    return found


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save(
    image: Image,
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    quality: int | None = None,
    bit_depth: int | None = None,
    keep_metadata: bool = True,
    inputs: list[Path] | tuple[Path, ...] = (),
) -> Path:
    """Write an image atomically; the format comes from the extension.

    PNG and TIFF are written with 16 bits per channel when the image came from a 16-bit file
    (or ``bit_depth=16``); JPEG uses quality 95 with 4:4:4 chroma unless told otherwise. ICC
    profile and EXIF (orientation reset to upright) are kept. The image's own source file and
    any path in ``inputs`` are never overwritten.
    """
    srcs = list(inputs)
    if image.meta.path is not None:
        srcs.append(image.meta.path)
    target = check_output(path, overwrite=overwrite, inputs=srcs)
    fmt = format_for(target)
    if bit_depth not in (None, 8, 16):
        raise OutputError(f"bit depth must be 8 or 16, got {bit_depth}")
    data = encode(image, fmt, quality=quality, bit_depth=bit_depth, keep_metadata=keep_metadata)
    return write_bytes_atomic(target, data, overwrite=overwrite)
