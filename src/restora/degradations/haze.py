"""Haze and fog by the atmospheric scattering model ``I = J t + A (1 - t)``, ``t = exp(-beta d)``.

Severity -> physical parameter: the scattering coefficient is ``beta = 0.2 + 2.8 * severity``
per unit of relative depth (depth runs from about 0.15, near, to 1, far), so the farthest
transmission goes from 0.82 (severity 0) to 0.06 (severity 1). The airlight ``A`` is a bright,
nearly grey colour (0.75-1.0, tinted by at most +-0.03 per channel).

Depth proxy: without a depth map, depth is a vertical gradient (the top of a photo is usually
farther away: sky, horizon) with a random horizon height, mixed with a smooth random field
(bicubic-upsampled coarse noise) for uneven, patchy fog. This is the heuristic of synthetic
haze datasets without depth sensors; a real depth map can be passed as ``depth``.

``realistic=True`` makes haze as the atmosphere does, in linear light:
- uneven depth (:func:`scene_depth`), in :data:`FOG_SHARE` of the draws starting well away
  from the camera (a fog the camera stands in, which veils the foreground too): 30-70 % the colour attenuation prior of the clean photo
  (bright unsaturated regions such as sky far, dark saturated objects near; smoothed), the
  rest a smooth random field over three octaves tilted towards the top (weight 0-0.7),
  contrast-stretched towards near and far (a foreground and a distance), from
  0.02 (near: the foreground stays clear) to 1 (far), so one severity hazes about as much as
  the classic model (mean transmission 0.33 instead of 0.29 at severity 0.9);
- wavelength-dependent scattering: ``beta_c = beta * (lambda_c / 550 nm) ** -gamma`` for
  lambda = 610, 550, 465 nm with the Angstrom exponent gamma in U(0, 1.3) (fog's large drops
  scatter all colours alike, gamma ~ 0; haze's small particles scatter blue more);
- a coloured airlight: the colour of a black body at 4500-10000 K (warm smog and sunrise to
  blue sky light, :func:`restora.degradations.camera.planckian_rgb`), 0-50 % of it mixed
  with grey, brightness 0.7-1.0, up to 25 % brighter towards the top of the frame (sky);
- then a low-ISO photograph saved as JPEG (:func:`restora.degradations.camera.finish_capture`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from restora.degradations._common import check_image, check_severity, finish, rounded

NEAR_DEPTH = 0.15


def beta_for_severity(severity: float) -> float:
    """Scattering coefficient per unit relative depth for a severity in [0, 1]."""
    return 0.2 + 2.8 * check_severity(severity)


def severity_for_beta(beta: float) -> float:
    """Inverse of :func:`beta_for_severity`, clipped to [0, 1]."""
    return float(np.clip((beta - 0.2) / 2.8, 0.0, 1.0))


def depth_proxy(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """Relative depth in [NEAR_DEPTH, 1], far at the top, with smooth random variation."""
    import cv2

    horizon = rng.uniform(0.2, 0.6)  # fraction of the height where the far field ends
    rows = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    vertical = np.clip((1.0 - rows) / (1.0 - horizon), 0.0, 1.0) ** 1.5
    coarse = rng.random((4, 6)).astype(np.float32)
    field = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    weight = rng.uniform(0.2, 0.5)
    depth = (1.0 - weight) * np.broadcast_to(vertical, (height, width)) + weight * field
    low, high = float(depth.min()), float(depth.max())
    depth = (depth - low) / max(high - low, 1e-6)
    return (NEAR_DEPTH + (1.0 - NEAR_DEPTH) * depth).astype(np.float32)


def add_haze(
    image: np.ndarray,
    severity: float,
    rng: np.random.Generator,
    *,
    beta: float | None = None,
    airlight: float | tuple[float, float, float] | None = None,
    depth: np.ndarray | None = None,
    realistic: bool = False,
    camera: bool = True,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Add haze with scattering ``beta`` (default from severity), airlight and a depth map.

    ``depth`` (H, W) is relative depth (larger is farther); the proxy of the module docstring
    is used when it is not given. Random draws do not depend on severity, so for one seed the
    dark channel rises monotonically with severity. ``realistic``: see the module docstring
    (``camera=False`` leaves out the photograph at the end).
    """
    img = check_image(image)
    severity = check_severity(severity)
    if realistic:
        scattering = beta_for_severity(severity) if beta is None else float(beta)
        return _atmospheric_haze(img, scattering, rng, airlight, depth, camera)
    height, width = img.shape[:2]
    level = rng.uniform(0.75, 1.0)
    tint = rng.uniform(-0.03, 0.03, 3)
    proxy = depth_proxy(height, width, rng)
    if depth is not None:
        proxy = np.asarray(depth, dtype=np.float32)
        if proxy.shape != (height, width):
            raise ValueError(f"depth shape {proxy.shape} does not match image {img.shape[:2]}")
    if airlight is None:
        light = np.clip(level + tint, 0.0, 1.0).astype(np.float32)
    else:
        light = np.broadcast_to(np.asarray(airlight, dtype=np.float32), (3,)).copy()
    scattering = beta_for_severity(severity) if beta is None else float(beta)
    transmission = np.exp(-scattering * proxy)[:, :, None]
    out = img * transmission + light * (1.0 - transmission)
    params = {
        "beta": rounded(scattering, 3),
        "airlight": rounded(light, 3),
        "mean_transmission": rounded(float(transmission.mean()), 3),
        "depth": "given" if depth is not None else "proxy",
    }
    return finish(out), params


WAVELENGTHS_NM: tuple[float, float, float] = (610.0, 550.0, 465.0)
REALISTIC_NEAR = 0.02
"""The nearest relative depth of the realistic variant: the foreground is a few metres away
and nearly clear, as in real foggy photos (the mean transmission changes little: 0.33 instead
of 0.29 at severity 0.9)."""


FOG_SHARE = 0.4
FOG_NEAR = (0.2, 0.6)
"""Share of realistic hazes that are a fog the camera stands in (ground fog, mist in a forest, a
foggy street): the nearest object is then already 0.2-0.6 of the way to the far field, so the
whole frame is veiled rather than only the distance. Real foggy photos are mostly of this kind;
with the foreground always clear the analyzer never learned them."""


def scene_depth(image: np.ndarray, field: np.ndarray, tilt: float, cue: float) -> np.ndarray:
    """Relative depth in [0, 1] (1 far) for a clean photo without a depth map.

    A mix of the colour attenuation prior (Zhu, Mai & Shao 2015: bright, unsaturated regions
    such as sky and distant walls are far, dark saturated ones near; smoothed so depth stays
    smooth), weight ``cue``, and a smooth random field tilted towards the top by ``tilt``.
    """
    import cv2

    value = image.max(axis=2)
    saturation = (value - image.min(axis=2)) / np.maximum(value, 1e-3)
    sigma = 0.02 * min(image.shape[:2]) + 1.0
    prior = cv2.GaussianBlur((value - saturation).astype(np.float32), (0, 0), sigmaX=sigma)
    rows = np.linspace(0.0, 1.0, image.shape[0], dtype=np.float32)[:, None]
    random_part = (1.0 - tilt) * field + tilt * (1.0 - rows)
    depth = _normalised(cue * _normalised(prior) + (1.0 - cue) * _normalised(random_part))
    for _ in range(2):  # push towards near and far: scenes have a foreground and a distance
        depth = depth * depth * (3.0 - 2.0 * depth)
    return depth


def _normalised(values: np.ndarray) -> np.ndarray:
    low = float(values.min())
    return ((values - low) / max(float(values.max()) - low, 1e-6)).astype(np.float32)


def _atmospheric_haze(
    img: np.ndarray,
    scattering: float,
    rng: np.random.Generator,
    airlight: float | tuple[float, float, float] | None,
    depth: np.ndarray | None,
    camera: bool,
) -> tuple[np.ndarray, dict[str, Any]]:
    from restora.degradations._common import linear_to_srgb, smooth_field, srgb_to_linear
    from restora.degradations.camera import finish_capture, planckian_rgb

    height, width = img.shape[:2]
    u = rng.random(8)
    field = smooth_field(height, width, rng, cells=3, octaves=3)
    rows = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    if depth is None:
        distance = scene_depth(img, field, tilt=0.7 * float(u[0]), cue=0.3 + 0.4 * float(u[6]))
        near = REALISTIC_NEAR
        if float(u[7]) < FOG_SHARE:  # the camera inside the fog: even the foreground is veiled
            near = FOG_NEAR[0] + (FOG_NEAR[1] - FOG_NEAR[0]) * float(u[7]) / FOG_SHARE
        distance = (near + (1.0 - near) * distance).astype(np.float32)
    else:
        distance = np.asarray(depth, dtype=np.float32)
        if distance.shape != (height, width):
            raise ValueError(f"depth shape {distance.shape} does not match image {img.shape[:2]}")
    angstrom = 1.3 * float(u[1])
    betas = scattering * (np.asarray(WAVELENGTHS_NM) / 550.0) ** -angstrom
    temperature = 4500.0 + 5500.0 * float(u[2])
    colour = 0.5 * float(u[3])
    brightness = 0.7 + 0.3 * float(u[4])
    if airlight is None:
        tint = colour * planckian_rgb(temperature) + (1.0 - colour)
        light_srgb = np.clip(brightness * tint / tint.max(), 0.0, 1.0)
    else:
        light_srgb = np.broadcast_to(np.asarray(airlight, dtype=np.float32), (3,)).copy()
    sky = 1.0 + 0.25 * float(u[5]) * (1.0 - rows)[:, :, None]  # brighter towards the top
    light = srgb_to_linear(light_srgb.astype(np.float32))[None, None, :] * sky
    transmission = np.exp(-distance[:, :, None] * betas[None, None, :].astype(np.float32))
    linear = srgb_to_linear(img) * transmission + np.minimum(light, 1.0) * (1.0 - transmission)
    out = finish(linear_to_srgb(linear))
    params: dict[str, Any] = {
        "variant": "realistic",
        "beta": rounded(scattering, 3),
        "beta_rgb": rounded(betas, 3),
        "angstrom": rounded(angstrom, 3),
        "airlight": rounded(light_srgb, 3),
        "airlight_temperature": round(temperature),
        "mean_transmission": rounded(float(transmission.mean()), 3),
        "depth": "given" if depth is not None else "smooth",
        "nearest_depth": rounded(float(distance.min()), 3),
    }
    if camera:
        out, captured = finish_capture(out, rng)
        params.update(captured)
    return out, params
