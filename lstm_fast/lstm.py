"""``lstm_fast.LSTM``: torch.nn.LSTM's API and semantics over the C++ kernel."""

from __future__ import annotations

import operator
from typing import Any, Iterator, Mapping

import numpy as np

from . import _core
from .reference import lstm_weight_shapes as weight_shapes  # torch's names and shapes, one source

__all__ = ["LSTM", "cpu_info", "weight_shapes"]


def cpu_info() -> dict:
    """Which kernel path runs and why: ``{"isa", "reason", "compiled", "supported", "bf16_matmul",
    "bf16_matmul_supported", "int8_matmul", "int8_supported", "l1d_cache_bytes", "l2_cache_bytes",
    "l3_cache_bytes"}``.

    ``bf16_matmul`` says how ``matmul_dtype="bfloat16"`` runs: ``"amx_bf16"`` (AMX tiles,
    TDPBF16PS, for products of 8 rows or more — batches and input projections — and
    vdpbf16ps below; Linux on Sapphire Rapids and later), ``"avx512_bf16"`` (the CPU's
    vdpbf16ps instruction) or ``"emulated"`` (same numbers, float32 speed); all give the same
    products, summed in float32 in different orders. ``bf16_matmul_supported`` lists the
    paths this CPU can run, best first.
    ``int8_matmul`` says how int8 weights multiply: ``"amx_int8"`` (AMX tiles, TDPBUSD, for
    products of 2 rows or more; vpdpbusd for one), ``"avx512_vnni"`` (vpdpbusd),
    ``"avx512_bw"`` (AVX-512 without VNNI: vpmaddubsw on signed rows), ``"avx2"`` (the same on
    256 bits) or ``"emulated"`` (plain integer loops); all give the same integers.
    ``int8_supported`` lists the paths this CPU can run, best first.
    ``l1d_cache_bytes`` and ``l2_cache_bytes`` are one core's caches as the OS reports them
    (32 KiB and 1 MiB if it does not), ``l3_cache_bytes`` the shared L3 (4 MiB if unknown):
    they decide whether a small step is split across cores, whether a bidirectional layer
    runs its directions on separate cores, and whether a batch is split by rows.

    ``LSTM_FAST_ISA=generic|baseline|avx2|avx512`` (read at import) forces a path,
    ``LSTM_FAST_BF16_MATMUL=`` one of ``bf16_matmul_supported`` the bf16 matmul path and
    ``LSTM_FAST_INT8=`` one of ``int8_supported`` the int8 path.
    """
    return _core.cpu_info()


_DTYPES = {"float32": "float32", "fp32": "float32", "bfloat16": "bfloat16", "bf16": "bfloat16", "int8": "int8"}


def _dtypes(weights_dtype: str | None, matmul_dtype: str | None) -> tuple[str, str]:
    """(weights, matmul) from the constructor's arguments; an unset one follows the other."""
    for name, value in (("weights_dtype", weights_dtype), ("matmul_dtype", matmul_dtype)):
        if value is not None and value not in _DTYPES:
            raise ValueError(f"{name} must be 'float32', 'bfloat16' (or 'bf16') or 'int8', got {value!r}")
    w = _DTYPES[weights_dtype] if weights_dtype is not None else None
    mm = _DTYPES[matmul_dtype] if matmul_dtype is not None else None
    if w is None:
        w = mm if mm in ("bfloat16", "int8") else "float32"
    if mm is None:
        mm = "int8" if w == "int8" else "float32"
    if mm == "bfloat16" and w != "bfloat16":
        raise ValueError("matmul_dtype='bfloat16' needs bfloat16 weights (weights_dtype='bfloat16' or unset)")
    if (mm == "int8") != (w == "int8"):
        raise ValueError("int8 weights and the int8 matmul go together (set weights_dtype='int8', or matmul_dtype='int8')")
    return w, mm


def _check_torch_placement(device: Any, dtype: Any) -> None:
    """torch's ``device=`` and ``dtype=`` constructor arguments: the CPU and float32 are what
    lstm_fast computes in (and what porting code passes); anything else is an error."""
    if device is not None and str(device).split(":")[0] != "cpu":
        raise ValueError(f"lstm_fast runs on the CPU: device={device!r} is not supported (use None or 'cpu')")
    if dtype is not None and str(dtype) not in ("torch.float32", "float32", "<class 'numpy.float32'>"):
        raise ValueError(f"lstm_fast computes in float32: dtype={dtype!r} is not supported; reduced precision "
                         "is weights_dtype= / matmul_dtype=")


def _size(value: Any, name: str, minimum: int) -> int:
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an int, got {type(value).__name__}") from None
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def _to_numpy(value: Any, name: str) -> np.ndarray:
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor; torch itself is never imported
        value = value.detach().cpu().float().numpy()
    try:
        arr = np.asarray(value)
    except Exception as e:  # noqa: BLE001 - report what could not be converted
        raise TypeError(f"{name}: cannot convert {type(value).__name__} to an array ({e})") from None
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    return arr.astype(np.float32)


def _weights_of(m: "LSTM") -> dict:
    # Neither this nor anything else on the call's path reads m.__dict__: on CPython 3.11+ that
    # turns the instance's inline attribute values into a dict, whose lookups made every call
    # ~2 % slower (one-step LSTM(1, 1), benchmarks/ab_builds.py, Zen 4).
    try:
        return object.__getattribute__(m, "_state")[0]
    except AttributeError:
        return {}


class LSTM:
    """A multi-layer LSTM with exactly ``torch.nn.LSTM``'s constructor, weight names and call.

    >>> m = LSTM(8, 16, num_layers=2, bidirectional=True)
    >>> y, (h_n, c_n) = m(np.zeros((5, 3, 8), np.float32))          # (T, B, I) -> (T, B, 2*16)
    >>> y, _ = m(x, lengths=[5, 2, 4])    # = pack_padded_sequence(enforce_sorted=False) semantics

    ``dropout`` only acts in training, so it is accepted and ignored. Weights start as
    torch's do (uniform in ±1/sqrt(hidden_size), from ``seed``); load trained ones with
    :meth:`load_state_dict` or :meth:`from_torch`. The model is immutable between
    loads, so one instance may be called from many threads at once.

    ``weights_dtype="bfloat16"`` (opt-in; ``"bf16"`` too) stores the weight matrices in
    bfloat16 for the kernel, halving the bytes each step streams from cache — the
    bottleneck at batch 1. Arithmetic stays float32; only the weights are rounded (to
    ~3 significant digits), so outputs differ from float32 by ~1e-3 (measured in
    tests/test_bf16.py). ``state_dict()`` still returns the float32 weights.

    ``matmul_dtype="bfloat16"`` (opt-in; implies bfloat16 weights) also rounds what the
    weights multiply — x, h, and the cell output before a projection — to bfloat16: each
    product is exact and the sums stay float32, as in AVX512_BF16's ``vdpbf16ps`` and AMX's
    ``TDPBF16PS``, which run it on CPUs that have them (``cpu_info()["bf16_matmul"]``; AMX
    tiles for batches and input projections, the batch>=16 win). Outputs differ from float32
    by a few 1e-3. Elsewhere it is emulated with the same numbers and no speed-up.

    ``weights_dtype="int8"`` (opt-in; ``matmul_dtype="int8"`` is the same) is dynamic
    quantization, as torch's ``quantize_dynamic`` does for nn.LSTM: each weight row is
    stored as int8 with one float scale, and each call quantizes what the weights multiply
    (x, h) per row to 8 bits with a scale from its largest magnitude; integer dot products
    (AVX512_VNNI ``vpdpbusd``, AMX's ``TDPBUSD`` for batches and input projections where
    the CPU has it, else AVX512BW or AVX2 ``vpmaddubsw``: ``cpu_info()["int8_matmul"]``), one float
    multiply per output. A quarter of float32's bytes per step: the batch-1 win. Outputs
    differ from float32 by ~1e-2 (measured in tests/test_int8.py); check your task's metric.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, *, device: Any = None, dtype: Any = None, seed: int | None = None,
                 weights_dtype: str | None = None, matmul_dtype: str | None = None):
        _check_torch_placement(device, dtype)
        self.input_size = _size(input_size, "input_size", 1)
        self.hidden_size = _size(hidden_size, "hidden_size", 1)
        self.num_layers = _size(num_layers, "num_layers", 1)
        self.proj_size = _size(proj_size, "proj_size", 0)
        if self.proj_size >= self.hidden_size:
            raise ValueError(f"proj_size has to be smaller than hidden_size ({self.proj_size} >= {self.hidden_size})")
        if not isinstance(dropout, (int, float)) or isinstance(dropout, bool) or not 0.0 <= dropout <= 1.0:
            raise ValueError(f"dropout must be a number in [0, 1], got {dropout!r}")
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        self.dropout = float(dropout)
        self.bidirectional = bool(bidirectional)
        self.weights_dtype, self.matmul_dtype = _dtypes(weights_dtype, matmul_dtype)
        shapes = self._shapes()
        n_params = sum(int(np.prod(s)) for s in shapes.values())
        if n_params > 1 << 31:  # checked before allocating anything
            raise ValueError(f"this LSTM would have {n_params} parameters, more than the 2**31 limit")
        rng = np.random.default_rng(seed)
        k = 1.0 / np.sqrt(self.hidden_size)
        self._load({name: rng.uniform(-k, k, size=shape).astype(np.float32) for name, shape in shapes.items()})

    # --- weights -----------------------------------------------------------------
    def _shapes(self) -> dict:
        return weight_shapes(self.input_size, self.hidden_size, self.num_layers, self.bias,
                             self.bidirectional, self.proj_size)

    def _load(self, params: dict) -> None:
        core = _core.LstmModel(self.input_size, self.hidden_size, self.num_layers, self.bias,
                               self.bidirectional, self.proj_size, list(params.values()), self.weights_dtype,
                               self.matmul_dtype)
        for arr in params.values():
            arr.flags.writeable = False
        # One assignment swaps weights and kernel model together: a concurrent call sees old or new, never a mix.
        self._state = (params, core)
        for name, arr in params.items():  # torch's weight attributes, m.weight_ih_l0 ... (read-only arrays)
            object.__setattr__(self, name, arr)

    def state_dict(self) -> dict:
        """The weights as float32 numpy arrays under torch's names and shapes (copies)."""
        return {name: arr.copy() for name, arr in self._state[0].items()}

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> None:
        """Load weights from numpy arrays or torch tensors keyed by torch's names.

        With ``strict`` (the default), missing and unexpected keys are errors; without it,
        missing weights keep their current values and unexpected keys are ignored.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"state_dict must be a mapping of names to arrays, got {type(state_dict).__name__}")
        shapes = self._shapes()
        missing = [k for k in shapes if k not in state_dict]
        unexpected = [k for k in state_dict if k not in shapes]
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append("missing keys: " + ", ".join(missing))
            if unexpected:
                parts.append("unexpected keys: " + ", ".join(map(str, unexpected)))
            raise ValueError("Error(s) in loading state_dict for LSTM: " + "; ".join(parts))
        params = dict(self._state[0])
        for name, shape in shapes.items():
            if name not in state_dict:
                continue
            arr = _to_numpy(state_dict[name], name)
            if arr.shape != shape:
                raise ValueError(f"{name} must have shape {shape}; got {arr.shape}")
            if not np.isfinite(arr).all():
                raise ValueError(f"{name} contains NaN or infinite values")
            params[name] = np.ascontiguousarray(arr)
        self._load(params)

    @classmethod
    def from_torch(cls, module: Any, *, weights_dtype: str | None = None, matmul_dtype: str | None = None) -> "LSTM":
        """An ``LSTM`` with the configuration and weights of a ``torch.nn.LSTM``."""
        for attr in ("input_size", "hidden_size", "num_layers", "bias", "batch_first", "bidirectional", "state_dict"):
            if not hasattr(module, attr):
                raise TypeError(f"from_torch expects a torch.nn.LSTM, got {type(module).__name__} (no {attr!r})")
        if getattr(module, "mode", "LSTM") != "LSTM":
            raise TypeError(f"from_torch expects an LSTM, got a {module.mode} module")
        m = cls(module.input_size, module.hidden_size, module.num_layers, module.bias, module.batch_first,
                float(module.dropout), module.bidirectional, getattr(module, "proj_size", 0),
                weights_dtype=weights_dtype, matmul_dtype=matmul_dtype)
        m.load_state_dict(module.state_dict())
        return m

    # --- inference -----------------------------------------------------------------
    # forward and __call__, ``y, (h_n, c_n) = m(input, hx=None, lengths=None)``, are C methods
    # set below the class (_core._call_methods): the same as
    #     def forward(self, input, hx=None, lengths=None):
    #         return self._state[1].forward(input, hx, lengths, self.batch_first)
    #     def __call__(self, *args, **kwargs):
    #         return self.forward(*args, **kwargs)  # as torch.nn.Module: an overriding forward runs
    # without the Python frames: 0.26 us less per call, 1.07 against 1.33 us for a one-step
    # LSTM(1, 1) on a 2.31 GHz Xeon (benchmarks/call_overhead.py).

    # --- copy.deepcopy and pickle, as for a torch module: the configuration and the float32
    # weights; the kernel model is rebuilt (and the weights checked) by load_state_dict.
    def __getstate__(self) -> dict:
        weights = self._state[0]
        state = {k: v for k, v in self.__dict__.items() if k != "_state" and k not in weights}
        state["_weights"] = weights
        return state

    def __setstate__(self, state: dict) -> None:
        state = dict(state)
        weights = state.pop("_weights")
        for name, value in state.items():
            object.__setattr__(self, name, value)
        self._state = ({}, None)
        self.load_state_dict(weights)

    def __setattr__(self, name: str, value: Any) -> None:
        # torch.nn.Module.__call__ looks up self.forward on every call, so a forward set on an
        # instance runs. Here __call__ checks only the class (a subclass's forward runs):
        # looking in the instance's __dict__ too cost ~5 % of a one-step call. So that
        # difference is an error, not a silently ignored attribute.
        if name == "forward":
            raise AttributeError("lstm_fast.LSTM: forward cannot be set on an instance (m(...) would not "
                                 "call it); subclass LSTM and override forward instead")
        if name.startswith(("weight_", "bias_")) and name in _weights_of(self):  # m.weight_hh_l0 = w, as torch
            self.load_state_dict({name: value}, strict=False)
            return
        object.__setattr__(self, name, value)

    # --- torch.nn.Module's mode switches and weight views. lstm_fast runs inference only:
    # always eval mode (dropout, which acts only in training, is ignored).
    training = False

    def eval(self) -> "LSTM":
        """As ``torch.nn.Module.eval``: returns self (lstm_fast is always in eval mode)."""
        return self

    def train(self, mode: bool = True) -> "LSTM":
        """As ``torch.nn.Module.train``. Training mode changes torch's LSTM only through
        dropout between layers, which lstm_fast cannot apply: with ``dropout > 0`` it is an
        error; otherwise the outputs are the same in both modes and only ``training`` changes."""
        if mode and self.dropout > 0 and self.num_layers > 1:
            raise ValueError(f"lstm_fast runs inference only: in training mode torch would apply "
                             f"dropout={self.dropout} between layers; use eval()")
        object.__setattr__(self, "training", bool(mode))
        return self

    def named_parameters(self) -> Iterator[tuple[str, np.ndarray]]:
        """As torch's, in its order: (name, read-only float32 array) pairs."""
        return iter(self._state[0].items())

    def parameters(self) -> Iterator[np.ndarray]:
        """As torch's: the weights, read-only float32 arrays (numpy's ``.size``, not ``.numel()``)."""
        return iter(self._state[0].values())

    def flatten_parameters(self) -> None:
        """As torch's (a no-op here: the weights are always packed for the kernel)."""

    @property
    def all_weights(self) -> list:
        """As torch's: per layer and direction, [weight_ih, weight_hh(, bias_ih, bias_hh)(, weight_hr)]."""
        groups: dict = {}
        for name, arr in self._state[0].items():
            groups.setdefault(name.split("_l", 1)[1], []).append(arr)
        return list(groups.values())

    def __repr__(self) -> str:
        extra = "".join(
            f", {k}={v}" for k, v, d in (("num_layers", self.num_layers, 1), ("bias", self.bias, True),
                                         ("batch_first", self.batch_first, False), ("dropout", self.dropout, 0.0),
                                         ("bidirectional", self.bidirectional, False),
                                         ("proj_size", self.proj_size, 0),
                                         ("weights_dtype", repr(self.weights_dtype), "'float32'"),
                                         ("matmul_dtype", repr(self.matmul_dtype),
                                          "'int8'" if self.weights_dtype == "int8" else "'float32'")) if v != d)
        return f"LSTM({self.input_size}, {self.hidden_size}{extra})"


LSTM.__call__, LSTM.forward = _core._call_methods(LSTM)
