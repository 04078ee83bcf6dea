"""The messages between the judge and the child that runs the student's code: data only, never code.

A message is one frame: an 8-byte length, a JSON header, then the arrays in NumPy's ``.npy`` format. Both are
read without executing anything (``json`` and ``np.lib.format.read_array(allow_pickle=False)``), so whatever
the child sends, the judge only ever receives numbers, strings, lists and dicts. Values are tagged:

* ``None``, ``bool``, ``int``, ``float`` and ``str`` are JSON themselves;
* ``{"array": i}`` is the i-th array, ``{"scalar": i}`` a NumPy number (sent as a 0-d array);
* ``{"list": [...]}``, ``{"tuple": [...]}``, ``{"dict": [[key, value], ...]}``;
* ``{"tensor": value}`` a :class:`~tinygrad_edu.Tensor` outside the graph, by its data;
* ``{"graph": ...}`` a whole Tensor graph (the judge sends it; the child rebuilds it by replaying each op),
  ``{"node": i}`` a tensor of that graph;
* ``{"rng": state}`` a NumPy random generator, by its bit generator's state;
* ``{"object": "TypeName"}`` anything else: the judge sees "a TypeName", never the object.
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import operator
import os
import select
import struct
import time
from collections.abc import Callable
from typing import Any

import numpy as np

MAX_MESSAGE = 512 * 2**20  # bytes: a child answering more than this is not sending gradients
MAX_DEPTH = 32  # nesting of lists/dicts a value may have (a list that contains itself is "not numbers")
_LENGTH = struct.Struct(">Q")


class WireError(Exception):
    """A message that cannot be read: cut short, too large, or not in this format."""


class ChildTimeout(WireError):
    """No complete answer before the deadline."""


# -- values -----------------------------------------------------------------------------------------------
class Opaque:
    """What the judge holds in place of a value that is not numbers: only its type's name."""

    def __repr__(self) -> str:
        return f"a {type(self).__name__} (not numbers)"


_opaque_types: dict[str, type] = {}


def opaque(type_name: str) -> Opaque:
    """An :class:`Opaque` whose type is called ``type_name`` (so messages saying "a Foo" name the student's type)."""
    name = "".join(c for c in type_name if c.isalnum() or c == "_")[:60] or "object"
    if name not in _opaque_types:
        _opaque_types[name] = type(name, (Opaque,), {})
    return _opaque_types[name]()


def _type_name(value: Any) -> str:
    """The name of ``value``'s type without running any of its code (``object.__repr__`` reads the C slot)."""
    text = object.__repr__(value)  # "<module.Name object at 0x...>"
    return text[1:].split(" object at", 1)[0].rsplit(".", 1)[-1]


# The ops a graph may hold, replayed in the child on the rebuilt inputs (a full sum has shape ()).
REPLAY: dict[str, Callable[..., Any]] = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv,
    "matmul": operator.matmul, "neg": operator.neg, "exp": lambda t: t.exp(), "log": lambda t: t.log(),
    "relu": lambda t: t.relu(), "tanh": lambda t: t.tanh(), "sum": lambda t: t.sum(),
}


class Encoder:
    """Turns a value into a JSON-able tree plus a list of arrays.

    ``tensor_type`` is the Tensor class (None where tensors are not expected); ``graph`` maps ``id(tensor)`` to
    its index for the tensors of a graph already sent or rebuilt, so they travel as ``{"node": i}``.
    """

    def __init__(self, tensor_type: type | None = None, graph: dict[int, int] | None = None) -> None:
        self.arrays: list[np.ndarray] = []
        self.tensor_type = tensor_type
        self.graph = graph if graph is not None else {}
        self.sends_graphs = False  # the judge's side: a tensor that is not in a graph sent yet sends its graph
        self.nodes: list[Any] = []  # the judge's side: the tensors sent, by index

    def array(self, value: np.ndarray) -> int:
        self.arrays.append(value)
        return len(self.arrays) - 1

    def encode(self, value: Any, depth: int = 0) -> Any:
        kind = type(value)
        if value is None or kind in (bool, int, float, str):
            return value
        if depth > MAX_DEPTH:
            return {"object": _type_name(value)}
        if isinstance(value, np.ndarray):
            array = np.ndarray.view(value, np.ndarray)  # a subclass is read as the plain array underneath
            if array.dtype.hasobject or array.dtype.kind not in "biufcUS":
                return {"object": f"array of {array.dtype}"}
            return {"array": self.array(array)}
        if isinstance(value, np.generic) and kind.__module__ == "numpy" and not isinstance(value, np.object_):
            return {"scalar": self.array(np.asarray(value))}
        if kind in (list, tuple):
            indices = [self.graph.get(id(item)) for item in value] if self.graph else [None]
            if value and None not in indices and all(type(item) is self.tensor_type for item in value):
                return {f"{kind.__name__} of nodes": self.array(np.array(indices, dtype=np.int64))}
            return {kind.__name__: [self.encode(item, depth + 1) for item in value]}
        if kind is dict:
            items = []
            for key, item in dict.items(value):
                if type(key) not in (str, int, float, bool):
                    return {"object": "dict with keys that are not names or numbers"}
                items.append([key, self.encode(item, depth + 1)])
            return {"dict": items}
        if self.tensor_type is not None and kind is self.tensor_type:
            if id(value) in self.graph:
                return {"node": self.graph[id(value)]}
            if self.sends_graphs:
                return {"graph": self.encode_graph(value)}
            return {"tensor": self.encode(value.data, depth + 1)}
        if kind is np.random.Generator:
            return {"rng": value.bit_generator.state}
        return {"object": _type_name(value)}

    def encode_graph(self, root: Any) -> dict:
        """The judge's side: every tensor ``root`` depends on, inputs first, in columns (a 100,000-op chain is
        a few arrays, not 100,000 JSON objects): each op's code and inputs, each leaf's data and grad."""
        from tinygrad_edu.tensor import topological_order

        with _no_gc():
            return self._encode_graph(topological_order(root), root)

    def _encode_graph(self, order: list, root: Any) -> dict:
        first = len(self.nodes)
        self.nodes.extend(order)
        self.graph.update({id(t): first + i for i, t in enumerate(order)})
        codes = np.full(len(order), -1, dtype=np.int8)
        inputs = np.full((len(order), 2), -1, dtype=np.int64)
        leaves, names = {}, {}
        for i, tensor in enumerate(order):
            if tensor.name is not None:
                names[i] = tensor.name
            if tensor._op is None:
                leaves[i] = {"data": self.array(tensor.data), "requires_grad": tensor.requires_grad,
                             "grad": None if tensor.grad is None else self.array(tensor.grad)}
                continue
            if tensor._op not in _OPS:
                raise WireError(f"cannot send a graph holding the op {tensor._op!r} (known: {', '.join(REPLAY)})")
            codes[i] = _OPS.index(tensor._op)
            for slot, parent in enumerate(tensor._inputs):
                inputs[i, slot] = self.graph[id(parent)]
        return {"codes": self.array(codes), "inputs": self.array(inputs), "leaves": list(leaves.items()),
                "names": list(names.items()), "first": first, "shape": list(root.shape)}


_OPS = list(REPLAY)


@contextlib.contextmanager
def _no_gc():
    """No garbage collection in the block: building 100,000 tensors would trigger it over and over, for
    nothing (they are all alive), and take three times as long."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class Decoder:
    """Turns a tree and its arrays back into values. ``nodes`` are the judge's tensors of the graph it sent
    (for ``{"node": i}`` in an answer); the child fills ``nodes`` when it rebuilds a graph."""

    def __init__(self, arrays: list[np.ndarray], nodes: list[Any] | None = None, tensor_type: type | None = None):
        self.arrays = arrays
        self.nodes = nodes if nodes is not None else []
        self.tensor_type = tensor_type

    def decode(self, tree: Any) -> Any:
        if tree is None or isinstance(tree, (bool, int, float, str)):
            return tree
        if not isinstance(tree, dict) or len(tree) != 1:
            raise WireError(f"not a value of this format: {str(tree)[:80]}")
        ((kind, body),) = tree.items()
        if kind == "array":
            return self.arrays[body]
        if kind == "scalar":
            return self.arrays[body][()]
        if kind in ("list", "tuple"):
            items = [self.decode(item) for item in body]
            return items if kind == "list" else tuple(items)
        if kind in ("list of nodes", "tuple of nodes"):
            items = [self.nodes[i] for i in self.arrays[body].tolist()]
            return items if kind == "list of nodes" else tuple(items)
        if kind == "dict":
            return {key: self.decode(item) for key, item in body}
        if kind == "object":
            return opaque(str(body))
        if kind == "node":
            return self.nodes[body]
        if kind == "tensor":
            from tinygrad_edu.tensor import Tensor

            data = self.decode(body)
            return Tensor(data) if isinstance(data, np.ndarray) and data.dtype.kind in "biuf" else opaque("Tensor")
        if kind == "graph":
            return self.rebuild(body)
        if kind == "rng":
            generator = np.random.Generator(getattr(np.random, body["bit_generator"])())
            generator.bit_generator.state = body
            return generator
        raise WireError(f"unknown kind of value {kind!r}")

    def rebuild(self, graph: dict) -> Any:
        """The child's side: the graph rebuilt by replaying each op on its rebuilt inputs; returns its root."""
        tensor_type = self.tensor_type
        assert tensor_type is not None, "a graph needs the Tensor class"
        with _no_gc():
            return self._rebuild(graph)

    def _rebuild(self, graph: dict) -> Any:
        tensor_type = self.tensor_type
        leaves = {i: leaf for i, leaf in graph["leaves"]}
        codes, inputs = self.arrays[graph["codes"]].tolist(), self.arrays[graph["inputs"]].tolist()
        nodes, first = self.nodes, graph["first"]
        for i, code in enumerate(codes):
            if code < 0:
                leaf = leaves[i]
                tensor = tensor_type(self.arrays[leaf["data"]], requires_grad=leaf["requires_grad"])
                if leaf["grad"] is not None:
                    tensor.grad = self.arrays[leaf["grad"]]
            else:
                a, b = inputs[i]
                tensor = REPLAY[_OPS[code]](nodes[a]) if b < 0 else REPLAY[_OPS[code]](nodes[a], nodes[b])
            nodes.append(tensor)
        for i, name in graph["names"]:
            nodes[first + i].name = name
        root = nodes[-1]
        if list(root.shape) != graph["shape"]:
            raise WireError(f"the rebuilt graph's result has shape {root.shape}, not {tuple(graph['shape'])}")
        return root


# -- frames -----------------------------------------------------------------------------------------------
def pack(body: Any, arrays: list[np.ndarray]) -> bytes:
    """One frame: the header (the tree and the arrays' sizes) and the arrays as .npy."""
    blobs = []
    for array in arrays:
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, array, allow_pickle=False)
        blobs.append(buffer.getvalue())
    header = json.dumps({"body": body, "arrays": [len(b) for b in blobs]}).encode()
    payload = _LENGTH.pack(len(header)) + header + b"".join(blobs)
    return _LENGTH.pack(len(payload)) + payload


def unpack(payload: bytes) -> tuple[Any, list[np.ndarray]]:
    """The tree and the arrays of one frame's payload (raises :class:`WireError` if it is not well formed)."""
    try:
        (length,) = _LENGTH.unpack_from(payload)
        header = json.loads(payload[_LENGTH.size : _LENGTH.size + length])
        arrays, offset = [], _LENGTH.size + length
        for size in header["arrays"]:
            arrays.append(np.lib.format.read_array(io.BytesIO(payload[offset : offset + size]), allow_pickle=False))
            offset += size
        return header["body"], arrays
    except (ValueError, KeyError, TypeError, IndexError, RecursionError, struct.error) as error:
        raise WireError(f"a malformed message ({type(error).__name__})") from None


def write(fd: int, body: Any, arrays: list[np.ndarray]) -> None:
    data = memoryview(pack(body, arrays))
    while data:
        data = data[os.write(fd, data):]


def read(fd: int, deadline: float | None = None) -> tuple[Any, list[np.ndarray]]:
    """Read one frame from ``fd``; :class:`ChildTimeout` once ``deadline`` (``time.monotonic()``) passes."""
    (length,) = _LENGTH.unpack(_read_exactly(fd, _LENGTH.size, deadline))
    if length > MAX_MESSAGE:
        raise WireError(f"a message of {length / 2**20:.0f} MB (more than {MAX_MESSAGE // 2**20} MB)")
    return unpack(_read_exactly(fd, length, deadline))


def _read_exactly(fd: int, size: int, deadline: float | None) -> bytes:
    chunks, left = [], size
    while left:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                raise ChildTimeout("no answer before the time limit")
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise WireError("the other side closed the channel")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
