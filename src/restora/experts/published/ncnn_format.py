"""A reader of ncnn model files: the ``.param`` text graph and the ``.bin`` weight blobs.

Pure Python and numpy; the ncnn runtime is not needed (tests compare against it when it is
installed). The formats, as ncnn's ``net.cpp`` (``load_param``) and ``modelbin.cpp``
(``ModelBinFromDataReader::load``) read them:

``.param``: the magic ``7767517``, then ``layer_count blob_count``, then one line per layer::

    Type  name  bottom_count top_count  bottom... top...  key=value...

A key ``k`` is an int or a float (the text has a ``.`` or an ``e``); a key ``-23300 - k`` is an
array ``n,v1,...,vn`` of parameter ``k`` (``-23310=1,0.2`` is the activation parameters, id 10).

``.bin``: the layers' weights in layer order, each layer reading what its ``load_model`` asks
for. A read of *type 0* starts with a 4-byte tag: ``0x01306B47`` fp16 (padded to 4 bytes),
``0x000D4B38`` int8 (padded to 4 bytes), ``0x0002C056`` raw fp32, ``0`` raw fp32, any other
non-zero tag a 256-entry fp32 codebook followed by one uint8 index per value (padded to 4
bytes). A read of *type 1* is raw fp32 with no tag (biases, PReLU slopes, constants).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

MAGIC = 7767517
TAG_FP16 = 0x01306B47
TAG_INT8 = 0x000D4B38
TAG_FP32_SCALED = 0x0002C056
ARRAY_KEY_BASE = -23300

ParamValue = int | float | tuple[float, ...]


class NcnnFormatError(ValueError):
    """A ``.param`` or ``.bin`` file that this reader cannot follow."""


@dataclass(frozen=True)
class Layer:
    """One line of a ``.param`` file, with the weights the ``.bin`` holds for it."""

    type: str
    name: str
    bottoms: tuple[str, ...]
    tops: tuple[str, ...]
    params: Mapping[int, ParamValue] = field(default_factory=dict)
    weights: Mapping[str, np.ndarray] = field(default_factory=dict, repr=False)

    def int_param(self, key: int, default: int = 0) -> int:
        value = self.params.get(key, default)
        if isinstance(value, tuple):
            raise NcnnFormatError(f"layer {self.name}: parameter {key} is an array")
        return int(value)

    def float_param(self, key: int, default: float = 0.0) -> float:
        value = self.params.get(key, default)
        if isinstance(value, tuple):
            raise NcnnFormatError(f"layer {self.name}: parameter {key} is an array")
        return float(value)

    def array_param(self, key: int) -> tuple[float, ...]:
        value = self.params.get(key, ())
        return value if isinstance(value, tuple) else (float(value),)


@dataclass(frozen=True)
class Graph:
    """An ncnn network: its layers in file order (a valid execution order)."""

    layers: tuple[Layer, ...]

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(top for layer in self.layers if layer.type == "Input" for top in layer.tops)

    @property
    def outputs(self) -> tuple[str, ...]:
        """Blobs no layer consumes (the network's results)."""
        consumed = {b for layer in self.layers for b in layer.bottoms}
        return tuple(t for layer in self.layers for t in layer.tops if t not in consumed)

    def layer_types(self) -> set[str]:
        return {layer.type for layer in self.layers}


def _parse_value(text: str) -> int | float:
    return float(text) if any(c in text for c in ".eE") else int(text)


def parse_params(tokens: list[str]) -> dict[int, ParamValue]:
    """``["0=64", "1=3", "-23310=1,0.2"]`` -> ``{0: 64, 1: 3, 10: (0.2,)}``."""
    params: dict[int, ParamValue] = {}
    for token in tokens:
        key_text, _, value_text = token.partition("=")
        key = int(key_text)
        if key <= ARRAY_KEY_BASE:
            count, *values = value_text.split(",")
            if len(values) != int(count):
                raise NcnnFormatError(f"array parameter {token!r} has {len(values)} values")
            params[ARRAY_KEY_BASE - key] = tuple(float(v) for v in values)
        else:
            params[key] = _parse_value(value_text)
    return params


def read_param(text: str) -> list[Layer]:
    """The layers of a ``.param`` text (no weights yet)."""
    lines = [line.split() for line in text.splitlines() if line.strip()]
    if not lines or lines[0] != [str(MAGIC)]:
        raise NcnnFormatError("not an ncnn .param file (magic 7767517 missing)")
    layer_count = int(lines[1][0])
    layers: list[Layer] = []
    for tokens in lines[2 : 2 + layer_count]:
        layer_type, name = tokens[0], tokens[1]
        n_bottom, n_top = int(tokens[2]), int(tokens[3])
        bottoms = tuple(tokens[4 : 4 + n_bottom])
        tops = tuple(tokens[4 + n_bottom : 4 + n_bottom + n_top])
        params = parse_params(tokens[4 + n_bottom + n_top :])
        layers.append(Layer(layer_type, name, bottoms, tops, params))
    if len(layers) != layer_count:
        raise NcnnFormatError(f"expected {layer_count} layers, found {len(layers)}")
    return layers


class ModelBin:
    """Sequential reads from a ``.bin`` buffer, as ncnn's ``ModelBinFromDataReader``."""

    def __init__(self, data: bytes) -> None:
        self.data = memoryview(data)
        self.offset = 0

    def _take(self, count: int, dtype: Any) -> np.ndarray:
        itemsize = np.dtype(dtype).itemsize
        end = self.offset + count * itemsize
        if end > len(self.data):
            raise NcnnFormatError("the .bin file ends before the .param graph's weights do")
        out = np.frombuffer(self.data[self.offset : end], dtype=dtype).copy()
        self.offset = end
        return out

    def _skip_to_4(self, nbytes: int) -> None:
        self.offset += (-nbytes) % 4

    def load(self, count: int, read_type: int) -> np.ndarray:
        """``count`` float32 values: type 0 (tagged) or type 1 (raw fp32)."""
        if read_type == 1:
            return self._take(count, "<f4")
        tag = int(self._take(1, "<u4")[0])
        if tag == TAG_FP16:
            values = self._take(count, "<f2").astype(np.float32)
            self._skip_to_4(count * 2)
            return values
        if tag == TAG_INT8:
            values = self._take(count, np.int8).astype(np.float32)
            self._skip_to_4(count)
            return values
        if tag in (0, TAG_FP32_SCALED):
            return self._take(count, "<f4")
        # any other non-zero tag: a 256-entry codebook and one byte index per value
        codebook = self._take(256, "<f4")
        indices = self._take(count, np.uint8)
        self._skip_to_4(count)
        return codebook[indices]

    @property
    def remaining(self) -> int:
        return len(self.data) - self.offset


def _load_weights(layer: Layer, model: ModelBin) -> dict[str, np.ndarray]:
    """What each layer type's ``load_model`` reads, in the same order."""
    kind = layer.type
    if kind in ("Convolution", "Deconvolution", "ConvolutionDepthWise", "DeconvolutionDepthWise"):
        if layer.int_param(8, 0):
            raise NcnnFormatError(f"layer {layer.name}: int8-quantised convolution")
        size = layer.int_param(6)
        weights = {"weight": model.load(size, 0)}
        if layer.int_param(5, 0):
            weights["bias"] = model.load(layer.int_param(0), 1)
        return weights
    if kind == "InnerProduct":
        if layer.int_param(8, 0):
            raise NcnnFormatError(f"layer {layer.name}: int8-quantised inner product")
        weights = {"weight": model.load(layer.int_param(2), 0)}
        if layer.int_param(1, 0):
            weights["bias"] = model.load(layer.int_param(0), 1)
        return weights
    if kind == "PReLU":
        return {"slope": model.load(layer.int_param(0, 0), 1)}
    if kind == "MemoryData":
        w, h, c = layer.int_param(0), layer.int_param(1), layer.int_param(2)
        d = layer.int_param(11)
        count = max(w, 1) * max(h, 1) * max(c, 1) * max(d, 1)
        return {"data": model.load(count, 1)}
    if kind == "Scale":
        size = layer.int_param(0)
        if size == -233:  # the scale is the second input blob; nothing is stored
            return {}
        weights = {"scale": model.load(size, 1)}
        if layer.int_param(1, 0):
            weights["bias"] = model.load(size, 1)
        return weights
    if kind == "BatchNorm":
        channels = layer.int_param(0)
        return {key: model.load(channels, 1) for key in ("slope", "mean", "var", "bias")}
    return {}


def read_graph(param_text: str, bin_data: bytes) -> Graph:
    """The whole network: layers with their weights. Trailing bytes in the ``.bin`` mean the
    graph was misread, so they are an error."""
    model = ModelBin(bin_data)
    layers = tuple(
        Layer(layer.type, layer.name, layer.bottoms, layer.tops, layer.params,
              _load_weights(layer, model))
        for layer in read_param(param_text)
    )  # fmt: skip
    if model.remaining:
        raise NcnnFormatError(f"{model.remaining} bytes of the .bin file were not read")
    return Graph(layers)


def load_graph(param_path: str | Path, bin_path: str | Path | None = None) -> Graph:
    """Read ``NAME.param`` and ``NAME.bin`` (default: the ``.param`` path with ``.bin``)."""
    param = Path(param_path)
    weights = Path(bin_path) if bin_path is not None else param.with_suffix(".bin")
    return read_graph(param.read_text(encoding="utf-8"), weights.read_bytes())
