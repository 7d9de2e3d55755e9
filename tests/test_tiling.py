"""Tiling: tiled runs equal untiled ones for local experts, and no seams appear otherwise."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest

from restora.experts import Expert, TileSpec, process_tiled
from restora.experts.tiling import ramp, tile_starts


def box3(image: np.ndarray) -> np.ndarray:
    """A 7x7 mean: context radius 3."""
    return cv2.blur(image, (7, 7), borderType=cv2.BORDER_REFLECT)


def test_tile_starts_cover_and_end_flush() -> None:
    assert tile_starts(100, 128, 16) == [0]
    starts = tile_starts(300, 128, 32)
    assert starts[0] == 0 and starts[-1] == 300 - 128
    assert all(b - a <= 128 - 32 for a, b in itertools.pairwise(starts))


def test_ramp_is_smooth_and_zero_at_the_margin() -> None:
    window = ramp(64, 16, 4, rise=True, fall=True)
    assert window[:4].max() == 0.0 and window[-4:].max() == 0.0
    assert window[16:48].min() == 1.0
    assert np.abs(np.diff(window)).max() < 0.2


@pytest.mark.parametrize("scale", [1, 2])
def test_local_expert_tiled_equals_untiled(astronaut: np.ndarray, scale: int) -> None:
    image = astronaut[:300, :260]

    def function(x: np.ndarray) -> np.ndarray:
        y = box3(x)
        return np.repeat(np.repeat(y, scale, axis=0), scale, axis=1) if scale > 1 else y

    whole = function(image)
    tiled = process_tiled(image, function, TileSpec(tile=96, overlap=24), scale=scale)
    np.testing.assert_allclose(tiled, whole, atol=1e-5)


def test_small_conv_net_tiled_matches_untiled(astronaut: np.ndarray) -> None:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Conv2d(8, 3, 3, padding=1),
    ).eval()

    def function(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            t = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None]
            return net(t)[0].numpy().transpose(1, 2, 0)

    image = astronaut[:200, :232]
    tiled = process_tiled(image, function, TileSpec(tile=64, overlap=16))
    np.testing.assert_allclose(tiled, function(image), atol=1e-5)


def test_no_seam_for_wide_context_expert(astronaut: np.ndarray) -> None:
    """A blur wider than the overlap differs from the untiled run, but smoothly: the gradient of
    the difference is no larger on tile borders than elsewhere."""
    image = astronaut[:256, :256].mean(axis=2)

    def wide(x: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(x, (0, 0), 6.0, borderType=cv2.BORDER_REFLECT)

    spec = TileSpec(tile=96, overlap=32)
    difference = process_tiled(image, wide, spec) - wide(image)
    assert np.abs(difference).max() < 0.05
    jump = np.abs(np.diff(difference, axis=1))
    starts = tile_starts(256, 96, 32)
    border_cols = sorted({s - 1 for s in starts[1:]} | {s + 95 for s in starts[:-1]})
    assert jump[:, border_cols].max() <= 3 * np.percentile(jump, 99) + 1e-6
    # and the restored image itself has no step at the borders compared with the untiled one
    tiled_grad = np.abs(np.diff(process_tiled(image, wide, spec), axis=1))[:, border_cols]
    whole_grad = np.abs(np.diff(wide(image), axis=1))[:, border_cols]
    assert np.abs(tiled_grad - whole_grad).max() < 0.01


def test_expert_call_tiles_when_larger_than_tile(astronaut: np.ndarray) -> None:
    calls: list[tuple[int, ...]] = []

    def run(x: np.ndarray) -> np.ndarray:
        calls.append(x.shape)
        return box3(x)

    expert = Expert("t_box", "denoise", "classical", run=run, tile_size=128, tile_overlap=32)
    out = expert(astronaut[:300, :300])
    assert len(calls) > 1 and max(max(c[:2]) for c in calls) <= 128
    np.testing.assert_allclose(out, np.clip(box3(astronaut[:300, :300]), 0, 1), atol=1e-5)
    calls.clear()
    expert(astronaut[:300, :300], tile=False)
    assert calls == [(300, 300, 3)]


def test_size_multiple_pads_and_crops(astronaut: np.ndarray) -> None:
    seen: list[tuple[int, ...]] = []

    def run(x: np.ndarray) -> np.ndarray:
        seen.append(x.shape)
        return x

    expert = Expert("t_mult", "denoise", "classical", run=run, size_multiple=8, tile_size=None)
    out = expert(astronaut[:37, :50])
    assert seen == [(40, 56, 3)]
    np.testing.assert_array_equal(out, astronaut[:37, :50])
