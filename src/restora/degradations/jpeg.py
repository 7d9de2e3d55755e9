"""JPEG compression: real encoding with libjpeg through Pillow.

Severity -> physical parameter: the libjpeg (IJG) quality is
``quality = round(95 - 90 * severity)`` (severity 0 -> q95, 0.5 -> q50, 1 -> q5). Chroma is
subsampled 4:2:0 (the default of cameras, Pillow and OpenCV) unless ``subsampling`` says otherwise.
:func:`jpeg_quality_from_quantization_tables` recovers the quality from a file's quantisation
tables, which libjpeg derives from the standard tables of the JPEG specification (Annex K) by the
IJG scaling. (A rough quality from decoded *pixels* is
:func:`restora.quality.statistics.estimate_jpeg_quality`.)

``realistic=True`` compresses the way photos on the web were compressed, more than once, all
4:2:0 (Pillow ``subsampling=2``), with ``quality`` (from severity, as above) the last and
strongest compression:

- ``double`` (40 %): a camera JPEG (quality 85-98) then a re-save at ``quality``; half the
  time the first block grid is shifted by 1-7 px (the photo was cropped between the saves).
- ``resize`` (30 %): a JPEG (quality 75-95) of a larger image, resized by 0.5-0.9 (area or
  bilinear) to the input size, then saved at ``quality``.
- ``messenger`` (30 %): a phone photo (long side 3000-4032 px, camera quality 88-98) shrunk
  to a long side of 1280-1600 px, as messengers do, then saved at ``quality`` (messengers use
  70-85, severities 0.11-0.28). The input is taken to be a crop of the shrunk image.

The larger image of the last two is the input enlarged (bicubic), so the output has the
input's size; the first compression's blocks end up smaller than 8 px and off the final grid.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from restora.degradations._common import check_image, check_severity

# JPEG specification Annex K.1 luminance table (natural order); libjpeg scales it by quality.
_STANDARD_LUMINANCE = np.array(
    [
        [16, 11, 10, 16, 24, 40, 51, 61],
        [12, 12, 14, 19, 26, 58, 60, 55],
        [14, 13, 16, 24, 40, 57, 69, 56],
        [14, 17, 22, 29, 51, 87, 80, 62],
        [18, 22, 37, 56, 68, 109, 103, 77],
        [24, 35, 55, 64, 81, 104, 113, 92],
        [49, 64, 78, 87, 103, 121, 120, 101],
        [72, 92, 95, 98, 112, 100, 103, 99],
    ],
    dtype=np.int64,
)
SUBSAMPLING: dict[str, int] = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2}
CHAINS: tuple[str, ...] = ("double", "resize", "messenger")
CHAIN_PROBABILITIES: tuple[float, ...] = (0.4, 0.3, 0.3)


def quality_for_severity(severity: float) -> int:
    """libjpeg quality (5-95) for a severity in [0, 1]."""
    return round(95 - 90 * check_severity(severity))


def severity_for_quality(quality: float) -> float:
    """Inverse of :func:`quality_for_severity`, clipped to [0, 1]."""
    return float(np.clip((95.0 - quality) / 90.0, 0.0, 1.0))


def ijg_luminance_table(quality: int) -> np.ndarray:
    """The luminance quantisation table libjpeg writes for ``quality`` (jcparam.c scaling)."""
    q = int(np.clip(quality, 1, 100))
    scale = 5000 // q if q < 50 else 200 - 2 * q
    return np.clip((_STANDARD_LUMINANCE * scale + 50) // 100, 1, 255)


def encode_jpeg(image: np.ndarray, quality: int, *, subsampling: str = "4:2:0") -> bytes:
    """Encode float [0, 1] RGB (H, W, 3) or grey (H, W) pixels as JPEG bytes (Pillow)."""
    from PIL import Image as PILImage

    arr = np.asarray(image)
    pixels = arr if arr.dtype == np.uint8 else (np.clip(arr, 0.0, 1.0) * 255.0 + 0.5)
    pil = PILImage.fromarray(np.asarray(pixels, dtype=np.uint8))
    buffer = io.BytesIO()
    options: dict[str, Any] = {"quality": int(quality)}
    if pil.mode == "RGB":
        options["subsampling"] = SUBSAMPLING[subsampling]
    pil.save(buffer, format="JPEG", **options)
    return buffer.getvalue()


def decode_jpeg(data: bytes) -> np.ndarray:
    """Decode JPEG bytes to float32 in [0, 1]: (H, W, 3) for colour, (H, W) for grey."""
    from PIL import Image as PILImage

    with PILImage.open(io.BytesIO(data)) as pil:
        return np.asarray(pil, dtype=np.float32) / 255.0


def jpeg_quality_from_quantization_tables(data: bytes) -> int:
    """The libjpeg quality a JPEG file was written with, from its luminance table.

    The best-matching IJG table is chosen (sorted values, so the table's storage order does not
    matter); exact for files written by libjpeg-based encoders (Pillow, OpenCV, most cameras'
    software), an approximation for others.
    """
    from PIL import Image as PILImage

    with PILImage.open(io.BytesIO(data)) as pil:
        tables = getattr(pil, "quantization", None)
        if not tables:
            raise ValueError("not a JPEG file with quantisation tables")
        luminance = np.sort(np.asarray(tables[min(tables)], dtype=np.int64).ravel())
    errors = [
        np.abs(np.sort(ijg_luminance_table(q).ravel()) - luminance).sum() for q in range(1, 101)
    ]
    return int(np.argmin(errors)) + 1


def add_jpeg(
    image: np.ndarray,
    severity: float,
    rng: np.random.Generator,
    *,
    quality: int | None = None,
    subsampling: str = "4:2:0",
    realistic: bool = False,
    chain: str | None = None,
    first_quality: int | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Encode and decode as JPEG at ``quality`` (default ``round(95 - 90 * severity)``).

    Deterministic: ``rng`` is accepted for the common signature but not used, except by
    ``realistic`` compression chains (see the module docstring; ``chain`` and
    ``first_quality`` fix their choices).
    """
    img = check_image(image)
    q = quality_for_severity(severity) if quality is None else int(quality)
    if not 1 <= q <= 100:
        raise ValueError(f"JPEG quality must be in 1-100, got {q}")
    if realistic:
        return _compression_chain(img, q, rng, chain, first_quality)
    data = encode_jpeg(img, q, subsampling=subsampling)
    out = decode_jpeg(data)
    return out, {"quality": q, "subsampling": subsampling, "bytes": len(data)}


def _jpeg_round_trip(image: np.ndarray, quality: int) -> np.ndarray:
    return decode_jpeg(encode_jpeg(image, quality, subsampling="4:2:0"))


def _compression_chain(
    img: np.ndarray,
    quality: int,
    rng: np.random.Generator,
    chain: str | None,
    first_quality: int | None,
) -> tuple[np.ndarray, dict[str, Any]]:
    import cv2

    u = rng.random(7)
    if chain is None:
        chain = CHAINS[int(np.searchsorted(np.cumsum(CHAIN_PROBABILITIES), u[0] * 0.999999))]
    if chain not in CHAINS:
        raise ValueError(f"unknown JPEG chain {chain!r}; choose one of: {', '.join(CHAINS)}")
    height, width = img.shape[:2]
    params: dict[str, Any] = {"kind": chain, "variant": "realistic"}
    if chain == "double":
        first = round(85 + 13 * u[1]) if first_quality is None else int(first_quality)
        dy, dx = (1 + int(7 * u[3]), 1 + int(7 * u[4])) if u[2] < 0.5 else (0, 0)
        padded = np.pad(img, ((dy, 0), (dx, 0), (0, 0)), mode="reflect")
        earlier = _jpeg_round_trip(padded, first)[dy:, dx:]
        params["shift"] = [dy, dx]
    else:
        if chain == "resize":
            first = round(75 + 20 * u[1]) if first_quality is None else int(first_quality)
            scale = 0.5 + 0.4 * u[5]
            interpolation = cv2.INTER_AREA if u[6] < 0.5 else cv2.INTER_LINEAR
        else:
            first = round(88 + 10 * u[1]) if first_quality is None else int(first_quality)
            long_side = 1280.0 + 320.0 * u[5]
            scale = long_side / (3000.0 + 1032.0 * u[6])
            interpolation = cv2.INTER_AREA
            params["long_side"] = round(long_side)
        size = (max(2, round(width / scale)), max(2, round(height / scale)))
        larger = np.clip(cv2.resize(img, size, interpolation=cv2.INTER_CUBIC), 0.0, 1.0)
        earlier = cv2.resize(
            _jpeg_round_trip(larger, first), (width, height), interpolation=interpolation
        )
        params["scale"] = round(float(scale), 4)
    data = encode_jpeg(np.clip(earlier, 0.0, 1.0), quality, subsampling="4:2:0")
    params.update(quality=quality, first_quality=first, subsampling="4:2:0", bytes=len(data))
    return decode_jpeg(data), params
