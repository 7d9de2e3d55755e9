"""Low light: under-exposure in linear light, the shot and read noise of a dark capture, gamma.

The image is decoded to linear light with the sRGB curve, scaled by ``2 ** -ev`` (``ev`` stops
of under-exposure), given Poisson-Gaussian sensor noise (heteroscedastic Gaussian approximation
of Foi et al. 2008: variance ``x / full_well + read_noise ** 2`` in linear units, so a darker
capture has a worse signal-to-noise ratio, as a real one), re-encoded with the sRGB curve and
finally passed through a random tone gamma (0.9-1.2), as synthetic low-light sets (e.g. Lv et al.,
MBLLEN) vary the tone curve.

Severity -> physical parameter: ``ev = 0.5 + 5.5 * severity`` stops (exposure x0.71 down to
x0.016, the range of low-light photo sets such as LOL). Full-well capacity is log-uniform in 300-3000 electrons per unit signal and the read
noise 0.0005-0.003 (linear units), both random and independent of severity.

``realistic=True`` takes the dark photo with a simulated camera
(:mod:`restora.degradations.camera`): the scene is unprocessed to raw, the light on the sensor
is scaled by ``2 ** -ev``, shot and read noise are added on the Bayer mosaic at ISO 400-6400
(log-uniform; the camera raised its gain but the shot is still dark), and the photo is
developed under an illuminant of 2700-7500 K that the camera's white balance corrects only
60-95 % of (so artificial light leaves a warm cast, shade a blue one), then denoised (90 %),
sharpened (50 %) and saved as JPEG (quality 80-95).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from restora.degradations._common import (
    check_image,
    check_severity,
    finish,
    linear_to_srgb,
    rounded,
    srgb_to_linear,
)


def ev_for_severity(severity: float) -> float:
    """Stops of under-exposure for a severity in [0, 1]."""
    return 0.5 + 5.5 * check_severity(severity)


def severity_for_ev(ev: float) -> float:
    """Inverse of :func:`ev_for_severity`, clipped to [0, 1]."""
    return float(np.clip((ev - 0.5) / 5.5, 0.0, 1.0))


def add_low_light(
    image: np.ndarray,
    severity: float,
    rng: np.random.Generator,
    *,
    ev: float | None = None,
    full_well: float | None = None,
    read_noise: float | None = None,
    gamma: float | None = None,
    noise: bool = True,
    realistic: bool = False,
    iso: float | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Darken by ``ev`` stops (default ``0.5 + 5.5 * severity``) with realistic sensor noise.

    ``noise=False`` gives the noiseless exposure change. Random draws do not depend on
    severity, so for one seed mean brightness falls monotonically with severity.
    ``realistic``: the camera model of the module docstring (``iso`` fixes the gain).
    """
    img = check_image(image)
    severity = check_severity(severity)
    if realistic:
        stops = ev_for_severity(severity) if ev is None else float(ev)
        return _night_shot(img, stops, rng, iso)
    draws = rng.random(3)
    field = rng.standard_normal(img.shape, dtype=np.float32)
    stops = ev_for_severity(severity) if ev is None else float(ev)
    capacity = 300.0 * 10.0 ** draws[0] if full_well is None else float(full_well)
    read = 0.0005 + 0.0025 * draws[1] if read_noise is None else float(read_noise)
    tone = 0.9 + 0.3 * draws[2] if gamma is None else float(gamma)
    exposure = 2.0**-stops
    dark = srgb_to_linear(img) * exposure
    if noise:
        dark = dark + np.sqrt(dark / capacity + read**2) * field
    out = linear_to_srgb(np.clip(dark, 0.0, 1.0)) ** tone
    params: dict[str, Any] = {
        "ev": rounded(stops, 3),
        "exposure": rounded(exposure, 4),
        "gamma": rounded(tone, 3),
    }
    if noise:
        params.update(full_well=rounded(capacity, 1), read_noise=rounded(read, 5))
    return finish(out), params


def add_underexposure(
    image: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, dict[str, Any]]:
    """A daylight photo under-exposed, without the noise of a dark capture (a bright sky or a
    backlight fooled the meter): half the time 0.7-3.2 stops in linear light with a tone gamma
    of 0.9-1.1, else a tone gamma of 1.3-2.2 on the sRGB values (the two darkenings of
    AgenticIR's "dark" besides a shift). ``params["severity"]``: :func:`severity_for_ev` of the
    stops that darken mid-grey alike."""
    if rng.random() < 0.5:
        stops, tone = float(rng.uniform(0.7, 3.2)), float(rng.uniform(0.9, 1.1))
    else:
        stops, tone = 0.0, float(rng.uniform(1.3, 2.2))
    out, params = add_low_light(image, 0.5, rng, ev=stops, gamma=tone, noise=False)
    grey = srgb_to_linear(np.full(1, 0.5, np.float32))
    darker = srgb_to_linear(linear_to_srgb(grey * np.float32(2.0**-stops)) ** np.float32(tone))
    equivalent = float(np.log2(float(grey[0]) / max(float(darker[0]), 1e-6)))
    params.update(variant="daylight", severity=rounded(severity_for_ev(equivalent), 3))
    return out, params


def _night_shot(
    img: np.ndarray, stops: float, rng: np.random.Generator, iso: float | None
) -> tuple[np.ndarray, dict[str, Any]]:
    from restora.degradations.camera import LOW_LIGHT_PROFILE, capture, planckian_rgb

    u = rng.random(3)
    gain_iso = 400.0 * 2.0 ** (4.0 * float(u[0])) if iso is None else float(iso)
    temperature = 2700.0 + 4800.0 * float(u[1])
    corrected = 0.6 + 0.35 * float(u[2])
    ratio = planckian_rgb(temperature) / planckian_rgb(6500.0)
    cast = (ratio / ratio[1]) ** (1.0 - corrected)
    exposure = 2.0**-stops
    out, camera = capture(
        img,
        rng,
        iso=gain_iso,
        exposure=exposure,
        white_balance_error=(float(cast[0]), float(cast[2])),
        downscale=1.0,
        profile=LOW_LIGHT_PROFILE,
        prefix="camera_",
    )
    params: dict[str, Any] = {
        "variant": "realistic",
        "ev": rounded(stops, 3),
        "exposure": rounded(exposure, 4),
        "iso": round(gain_iso),
        "illuminant": round(temperature),
        "white_balance_corrected": rounded(corrected, 3),
        **{k: v for k, v in camera.items() if k not in ("camera_iso", "camera_exposure")},
    }
    return out, params
