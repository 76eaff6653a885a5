"""lstm_fast's model file: the safetensors layout, read and written with numpy only.

A model file is one safetensors file (8-byte little-endian header length, a JSON
header, then the raw little-endian tensor bytes), so the `safetensors` package and
its tools can open it too. Loading never executes code: the header is parsed as JSON
and every field is checked (format, version, kind, dtype, shape, offsets, sizes)
before a single tensor is built. The model's config, vocabulary and labels live in
the header's ``__metadata__`` as one JSON string under ``"config"``.
"""

from __future__ import annotations

import json
import math
import os
import struct
import uuid
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import numpy as np

__all__ = ["ModelFile", "ModelFileError", "save_model", "load_model", "load_shipped_model", "FORMAT_NAME", "FORMAT_VERSION"]

FORMAT_NAME = "lstm_fast"
FORMAT_VERSION = 1

# Bounds that make a hostile header harmless: we never allocate from a header we did not check.
_MAX_HEADER_BYTES = 64 * 1024 * 1024
_MAX_TENSORS = 100_000
_MAX_RANK = 8

_DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
_CODES = {dt.newbyteorder("<") if dt.itemsize > 1 else dt: code for code, dt in _DTYPES.items()}


class ModelFileError(ValueError):
    """A model file is missing, corrupt, truncated, of another kind or inconsistent."""


@dataclass(frozen=True)
class ModelFile:
    """A loaded model file: checked tensors plus the JSON config."""

    path: str
    kind: str
    version: int
    config: dict
    tensors: dict

    def error(self, field: str, problem: str) -> ModelFileError:
        return ModelFileError(f"{self.path}: {field}: {problem}")

    def tensor(self, name: str, shape: tuple[int, ...] | None = None, dtype: Any = np.float32) -> np.ndarray:
        """The tensor `name`, checked against the expected shape and dtype."""
        if name not in self.tensors:
            raise self.error(name, "missing tensor")
        arr = self.tensors[name]
        if arr.dtype != np.dtype(dtype):
            raise self.error(name, f"dtype must be {np.dtype(dtype).name}, got {arr.dtype.name}")
        if shape is not None and tuple(arr.shape) != tuple(shape):
            raise self.error(name, f"shape must be {tuple(shape)}, got {tuple(arr.shape)}")
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            raise self.error(name, "contains NaN or infinite values")
        return arr

    def get(self, key: str, types: type | tuple[type, ...], *, default: Any = ..., check=None) -> Any:
        """Config entry `key`, type-checked (and range-checked by `check`, which returns a problem or None)."""
        if key not in self.config:
            if default is ...:
                raise self.error(f"config.{key}", "missing")
            return default
        value = self.config[key]
        ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in _as_tuple(types))
        if not ok:
            names = "/".join(t.__name__ for t in _as_tuple(types))
            raise self.error(f"config.{key}", f"must be {names}, got {type(value).__name__}")
        if check is not None:
            problem = check(value)
            if problem:
                raise self.error(f"config.{key}", problem)
        return value


def _as_tuple(types):
    return types if isinstance(types, tuple) else (types,)


def save_model(path: str | os.PathLike, tensors: Mapping[str, np.ndarray], *, kind: str, config: Mapping[str, Any]) -> None:
    """Write `tensors` and the JSON-serialisable `config` to `path` (atomically)."""
    path = Path(path)
    header: dict[str, Any] = {
        "__metadata__": {
            "format": FORMAT_NAME,
            "format_version": str(FORMAT_VERSION),
            "kind": kind,
            "config": json.dumps(config, ensure_ascii=False, sort_keys=True, allow_nan=False),
        }
    }
    blobs = []
    offset = 0
    for name in sorted(tensors):
        arr = np.asarray(tensors[name])
        dt = arr.dtype.newbyteorder("<") if arr.dtype.itemsize > 1 else arr.dtype
        if dt not in _CODES:
            raise TypeError(f"tensor {name!r}: unsupported dtype {arr.dtype}")
        data = np.ascontiguousarray(arr, dtype=dt).tobytes()
        header[name] = {"dtype": _CODES[dt], "shape": list(arr.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    head += b" " * (-len(head) % 8)  # align the data section to 8 bytes, as safetensors does
    # A unique temporary name opened with mode 0o666, so the umask decides the final
    # permissions as for any other file the user writes (mkstemp would make it 0o600).
    tmp = str(path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp"))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(head)))
            f.write(head)
            for b in blobs:
                f.write(b)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_model(path: str | os.PathLike, kind: str | None = None) -> ModelFile:
    """Read and check a model file; `kind` (e.g. "text_classifier") must match if given."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise ModelFileError(f"{name}: no such model file") from None
    except IsADirectoryError:
        raise ModelFileError(f"{name}: is a directory, not a model file") from None

    def fail(field: str, problem: str) -> ModelFileError:
        return ModelFileError(f"{name}: {field}: {problem}")

    if len(raw) < 8:
        raise fail("header", f"file is {len(raw)} bytes; too short to be a model file")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > _MAX_HEADER_BYTES or n > len(raw) - 8:
        raise fail("header", f"declared header length {n} does not fit the {len(raw)}-byte file (truncated or not a model file)")
    try:
        header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise fail("header", f"not valid JSON ({e})") from None
    if not isinstance(header, dict):
        raise fail("header", "must be a JSON object")
    meta = header.pop("__metadata__", None)
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise fail("__metadata__", "missing or not a string-to-string mapping")
    if meta.get("format") != FORMAT_NAME:
        raise fail("format", f"expected {FORMAT_NAME!r}, got {meta.get('format')!r}")
    try:
        version = int(meta.get("format_version", ""))
    except ValueError:
        raise fail("format_version", f"not an integer: {meta.get('format_version')!r}") from None
    if version != FORMAT_VERSION:
        raise fail("format_version", f"this lstm_fast reads version {FORMAT_VERSION}, file has {version}")
    file_kind = meta.get("kind", "")
    if kind is not None and file_kind != kind:
        raise fail("kind", f"expected a {kind!r} model, file holds {file_kind!r}")
    try:
        config = json.loads(meta.get("config", ""))
    except json.JSONDecodeError as e:
        raise fail("config", f"not valid JSON ({e})") from None
    if not isinstance(config, dict):
        raise fail("config", "must be a JSON object")
    if len(header) > _MAX_TENSORS:
        raise fail("header", f"{len(header)} tensors is more than the limit {_MAX_TENSORS}")

    data = memoryview(raw)[8 + n :]
    spans = []
    tensors = {}
    for tname, entry in header.items():
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise fail(tname, "entry must hold exactly dtype, shape and data_offsets")
        dt = _DTYPES.get(entry["dtype"]) if isinstance(entry["dtype"], str) else None
        if dt is None:
            raise fail(tname, f"unsupported dtype {entry['dtype']!r}")
        shape = entry["shape"]
        if (
            not isinstance(shape, list)
            or len(shape) > _MAX_RANK
            or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
        ):
            raise fail(tname, f"bad shape {shape!r}")
        offs = entry["data_offsets"]
        if (
            not isinstance(offs, list)
            or len(offs) != 2
            or not all(isinstance(o, int) and not isinstance(o, bool) for o in offs)
            or not 0 <= offs[0] <= offs[1] <= len(data)
        ):
            raise fail(tname, f"data_offsets {offs!r} fall outside the {len(data)}-byte data section (truncated file?)")
        nbytes = math.prod(shape) * dt.itemsize
        if offs[1] - offs[0] != nbytes:
            raise fail(tname, f"shape {tuple(shape)} of {entry['dtype']} needs {nbytes} bytes, offsets give {offs[1] - offs[0]}")
        spans.append((offs[0], offs[1], tname))
        arr = np.frombuffer(data[offs[0] : offs[1]], dtype=dt).reshape(shape)
        tensors[tname] = arr.astype(dt.newbyteorder("="), copy=True)
    spans.sort()
    pos = 0
    for begin, end, tname in spans:
        if begin != pos:
            raise fail(tname, "tensor data overlaps another tensor or leaves a gap")
        pos = end
    if pos != len(data):
        raise fail("data", f"{len(data) - pos} trailing bytes after the last tensor")
    return ModelFile(path=name, kind=file_kind, version=version, config=config, tensors=tensors)


def load_shipped_model(name: str, kind: str) -> ModelFile:
    """Read and check the model file `name` shipped in ``lstm_fast/models`` (package data)."""
    with resources.as_file(resources.files("lstm_fast") / "models" / name) as path:
        return load_model(path, kind=kind)
