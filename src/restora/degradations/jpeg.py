"""JPEG compression: real encoding with libjpeg through Pillow.

Severity -> physical parameter: the libjpeg (IJG) quality is
``quality = round(95 - 90 * severity)`` (severity 0 -> q95, 0.5 -> q50, 1 -> q5). Chroma is
subsampled 4:2:0 (the default of cameras, Pillow and OpenCV) unless ``subsampling`` says otherwise.
:func:`jpeg_quality_from_quantization_tables` recovers the quality from a file's quantisation
tables, which libjpeg derives from the standard tables of the JPEG specification (Annex K) by the
IJG scaling. (A rough quality from decoded *pixels* is
:func:`restora.quality.statistics.estimate_jpeg_quality`.)
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
) -> tuple[np.ndarray, dict[str, Any]]:
    """Encode and decode as JPEG at ``quality`` (default ``round(95 - 90 * severity)``).

    Deterministic: ``rng`` is accepted for the common signature but not used.
    """
    del rng
    img = check_image(image)
    q = quality_for_severity(severity) if quality is None else int(quality)
    if not 1 <= q <= 100:
        raise ValueError(f"JPEG quality must be in 1-100, got {q}")
    data = encode_jpeg(img, q, subsampling=subsampling)
    out = decode_jpeg(data)
    return out, {"quality": q, "subsampling": subsampling, "bytes": len(data)}
