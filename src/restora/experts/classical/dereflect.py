"""Reflection suppression: Arvanitopoulos, Achanta & Süsstrunk, "Single Image Reflection
Suppression" (CVPR 2017).

Reflections seen through glass are usually out of focus, so they contribute weak gradients; the
transmitted scene has the strong ones. The method keeps only gradients stronger than ``h`` and
finds the image T whose Laplacian matches the divergence of that thresholded gradient field
while staying close to the input:

    min_T ||lap(T) - div(grad_h(I))||^2 + lam ||T - I||^2

which is solved in closed form with the DCT (Neumann boundaries diagonalise the Laplacian):
T = IDCT[(k * DCT(div grad_h I) + lam DCT(I)) / (k^2 + lam)], k the Laplacian's eigenvalues.
It removes soft reflections and keeps sharp ones (a sharp reflection is indistinguishable from
scene edges for any single-image classical method); the learned experts cover the hard cases.
"""

from __future__ import annotations

import numpy as np
from scipy.fft import dctn, idctn

from restora.experts.base import Expert


def _laplacian_eigenvalues(height: int, width: int) -> np.ndarray:
    ky = 2.0 * np.cos(np.pi * np.arange(height) / height) - 2.0
    kx = 2.0 * np.cos(np.pi * np.arange(width) / width) - 2.0
    return (ky[:, None] + kx[None, :]).astype(np.float64)


def suppress_reflection(plane: np.ndarray, threshold: float, lam: float) -> np.ndarray:
    """One channel of the closed-form solution above."""
    gx = np.diff(plane, axis=1, append=plane[:, -1:])
    gy = np.diff(plane, axis=0, append=plane[-1:, :])
    weak = np.hypot(gx, gy) < threshold
    gx[weak], gy[weak] = 0.0, 0.0
    # divergence with backward differences (the adjoint of the forward gradient above)
    div = np.diff(gx, axis=1, prepend=0.0) + np.diff(gy, axis=0, prepend=0.0)
    k = _laplacian_eigenvalues(*plane.shape)
    numerator = k * dctn(div, norm="ortho") + lam * dctn(plane, norm="ortho")
    return np.asarray(idctn(numerator / (k * k + lam), norm="ortho"), dtype=np.float32)


def _laplacian_dereflect(
    image: np.ndarray, threshold: float = 0.015, lam: float = 0.002
) -> np.ndarray:
    planes = [
        suppress_reflection(image[..., c].astype(np.float64), threshold, lam) for c in range(3)
    ]
    return np.stack(planes, axis=2)


def laplacian_dereflect() -> Expert:
    return Expert(
        name="laplacian_dereflect",
        task="dereflect",
        backend="classical",
        run=_laplacian_dereflect,
        params={"threshold": 0.015, "lam": 0.002},
        tile_size=1024,
        tile_overlap=128,
        description="Reflection suppression: keep strong gradients, Laplacian-domain "
        "reconstruction (soft, out-of-focus reflections only).",
        reference="Arvanitopoulos, Achanta & Süsstrunk, CVPR 2017",
        rank=20,
    )
