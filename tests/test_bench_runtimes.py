"""The runtimes benchmark on a tiny NAFNet: the ONNX path equals torch, the table has its rows
(no timing is asserted: the CPU is shared)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from restora.bench import BENCHMARKS, get_benchmark
from restora.bench import runtimes as rt
from restora.errors import UnknownNameError

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

torch = pytest.importorskip("torch")

HAS_ONNX = all(importlib.util.find_spec(m) is not None for m in rt.ONNX_NEEDS)
needs_onnx = pytest.mark.skipif(not HAS_ONNX, reason="onnx / onnxruntime not installed")


@pytest.fixture(scope="module")
def subject() -> rt.Subject:
    """A two-level NAFNet with random weights (its residual scales too, which start at zero),
    as a torch expert cut into 32 px tiles, and its export."""
    from restora.experts.archs.nafnet import build
    from restora.experts.learned import torch_expert

    torch.manual_seed(0)
    network = build("tiny").eval()
    with torch.no_grad():
        for parameter in network.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    expert = torch_expert(
        "tiny_denoise",
        "denoise",
        build=lambda: network,
        size_multiple=4,
        tile_size=32,
        tile_overlap=8,
        cache_key="test_bench_runtimes_tiny",
    )

    def export(path: Path) -> Path:
        torch.onnx.export(
            network,
            (torch.rand(1, 3, 32, 32),),
            str(path),
            input_names=["input"],
            output_names=["output"],
            dynamic_axes={"input": {2: "h", 3: "w"}, "output": {2: "h2", 3: "w2"}},
            dynamo=False,  # the dynamo exporter needs onnxscript, which is not a dependency
        )
        return path

    return rt.Subject("tiny_denoise", expert, export, lambda: network, onnx_size_multiple=4)


@pytest.fixture()
def workspace(tmp_path: Path, small_rgb: np.ndarray) -> rt.Workspace:
    crops = [small_rgb[:32, :32], small_rgb[32:64, 40:72]]
    return rt.Workspace(tmp_path, threads=1, calibration=crops)


@needs_onnx
def test_onnx_path_matches_torch_through_the_tiles(
    subject: rt.Subject, workspace: rt.Workspace, small_rgb: np.ndarray
) -> None:
    image = small_rgb[:42, :54]  # not a multiple of 4, larger than one 32 px tile
    reference = rt.build_path("torch_fp32", subject, workspace)(image)
    output = rt.build_path("onnx_fp32", subject, workspace)(image)
    assert output.shape == reference.shape == image.shape
    assert float(np.abs(output - reference).max()) < 1e-4
    assert float(np.abs(reference - image).max()) > 1e-3  # the network does change the image


def test_measure_gives_a_row_per_path_and_the_table_shows_them(
    subject: rt.Subject, workspace: rt.Workspace, small_rgb: np.ndarray
) -> None:
    rng = np.random.default_rng(0)
    clean = small_rgb[:40, :48]
    noisy = (clean + rng.normal(0.0, 0.1, clean.shape)).astype(np.float32)
    pairs = [SimpleNamespace(input=noisy, target=clean), SimpleNamespace(input=clean, target=clean)]
    paths = ["torch_1thread", "torch_bf16", "torch_int8_dynamic", "onnx_fp32", "onnx_int8_static"]
    results = rt.measure(subject, pairs, (noisy, clean), paths, 2, workspace)
    rows = {row["path"]: row for row in results["rows"]}
    assert list(rows) == ["torch_fp32", *paths]  # the reference always, first
    reference = rows["torch_fp32"]
    assert reference["delta_psnr"] == 0.0 and reference["max_abs_diff"] == 0.0
    assert rows["torch_1thread"]["max_abs_diff"] < 1e-5
    assert rows["torch_bf16"]["max_abs_diff"] < 0.1
    assert "not applicable" in rows["torch_int8_dynamic"]["note"]
    for row in rows.values():
        if not row["note"]:
            assert len(row["all_seconds"]) == 2 and np.isfinite(row["psnr"])
            assert row["timing_psnr"] is not None
    if HAS_ONNX:
        assert not rows["onnx_fp32"]["note"] and rows["onnx_fp32"]["max_abs_diff"] < 1e-4
        assert abs(rows["onnx_fp32"]["delta_psnr"]) < 0.01
        assert not rows["onnx_int8_static"]["note"]
    else:
        assert "not installed" in rows["onnx_fp32"]["note"]
    text = rt.to_markdown({**results, "dataset": "tiny", "command": "cmd", "machine": "box"})
    table = [line for line in text.splitlines() if line.startswith("| `")]
    assert [line.split("`")[1] for line in table] == list(rows)
    assert "Written by `cmd` on box" in text
    assert all(line.count("|") == table[0].count("|") for line in table)


def test_a_missing_onnx_is_a_note_not_an_error(
    subject: rt.Subject, workspace: rt.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        rt.importlib.util, "find_spec", lambda name, *a: None if name == "onnx" else real(name)
    )
    with pytest.raises(rt.PathSkipped, match="onnx not installed"):
        rt.build_path("onnx_fp32", subject, workspace)
    with pytest.raises(UnknownNameError):
        rt.build_path("nope", subject, workspace)


def test_importable_without_onnx() -> None:
    code = (
        "import sys; sys.modules['onnx'] = None; sys.modules['onnxruntime'] = None; "
        "import restora.bench.runtimes as r; print(len(r.PATHS))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == len(rt.PATHS)


def test_registered_with_the_benchmarks() -> None:
    assert BENCHMARKS["runtimes"] == "restora.bench.runtimes:benchmark"
    assert get_benchmark("runtimes") is rt.benchmark
    assert "torch_fp16" not in rt.default_paths() and "onnx_fp32" in rt.default_paths()


def test_only_faster_rows_that_keep_psnr_are_named() -> None:
    def row(path: str, speedup: float, delta: float, note: str = "") -> dict[str, Any]:
        return {"path": path, "speedup": speedup, "delta_psnr": delta, "note": note}

    assert rt.keeps_psnr_and_saves_time(row("onnx_fp32", 1.5, -0.01))
    assert not rt.keeps_psnr_and_saves_time(row("onnx_int8_static", 1.5, -0.2))
    assert not rt.keeps_psnr_and_saves_time(row("torch_bf16", 1.1, 0.0))
    assert not rt.keeps_psnr_and_saves_time(row("torch_fp32", 1.0, 0.0))
    assert not rt.keeps_psnr_and_saves_time(row("onnx_fp32", 2.0, 0.0, "not run"))
