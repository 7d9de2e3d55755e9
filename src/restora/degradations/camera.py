"""A camera's image pipeline, run backwards and forwards, for camera-realistic degradations.

After Brooks, Mildenhall, Xue, Chen, Sharlet & Barron (CVPR 2019), "Unprocessing images for
learned raw denoising" (reference code: google-research/unprocessing). An sRGB image is turned
into approximate raw sensor data, the sensor's noise is added where it really arises (on the
Bayer mosaic, proportional to the photon count), and the image is developed again the way a
camera does it:

1. **Unprocess** (:func:`unprocess`): inverse tone curve (the smoothstep ``3x^2 - 2x^3`` is
   inverted in closed form), inverse gamma (``x ** 2.2``), inverse colour correction (sRGB ->
   camera space: a random convex combination of four cameras' XYZ -> camera matrices times
   sRGB -> XYZ, rows normalised so grey stays grey), inverse white balance and digital gain
   (red gain 1.9-2.4, blue gain 1.5-1.9, brightness gain ``1 / N(0.8, 0.1)``), with the paper's
   "safe" inversion near white so highlights stay saturated.
2. **Sensor** (:func:`add_sensor_noise`): an RGGB Bayer mosaic (:func:`mosaic`) gets
   heteroscedastic Gaussian noise, the usual approximation of Poisson (shot) plus Gaussian
   (read) noise: variance ``a * x + b`` for raw signal ``x`` in [0, 1]. ``b`` follows ``a`` by
   the paper's log-linear fit over real cameras, ``log b = 2.18 log a + 1.20 + N(0, 0.26)``.
   The ISO-like level is ``iso = 100 * a / 1e-4``: ``a`` grows with the analogue gain, and
   ``a = 1e-4``, the paper's lowest shot noise, is ISO 100 (its highest, 0.012, is ISO 12000).
   Values are kept in [-black level, 1] and quantised to 16 bits, as a sensor's black-level
   offset lets negative read noise survive into processing.
3. **Develop** (:func:`develop`): demosaicing (OpenCV's bilinear ``COLOR_BayerBG2RGB`` or its
   edge-aware ``_EA`` variant; OpenCV names the RGGB layout "BG"), white balance and gain,
   colour correction (camera -> sRGB), gamma and the tone curve.
4. **In-camera processing** (:func:`isp`): chroma denoising (Gaussian blur of Cb/Cr, which
   leaves the blotchy low-frequency colour noise of phone photos), light luma denoising
   (bilateral filter), sharpening (unsharp mask on luma), and finally a JPEG file
   (probabilities and ranges: :class:`CaptureProfile`).

:func:`capture` runs it all. Its ``sigma`` is the standard deviation (8-bit units) that the
noise has on mid-grey (sRGB 0.5) in the developed image, before in-camera denoising and JPEG,
computed from the noise levels, the camera's gains and matrix and bilinear demosaicing
(:func:`output_sigma`); given a ``sigma`` the shot noise ``a`` is solved for, so severity
means the same visible noise as the classic model's ``sigma = 50 * severity``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from restora.degradations._common import finish, rounded

XYZ_TO_CAMERA: tuple[tuple[tuple[float, float, float], ...], ...] = (
    ((1.0234, -0.2969, -0.2266), (-0.5625, 1.6328, -0.0469), (-0.0703, 0.2188, 0.6406)),
    ((0.4913, -0.0541, -0.0202), (-0.613, 1.3513, 0.2906), (-0.1564, 0.2151, 0.7183)),
    ((0.838, -0.263, -0.0639), (-0.2887, 1.0725, 0.2496), (-0.0627, 0.1427, 0.5438)),
    ((0.6596, -0.2079, -0.0562), (-0.4782, 1.3016, 0.1933), (-0.097, 0.1581, 0.5181)),
)
"""XYZ -> camera matrices of four cameras (the set Brooks et al. sample from)."""
SRGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
READ_NOISE_LINE: tuple[float, float, float] = (2.18, 1.20, 0.26)
"""log(read variance) = slope * log(shot) + intercept + N(0, sd) (Brooks et al., Fig. 2)."""
SHOT_NOISE_AT_ISO100 = 1e-4
BLACK_LEVEL = 64.0 / 1023.0
"""Headroom below zero (a 10-bit sensor's black level of 64) kept for negative noise."""
DEMOSAIC_METHODS: tuple[str, ...] = ("bilinear", "edge_aware")
DOWNSCALE_NOISE_EXPONENT = 0.4
"""Shrinking a developed photo by ``f`` lowers its noise sd by about ``f ** 0.4``, not ``f``:
demosaicing correlates the noise over about two pixels (measured on flat grey, f 1.5-3)."""
_BILINEAR_VARIANCE = np.array([0.5625, 0.625, 0.5625])
"""Mean variance factor of bilinear demosaicing per channel (R, G, B): R and B are measured at
1/4 of the sites and averaged from 2 or 4 neighbours at the others, G at 1/2 and from 4."""


@dataclass(frozen=True)
class Camera:
    """The metadata of one simulated camera: colour matrix and gains."""

    rgb2cam: np.ndarray
    rgb_gain: float
    red_gain: float
    blue_gain: float

    @property
    def cam2rgb(self) -> np.ndarray:
        return np.linalg.inv(self.rgb2cam)

    @property
    def gains(self) -> np.ndarray:
        """Per-channel raw -> white-balanced gains (R, G, B), brightness gain included."""
        return np.array([self.red_gain, 1.0, self.blue_gain]) * self.rgb_gain

    def params(self) -> dict[str, Any]:
        return {
            "rgb_gain": rounded(self.rgb_gain, 3),
            "red_gain": rounded(self.red_gain, 3),
            "blue_gain": rounded(self.blue_gain, 3),
        }


def random_camera(rng: np.random.Generator) -> Camera:
    """A random camera as in Brooks et al.: a convex combination of the four colour matrices,
    red gain U(1.9, 2.4), blue gain U(1.5, 1.9), brightness gain 1 / N(0.8, 0.1) (the normal
    draw limited to [0.5, 1.1]). Always five uniform and one normal draw."""
    uniform = rng.random(6)
    normal = float(rng.standard_normal())
    weights = 1e-8 + uniform[:4] * 1e8  # the paper's U(1e-8, 1e8) weights
    xyz2cam = np.tensordot(weights / weights.sum(), np.asarray(XYZ_TO_CAMERA), axes=1)
    rgb2cam = xyz2cam @ SRGB_TO_XYZ
    rgb2cam /= rgb2cam.sum(axis=1, keepdims=True)
    rgb_gain = 1.0 / float(np.clip(0.8 + 0.1 * normal, 0.5, 1.1))
    return Camera(rgb2cam, rgb_gain, 1.9 + 0.5 * float(uniform[4]), 1.5 + 0.4 * float(uniform[5]))


def inverse_smoothstep(image: np.ndarray) -> np.ndarray:
    """Inverse of the global tone curve ``3x^2 - 2x^3`` (Brooks et al., Eq. 2)."""
    x = np.clip(image, 0.0, 1.0)
    return (0.5 - np.sin(np.arcsin(1.0 - 2.0 * x) / 3.0)).astype(np.float32)


def smoothstep(image: np.ndarray) -> np.ndarray:
    x = np.clip(image, 0.0, 1.0)
    return (x * x * (3.0 - 2.0 * x)).astype(np.float32)


def _apply_matrix(image: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    return np.asarray(image @ matrix.T.astype(np.float32), dtype=np.float32)


def unprocess(image: np.ndarray, camera: Camera) -> np.ndarray:
    """sRGB (H, W, 3) in [0, 1] -> linear raw RGB in the camera's space, in [0, 1]."""
    linear = np.maximum(inverse_smoothstep(image), 1e-8) ** 2.2
    raw = _apply_matrix(linear, camera.rgb2cam)
    gains = (1.0 / camera.gains).astype(np.float32)
    # Brooks et al.'s safe inversion: near white the gain fades to 1, so saturated pixels
    # stay saturated after developing instead of turning grey.
    grey = raw.mean(axis=2, keepdims=True)
    mask = (np.maximum(grey - 0.9, 0.0) / 0.1) ** 2
    safe = np.maximum(mask + (1.0 - mask) * gains, gains)
    return np.clip(raw * safe, 0.0, 1.0).astype(np.float32)


def develop(
    raw: np.ndarray, camera: Camera, white_balance_error: tuple[float, float] = (1.0, 1.0)
) -> np.ndarray:
    """Linear raw RGB -> sRGB: gains, colour correction, gamma 1/2.2, tone curve.

    ``white_balance_error`` multiplies the red and blue gains (a wrong white balance: a colour
    cast), 1 for a camera that balances correctly.
    """
    gains = camera.gains * np.array([white_balance_error[0], 1.0, white_balance_error[1]])
    balanced = np.clip(raw * gains.astype(np.float32), 0.0, 1.0)
    rgb = np.clip(_apply_matrix(balanced, camera.cam2rgb), 1e-8, 1.0)
    return smoothstep(rgb ** np.float32(1.0 / 2.2))


def mosaic(raw: np.ndarray) -> np.ndarray:
    """RGGB Bayer mosaic (H, W) of linear raw RGB (H, W, 3); H and W must be even."""
    bayer = np.empty(raw.shape[:2], dtype=np.float32)
    bayer[0::2, 0::2] = raw[0::2, 0::2, 0]
    bayer[0::2, 1::2] = raw[0::2, 1::2, 1]
    bayer[1::2, 0::2] = raw[1::2, 0::2, 1]
    bayer[1::2, 1::2] = raw[1::2, 1::2, 2]
    return bayer


def demosaic(bayer: np.ndarray, method: str = "bilinear") -> np.ndarray:
    """RGGB mosaic in [-BLACK_LEVEL, 1] -> RGB, through 16-bit integers as a sensor's ADC."""
    import cv2

    codes = {"bilinear": cv2.COLOR_BayerBG2RGB, "edge_aware": cv2.COLOR_BayerBG2RGB_EA}
    if method not in codes:
        raise ValueError(
            f"unknown demosaic method {method!r}; choose one of: {', '.join(DEMOSAIC_METHODS)}"
        )
    scale = 65535.0 / (1.0 + BLACK_LEVEL)
    counts = np.clip(bayer + BLACK_LEVEL, 0.0, 1.0 + BLACK_LEVEL) * scale + 0.5
    rgb = cv2.cvtColor(counts.astype(np.uint16), codes[method])
    return (rgb.astype(np.float32) / np.float32(scale) - np.float32(BLACK_LEVEL)).astype(np.float32)


def read_noise_for_shot(shot: float, deviation: float = 0.0) -> float:
    """Read-noise variance ``b`` for shot-noise coefficient ``a`` (the log-linear fit);
    ``deviation`` is in units of the fit's residual standard deviation (0.26 in log b)."""
    if shot <= 0.0:
        return 0.0
    slope, intercept, spread = READ_NOISE_LINE
    return math.exp(slope * math.log(shot) + intercept + spread * deviation)


def iso_for_shot(shot: float) -> float:
    return 100.0 * shot / SHOT_NOISE_AT_ISO100


def shot_for_iso(iso: float) -> float:
    return float(iso) * SHOT_NOISE_AT_ISO100 / 100.0


def add_sensor_noise(raw: np.ndarray, shot: float, read: float, field: np.ndarray) -> np.ndarray:
    """Raw signal plus noise of variance ``shot * x + read`` (``field``: standard normal draws
    of the same shape). Brighter raw pixels are noisier, as photon counting makes them."""
    variance = np.maximum(raw, 0.0) * np.float32(shot) + np.float32(read)
    return (raw + np.sqrt(variance) * field).astype(np.float32)


def noise_transfer(
    camera: Camera, level: float = 0.5, exposure: float = 1.0
) -> tuple[float, float]:
    """``(P, Q)`` with output variance ``a * P + b * Q`` at sRGB grey ``level``: the raw
    variance pushed through the gains, the colour matrix, gamma and tone curve (first order,
    averaged over the three channels), with bilinear demosaicing's averaging."""
    raw = unprocess(np.full((1, 1, 3), level, np.float32), camera)[0, 0].astype(np.float64)
    raw = raw * exposure
    mixing = camera.cam2rgb * camera.gains[None, :]
    out_linear = np.clip(mixing @ raw, 1e-6, 1.0)
    gamma = out_linear ** (1.0 / 2.2)
    slope = (1.0 / 2.2) * out_linear ** (1.0 / 2.2 - 1.0) * 6.0 * gamma * (1.0 - gamma)
    weights = slope[:, None] ** 2 * mixing**2 * _BILINEAR_VARIANCE[None, :]
    return float((weights @ raw).mean()), float(weights.sum(axis=1).mean())


def output_sigma(
    shot: float, read: float, camera: Camera, level: float = 0.5, exposure: float = 1.0
) -> float:
    """Noise sd (8-bit units) in the developed image at sRGB grey ``level``, before in-camera
    denoising and JPEG (see :func:`noise_transfer`)."""
    signal_part, constant_part = noise_transfer(camera, level, exposure)
    return 255.0 * math.sqrt(max(shot * signal_part + read * constant_part, 0.0))


def shot_for_sigma(
    sigma_8bit: float, camera: Camera, deviation: float = 0.0, level: float = 0.5
) -> float:
    """The shot-noise coefficient ``a`` at which :func:`output_sigma` equals ``sigma_8bit``
    (bisection in log a; read noise tied to ``a`` by the log-linear fit)."""
    if sigma_8bit <= 0.0:
        return 0.0
    signal_part, constant_part = noise_transfer(camera, level)
    target = (sigma_8bit / 255.0) ** 2
    low, high = math.log(1e-9), math.log(1.0)
    for _ in range(48):
        middle = 0.5 * (low + high)
        shot = math.exp(middle)
        variance = shot * signal_part + read_noise_for_shot(shot, deviation) * constant_part
        low, high = (middle, high) if variance < target else (low, middle)
    return math.exp(0.5 * (low + high))


@dataclass(frozen=True)
class CaptureProfile:
    """How often a camera applies each processing step, and the ranges of their parameters.

    Defaults: 25 % of photos are developed from raw by software, as DND's were (no in-camera
    denoising, saved losslessly); the others are camera JPEGs with chroma denoising 60 % (Gaussian sd 0.5-2 px on Cb/Cr), light luma denoising
    40 % (bilateral, range sigma 0.5-1.5 x the noise sd), sharpening 70 % (unsharp mask,
    amount 0.3-1.2, radius 0.7-1.6 px), JPEG 85 % at quality 88-97 (cameras' "fine" settings
    and phones), chroma 4:2:0 (60 %), 4:2:2 (25 %) or 4:4:4 (15 %).
    """

    raw_developed_probability: float = 0.25
    denoise_probability: float = 0.6
    chroma_sigma_range: tuple[float, float] = (0.5, 2.0)
    luma_denoise_probability: float = 0.4
    luma_strength_range: tuple[float, float] = (0.5, 1.5)
    sharpen_probability: float = 0.7
    downscale_probability: float = 0.0
    downscale_range: tuple[float, float] = (1.5, 2.0)
    jpeg_probability: float = 0.85
    jpeg_range: tuple[int, int] = (88, 97)
    subsampling: tuple[tuple[str, float], ...] = (("4:2:0", 0.6), ("4:2:2", 0.25), ("4:4:4", 0.15))


NOISE_PROFILE = CaptureProfile(downscale_probability=0.3)
"""For the noise type: every step random, 30 % of images resized down after capture."""
FINISH_PROFILE = CaptureProfile(raw_developed_probability=0.0, jpeg_probability=1.0)
"""For the other types' realistic variants: a good camera at low ISO, always saved as JPEG."""
LOW_LIGHT_PROFILE = CaptureProfile(
    raw_developed_probability=0.0,
    denoise_probability=0.9,
    luma_denoise_probability=0.7,
    sharpen_probability=0.5,
    jpeg_probability=1.0,
    jpeg_range=(80, 95),
)
"""For night shots: phones denoise dark captures almost always."""
FINISH_SIGMA_RANGE: tuple[float, float] = (0.5, 2.5)
"""Noise (8-bit sd at mid-grey) of the low-ISO capture that ends the other types' variants:
well below what the analyzer reports as noise (sigma 2.5 is severity 0.05)."""


def isp(
    image: np.ndarray,
    *,
    chroma_sigma: float = 0.0,
    luma_strength: float = 0.0,
    noise_sigma: float = 0.0,
    sharpen_amount: float = 0.0,
    sharpen_radius: float = 1.0,
) -> np.ndarray:
    """In-camera processing on sRGB: chroma blur (``chroma_sigma`` px), luma bilateral filter
    (range sigma ``luma_strength * noise_sigma``) and an unsharp mask on luma."""
    import cv2

    if chroma_sigma <= 0 and luma_strength <= 0 and sharpen_amount <= 0:
        return image
    ycc = cv2.cvtColor(np.ascontiguousarray(image, dtype=np.float32), cv2.COLOR_RGB2YCrCb)
    if chroma_sigma > 0:
        chroma = np.ascontiguousarray(ycc[:, :, 1:])
        ycc[:, :, 1:] = cv2.GaussianBlur(chroma, (0, 0), sigmaX=chroma_sigma)
    luma = np.ascontiguousarray(ycc[:, :, 0])
    if luma_strength > 0 and noise_sigma > 0:
        luma = cv2.bilateralFilter(luma, 5, float(luma_strength * noise_sigma), 1.5)
    if sharpen_amount > 0:
        soft = cv2.GaussianBlur(luma, (0, 0), sigmaX=sharpen_radius)
        luma = luma + sharpen_amount * (luma - soft)
    ycc[:, :, 0] = luma
    return np.asarray(cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB), dtype=np.float32)


def capture(
    image: np.ndarray,
    rng: np.random.Generator,
    *,
    sigma: float | None = None,
    iso: float | None = None,
    exposure: float = 1.0,
    white_balance_error: tuple[float, float] = (1.0, 1.0),
    demosaic_method: str | None = None,
    downscale: float | None = None,
    jpeg_quality: int | None = None,
    profile: CaptureProfile = NOISE_PROFILE,
    prefix: str = "",
) -> tuple[np.ndarray, dict[str, Any]]:
    """Photograph ``image`` (sRGB float32 (H, W, 3)) with a random camera; (image, params).

    Give ``sigma`` (8-bit noise sd at mid-grey in the output, see the module docstring) or
    ``iso`` (then the recorded ``sigma`` is the noise on what was mid-grey in the scene, at
    ``exposure``). ``exposure`` scales the light reaching the sensor (``2 ** -ev`` for low light).
    ``downscale`` > 1 photographs an image that many times larger (bicubic) and shrinks the
    result back (area), as a photo resized for the web is: finer, weaker, correlated noise;
    ``sigma`` then means the noise after shrinking. ``jpeg_quality`` 0 saves no JPEG.
    Unset choices are drawn with ``profile``'s probabilities. The number of draws does not
    depend on the options, so one seed gives one camera. Params keys get ``prefix``.
    """
    import cv2

    from restora.degradations.jpeg import decode_jpeg, encode_jpeg

    height, width = image.shape[:2]
    u = rng.random(14)
    camera = random_camera(rng)
    deviation = float(rng.standard_normal())
    method = DEMOSAIC_METHODS[int(u[0] * len(DEMOSAIC_METHODS))]
    method = method if demosaic_method is None else demosaic_method
    if downscale is None:
        low, high = profile.downscale_range
        factor = low + (high - low) * u[1] if u[2] < profile.downscale_probability else 1.0
    else:
        factor = max(1.0, float(downscale))
    if iso is not None:
        shot = shot_for_iso(iso)
    else:
        target = 0.0 if sigma is None else float(sigma)
        shot = shot_for_sigma(target * factor**DOWNSCALE_NOISE_EXPONENT, camera, deviation)
    read = read_noise_for_shot(shot, deviation)
    scene = image
    if factor > 1.0:
        size = (max(2, round(width * factor)), max(2, round(height * factor)))
        scene = np.clip(cv2.resize(image, size, interpolation=cv2.INTER_CUBIC), 0.0, 1.0)
    big_h, big_w = scene.shape[:2]
    pad_h, pad_w = big_h % 2, big_w % 2
    if pad_h or pad_w:
        scene = np.pad(scene, ((0, pad_h), (0, pad_w), (0, 0)), mode="symmetric")
    raw = unprocess(scene, camera) * np.float32(exposure)
    field = rng.standard_normal(raw.shape[:2], dtype=np.float32)
    bayer = add_sensor_noise(mosaic(raw), shot, read, field)
    rgb = develop(demosaic(bayer, method), camera, white_balance_error)[:big_h, :big_w]
    noise_sigma = output_sigma(shot, read, camera, 0.5, exposure) / 255.0
    c_low, c_high = profile.chroma_sigma_range
    chroma = c_low + (c_high - c_low) * u[4] if u[3] < profile.denoise_probability else 0.0
    l_low, l_high = profile.luma_strength_range
    luma = l_low + (l_high - l_low) * u[6] if u[5] < profile.luma_denoise_probability else 0.0
    amount = 0.3 + 0.9 * u[8] if u[7] < profile.sharpen_probability else 0.0
    developed = bool(u[13] < profile.raw_developed_probability)
    if developed:
        chroma = luma = 0.0
    radius = 0.7 + 0.9 * u[9]
    rgb = isp(
        rgb,
        chroma_sigma=chroma * min(factor, 2.0) if factor > 1 else chroma,
        luma_strength=luma,
        noise_sigma=noise_sigma,
        sharpen_amount=amount,
        sharpen_radius=radius,
    )
    if factor > 1.0:
        rgb = cv2.resize(np.clip(rgb, 0.0, 1.0), (width, height), interpolation=cv2.INTER_AREA)
    if jpeg_quality is None:
        q_low, q_high = profile.jpeg_range
        saved = u[10] < profile.jpeg_probability and not developed
        quality = round(q_low + (q_high - q_low) * u[11]) if saved else 0
    else:
        quality = int(jpeg_quality)
    names, chances = zip(*profile.subsampling, strict=True)
    subsampling = names[int(np.searchsorted(np.cumsum(chances), u[12] * 0.999999 * sum(chances)))]
    out = finish(rgb)
    if quality > 0:
        out = decode_jpeg(encode_jpeg(out, quality, subsampling=subsampling))
    params: dict[str, Any] = {
        # the noise on what was mid-grey in the scene (darker with exposure < 1), after shrinking
        "sigma": rounded(255.0 * noise_sigma / factor**DOWNSCALE_NOISE_EXPONENT, 3),
        "iso": round(iso_for_shot(shot)),
        "shot_noise": rounded(shot, 7),
        "read_noise": rounded(read, 9),
        **camera.params(),
        "demosaic": method,
        "raw_developed": developed,
        "chroma_denoise": rounded(chroma, 2),
        "luma_denoise": rounded(luma, 2),
        "sharpen": rounded(amount, 2),
        "sharpen_radius": rounded(radius, 2),
        "downscale": rounded(factor, 3),
        "jpeg_quality": quality or None,
        "jpeg_subsampling": subsampling if quality else None,
    }
    if exposure != 1.0:
        params["exposure"] = rounded(exposure, 5)
    return out, {f"{prefix}{key}": value for key, value in params.items()}


def finish_capture(
    image: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, dict[str, Any]]:
    """End a realistic variant the way a photo ends: a low-ISO capture saved as JPEG
    (:data:`FINISH_PROFILE`, noise sigma in :data:`FINISH_SIGMA_RANGE`); the main choices
    are returned with keys prefixed ``camera_``."""
    low, high = FINISH_SIGMA_RANGE
    sigma = low + (high - low) * float(rng.random())
    out, params = capture(image, rng, sigma=sigma, profile=FINISH_PROFILE, prefix="camera_")
    keep = ("sigma", "iso", "demosaic", "sharpen", "jpeg_quality", "jpeg_subsampling")
    return out, {f"camera_{key}": params[f"camera_{key}"] for key in keep}


def planckian_rgb(temperature: float) -> np.ndarray:
    """Linear sRGB colour (max 1) of a black body at ``temperature`` kelvin (1667-25000 K):
    the chromaticity of the Planckian locus (Kim et al. 2002 cubic fit), to XYZ, to sRGB."""
    t = float(np.clip(temperature, 1667.0, 25000.0))
    if t <= 4000.0:
        x = -0.2661239e9 / t**3 - 0.2343589e6 / t**2 + 0.8776956e3 / t + 0.179910
    else:
        x = -3.0258469e9 / t**3 + 2.1070379e6 / t**2 + 0.2226347e3 / t + 0.240390
    if t <= 2222.0:
        y = -1.1063814 * x**3 - 1.34811020 * x**2 + 2.18555832 * x - 0.20219683
    elif t <= 4000.0:
        y = -0.9549476 * x**3 - 1.37418593 * x**2 + 2.09137015 * x - 0.16748867
    else:
        y = 3.0817580 * x**3 - 5.87338670 * x**2 + 3.75112997 * x - 0.37001483
    xyz = np.array([x / y, 1.0, (1.0 - x - y) / y])
    rgb = np.maximum(np.linalg.solve(SRGB_TO_XYZ, xyz), 0.0)
    return (rgb / rgb.max()).astype(np.float32)
