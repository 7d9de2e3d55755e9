"""ONNX experts: export a small torch net, run it through onnxruntime with tiling, compare."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from restora.errors import InputError, RestoraError
from restora.experts import TileSpec, get_expert

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")


class TinyUpscaler(torch.nn.Module):  # type: ignore[misc]
    def __init__(self, scale: int) -> None:
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Conv2d(3, 16, 3, padding=1),
            torch.nn.ReLU(),
            torch.nn.Conv2d(16, 3 * scale * scale, 3, padding=1),
        )
        self.shuffle = torch.nn.PixelShuffle(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.shuffle(self.body(x)))


def _export(module: torch.nn.Module, path: Path) -> None:
    module.eval()
    torch.onnx.export(
        module,
        (torch.rand(1, 3, 32, 32),),
        str(path),
        input_names=["input"],
        output_names=["output"],
        dynamic_axes={"input": {2: "h", 3: "w"}, "output": {2: "h2", 3: "w2"}},
        dynamo=False,  # the dynamo exporter needs onnxscript, which is not a dependency
    )


@pytest.fixture(scope="module")
def model_x2(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, torch.nn.Module]:
    torch.manual_seed(0)
    module = TinyUpscaler(2)
    path = tmp_path_factory.mktemp("onnx") / "tiny_x2.onnx"
    _export(module, path)
    return path, module


def test_onnx_matches_torch_with_tiling(
    model_x2: tuple[Path, torch.nn.Module], astronaut: np.ndarray
) -> None:
    path, module = model_x2
    expert = get_expert(f"onnx:{path}", task="upscale", scale=2, tile_size=64, tile_overlap=16)
    assert expert.backend == "onnx" and expert.scale == 2
    image = np.ascontiguousarray(astronaut[:150, :170])
    with torch.no_grad():
        reference = module(torch.from_numpy(image.transpose(2, 0, 1))[None])[0].numpy()
    reference = reference.transpose(1, 2, 0)
    untiled = expert(image, tile=False)
    np.testing.assert_allclose(untiled, reference, atol=1e-5)
    tiled = expert(image)  # 150x170 > 64: tiled; receptive radius 2 <= margin 4
    assert tiled.shape == (300, 340, 3)
    np.testing.assert_allclose(tiled, reference, atol=1e-5)
    spec_tiled = expert(image, tile=TileSpec(tile=48, overlap=16))
    np.testing.assert_allclose(spec_tiled, reference, atol=1e-5)


def test_model_card_next_to_file(tmp_path: Path, model_x2: tuple[Path, torch.nn.Module]) -> None:
    path, _ = model_x2
    target = tmp_path / "carded.onnx"
    target.write_bytes(path.read_bytes())
    target.with_suffix(".json").write_text(
        json.dumps({"task": "upscale", "scale": 2, "name": "tiny_sr", "description": "test"})
    )
    expert = get_expert(f"onnx:{target}")
    assert (expert.name, expert.task, expert.scale) == ("tiny_sr", "upscale", 2)
    assert expert(np.zeros((10, 12, 3), np.float32)).shape == (20, 24, 3)


def test_toml_card_and_errors(tmp_path: Path, model_x2: tuple[Path, torch.nn.Module]) -> None:
    path, _ = model_x2
    target = tmp_path / "m.onnx"
    target.write_bytes(path.read_bytes())
    with pytest.raises(RestoraError, match="say which task"):
        get_expert(f"onnx:{target}")
    target.with_suffix(".toml").write_text('task = "upscale"\nscale = 2\ncolour = 3\n')
    with pytest.raises(RestoraError, match="unknown ONNX card field 'colour'"):
        get_expert(f"onnx:{target}")
    with pytest.raises(InputError):
        get_expert(f"onnx:{tmp_path / 'missing.onnx'}", task="denoise")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    with pytest.raises(InputError, match="cannot load ONNX model"):
        get_expert(f"onnx:{broken}", task="denoise")(np.zeros((8, 8, 3), np.float32))


def test_restore_cli_with_onnx(tmp_path: Path, model_x2: tuple[Path, torch.nn.Module]) -> None:
    from PIL import Image

    from restora.cli import main

    source = tmp_path / "in.png"
    Image.fromarray(np.full((20, 30, 3), 100, np.uint8)).save(source)
    out = tmp_path / "out.png"
    path, _ = model_x2
    code = main(
        [
            "restore",
            str(source),
            "-o",
            str(out),
            "--expert",
            f"onnx:{path}",
            "--task",
            "upscale",
            "--scale",
            "2",
        ]
    )
    assert code == 0
    assert Image.open(out).size == (60, 40)
