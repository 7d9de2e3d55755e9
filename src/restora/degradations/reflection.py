"""Reflections from glass: a second image, blurred and possibly ghosted, blended in.

Model (CEILNet, Fan et al. 2017; Zhang et al. 2018): ``I = (1 - w) T + w (K * R)`` with the
transmitted scene ``T``, the reflected scene ``R``, a Gaussian blur ``K`` (the reflected scene
is out of the focal plane) and the reflection weight ``w``. With probability 0.5 the
reflection is ghosted: thick glass reflects from both surfaces, giving ``R`` plus a shifted,
weaker copy (Shih et al. 2015).

Severity -> physical parameter: ``w = 0.05 + 0.35 * severity``. The blur sigma is 1-4 px (scaled
with the image size for images larger than 256 px) and the ghost shift 3-12 px.

Where ``R`` comes from: ``reflection_source`` (one image or a sequence, the pool, of which one
is picked) when given: the training data set passes other images of its pool. Otherwise an image
shipped with scikit-image (astronaut, chelsea, coffee, rocket) is used, never the
image itself (a mirrored copy of the scene would be easy to spot and unrealistic). ``R`` is a
random crop of the source with the target's aspect ratio, resized and randomly flipped.

``realistic=True`` reflects as real glass does, in linear light (a reflection adds light, so
it shows most in the dark parts of the scene): ``I = (1 - w(x)) g T + w(x) (K * R)`` with
- a defocused reflected scene (Gaussian sd 0.5-6 px, scaled as above);
- ghosting in 70 % of cases: the second surface's copy shifted 2-12 px, 30-80 % as strong;
- an uneven weight ``w(x)``, mean ``0.05 + 0.35 * severity``: a ramp across the frame in a
  random direction (the reflectance grows towards grazing angles and the reflected scene is
  unevenly lit) plus a smooth random field, from 0.1 to about 2 times the mean;
- a slight glass tint ``g`` (red and blue down by up to 6 %, green glass);
- then a low-ISO photograph saved as JPEG (:func:`restora.degradations.camera.finish_capture`).

``layout="regional"`` (realistic only) reflects what real glass mostly shows: one bright part of
the room or street behind the camera, over part of the frame. The weight is confined to a
region (a pane-shaped rectangle, a half-plane with a straight edge, or an irregular patch of a
smooth field; edges softened by 1-12 px) with 5-25 % of it leaking elsewhere; the reflected
scene is closer to focus (Gaussian sd 0.3-3 px, scaled) and, in linear light, 1-3 times as
bright (clipped: lamps and windows reflect as light). Its mean weight inside the region is
``0.05 + 0.35 * severity``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from restora.degradations._common import check_image, check_severity, finish, rounded

SKIMAGE_SOURCES: tuple[str, ...] = ("astronaut", "chelsea", "coffee", "rocket")
LAYOUTS: tuple[str, ...] = ("even", "regional")


def weight_for_severity(severity: float) -> float:
    """Reflection weight ``w`` for a severity in [0, 1]."""
    return 0.05 + 0.35 * check_severity(severity)


def severity_for_weight(weight: float) -> float:
    """Inverse of :func:`weight_for_severity`, clipped to [0, 1]."""
    return float(np.clip((weight - 0.05) / 0.35, 0.0, 1.0))


@functools.lru_cache(maxsize=len(SKIMAGE_SOURCES))
def skimage_source(name: str) -> np.ndarray:
    """A scikit-image sample photo as float32 RGB (decoded once per process)."""
    from skimage import data

    pixels = np.asarray(getattr(data, name)())
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[:, :, None], 3, axis=2)
    return np.ascontiguousarray(pixels[:, :, :3], dtype=np.float32) / 255.0


def crop_to_fit(
    source: np.ndarray, height: int, width: int, rng: np.random.Generator
) -> np.ndarray:
    """A random crop of ``source`` with the aspect ratio of (height, width), resized to it.

    ``source`` may be float in [0, 1] or uint8, RGB or grey (a training pool keeps uint8).
    """
    import cv2

    src = np.asarray(source)
    sh, sw = src.shape[:2]
    draws = rng.random(4)
    zoom = 0.6 + 0.4 * draws[0]  # crop covers 60-100 % of the largest fitting window
    crop_h = min(sh, sw * height / width)
    crop_w = crop_h * width / height
    crop_h, crop_w = max(2, int(crop_h * zoom)), max(2, int(crop_w * zoom))
    top = int(draws[1] * (sh - crop_h + 1))
    left = int(draws[2] * (sw - crop_w + 1))
    crop = src[top : top + crop_h, left : left + crop_w]
    crop = check_image(crop / np.float32(255.0) if crop.dtype == np.uint8 else crop)
    interp = cv2.INTER_AREA if crop_h > height else cv2.INTER_LINEAR
    out = cv2.resize(crop, (width, height), interpolation=interp)
    return out[:, ::-1] if draws[3] < 0.5 else out


def _pick_source(
    reflection_source: np.ndarray | Sequence[np.ndarray] | None, draw: float
) -> tuple[np.ndarray, str]:
    """The reflected image and where it came from (see the module docstring)."""
    if reflection_source is None:
        name = SKIMAGE_SOURCES[int(draw * len(SKIMAGE_SOURCES))]
        return skimage_source(name), f"skimage.data.{name}"
    if isinstance(reflection_source, np.ndarray):
        return reflection_source, "given"
    # a pool: index it rather than list it, so a lazily loading sequence loads one
    if len(reflection_source) == 0:
        raise ValueError("reflection_source pool is empty")
    index = int(draw * len(reflection_source))
    return reflection_source[index], f"pool[{index}]"


def add_reflection(
    image: np.ndarray,
    severity: float,
    rng: np.random.Generator,
    *,
    reflection_source: np.ndarray | Sequence[np.ndarray] | None = None,
    weight: float | None = None,
    blur_sigma: float | None = None,
    ghost: bool | None = None,
    realistic: bool = False,
    camera: bool = True,
    layout: str = "even",
) -> tuple[np.ndarray, dict[str, Any]]:
    """Blend a reflected scene into ``image`` (see the module docstring).

    ``realistic``: glass in linear light with an uneven weight (``weight`` is then its mean;
    ``camera=False`` leaves out the photograph at the end). ``layout``: ``"even"`` (the weight
    spread over the frame) or ``"regional"`` (over part of it; realistic only).
    """
    import cv2

    img = check_image(image)
    severity = check_severity(severity)
    height, width = img.shape[:2]
    if layout not in LAYOUTS:
        raise ValueError(f"reflection layout must be one of {LAYOUTS}, got {layout!r}")
    if layout != "even" and not realistic:
        raise ValueError(f"reflection layout {layout!r} needs realistic=True")
    if realistic:
        return _glass_reflection(
            img, severity, rng, reflection_source, weight, blur_sigma, ghost, camera, layout
        )
    draws = rng.random(5)
    source, origin = _pick_source(reflection_source, float(draws[0]))
    reflected = crop_to_fit(source, height, width, rng)
    size_factor = max(1.0, min(height, width) / 256.0)
    sigma = (1.0 + 3.0 * draws[1]) * size_factor if blur_sigma is None else float(blur_sigma)
    reflected = cv2.GaussianBlur(reflected, (0, 0), sigmaX=max(sigma, 0.1))
    ghosted = bool(draws[2] < 0.5) if ghost is None else bool(ghost)
    params: dict[str, Any] = {}
    if ghosted:
        shift = (3.0 + 9.0 * draws[3]) * size_factor
        angle = 2.0 * math.pi * draws[4]
        matrix = np.array(
            [[1, 0, shift * math.cos(angle)], [0, 1, shift * math.sin(angle)]], dtype=np.float32
        )
        copy = cv2.warpAffine(reflected, matrix, (width, height), borderMode=cv2.BORDER_REFLECT_101)
        reflected = 0.6 * reflected + 0.4 * copy
        params["ghost_shift"] = rounded(shift, 2)
    w = weight_for_severity(severity) if weight is None else float(weight)
    out = (1.0 - w) * img + w * reflected
    params.update(weight=rounded(w, 3), blur_sigma=rounded(sigma, 2), ghost=ghosted, source=origin)
    return finish(out), params


def reflection_region(height: int, width: int, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """Where the glass reflects (``layout="regional"``): a soft mask in [0, 1] equal to 1 on
    the region and 0.05-0.25 elsewhere, and the region's kind (``pane``, ``half``, ``patch``)."""
    import cv2

    from restora.degradations._common import smooth_field

    u = rng.random(8)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    kind = ("pane", "half", "patch")[int(3 * u[0])]
    if kind == "pane":  # a window, a screen, a lit doorway: 25-70 % of each side
        box_h, box_w = (0.25 + 0.45 * u[1]) * height, (0.25 + 0.45 * u[2]) * width
        top, left = u[3] * (height - box_h), u[4] * (width - box_w)
        inside = (yy >= top) & (yy < top + box_h) & (xx >= left) & (xx < left + box_w)
    elif kind == "half":  # the bright side of the room: a straight edge at any angle
        angle = 2.0 * math.pi * u[1]
        along = math.cos(angle) * xx / max(width - 1, 1) + math.sin(angle) * yy / max(height - 1, 1)
        cut = float(np.quantile(along, 0.3 + 0.4 * u[2]))
        inside = along >= cut
    else:  # an irregular bright patch: 25-60 % of the frame
        field = smooth_field(height, width, rng, cells=3, octaves=2)
        inside = field >= float(np.quantile(field, 0.4 + 0.35 * u[1]))
    mask = inside.astype(np.float32)
    soft = (1.0 + 11.0 * float(u[5])) * max(1.0, min(height, width) / 256.0)
    mask = cv2.GaussianBlur(mask, (0, 0), sigmaX=soft)
    leak = 0.05 + 0.2 * float(u[6])
    return (leak + (1.0 - leak) * mask).astype(np.float32), kind


def _glass_reflection(
    img: np.ndarray,
    severity: float,
    rng: np.random.Generator,
    reflection_source: np.ndarray | Sequence[np.ndarray] | None,
    weight: float | None,
    blur_sigma: float | None,
    ghost: bool | None,
    camera: bool,
    layout: str = "even",
) -> tuple[np.ndarray, dict[str, Any]]:
    import cv2

    from restora.degradations._common import linear_to_srgb, smooth_field, srgb_to_linear
    from restora.degradations.camera import finish_capture

    height, width = img.shape[:2]
    u = rng.random(10)
    source, origin = _pick_source(reflection_source, float(u[0]))
    reflected = srgb_to_linear(crop_to_fit(source, height, width, rng))
    size_factor = max(1.0, min(height, width) / 256.0)
    regional = layout == "regional"
    spread = (0.3, 2.7) if regional else (0.5, 5.5)
    drawn = (spread[0] + spread[1] * float(u[1])) * size_factor
    sigma = drawn if blur_sigma is None else float(blur_sigma)
    reflected = cv2.GaussianBlur(reflected, (0, 0), sigmaX=max(sigma, 0.1))
    ghosted = bool(u[2] < 0.7) if ghost is None else bool(ghost)
    params: dict[str, Any] = {"variant": "realistic"}
    if ghosted:
        shift = (2.0 + 10.0 * float(u[3])) * size_factor
        angle = 2.0 * math.pi * float(u[4])
        strength = 0.3 + 0.5 * float(u[5])
        matrix = np.array(
            [[1, 0, shift * math.cos(angle)], [0, 1, shift * math.sin(angle)]], dtype=np.float32
        )
        copy = cv2.warpAffine(reflected, matrix, (width, height), borderMode=cv2.BORDER_REFLECT_101)
        reflected = (reflected + strength * copy) / (1.0 + strength)
        params.update(ghost_shift=rounded(shift, 2), ghost_strength=rounded(strength, 3))
    mean_weight = weight_for_severity(severity) if weight is None else float(weight)
    field = smooth_field(height, width, rng, cells=2, octaves=2)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    direction = 2.0 * math.pi * float(u[6])
    ramp = math.cos(direction) * xx / max(width - 1, 1) + math.sin(direction) * yy / max(
        height - 1, 1
    )
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    mix = 0.3 + 0.5 * float(u[7])
    shape = 0.1 + mix * ramp + (1.0 - mix) * field
    if regional:
        region, described = reflection_region(height, width, rng)
        gain = 1.0 + 2.0 * float(rng.random())
        reflected = np.minimum(reflected * gain, 1.0)
        shape = shape * region
        # scaled so that the region-weighted mean of the weight is ``mean_weight``
        region_mean = float((shape * region).sum() / max(float(region.sum()), 1e-6))
        local = np.clip(mean_weight * shape / max(region_mean, 1e-6), 0.0, 0.95)
        params.update(layout="regional", region=described, reflection_gain=rounded(gain, 3))
    else:
        local = np.clip(mean_weight * shape / float(shape.mean()), 0.0, 0.95)
    tint = np.array([1.0 - 0.06 * float(u[8]), 1.0, 1.0 - 0.06 * float(u[9])], dtype=np.float32)
    linear = (1.0 - local[:, :, None]) * srgb_to_linear(img) * tint + local[:, :, None] * reflected
    out = finish(linear_to_srgb(linear))
    params.update(
        weight=rounded(float(local.mean()), 3),
        weight_range=rounded([float(local.min()), float(local.max())], 3),
        blur_sigma=rounded(sigma, 2),
        ghost=ghosted,
        glass_tint=rounded(tint, 3),
        source=origin,
    )
    if camera:
        out, captured = finish_capture(out, rng)
        params.update(captured)
    return out, params
