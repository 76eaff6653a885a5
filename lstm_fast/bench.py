"""Benchmark lstm_fast against PyTorch, ONNX Runtime and OpenVINO on the same weights (issue 3).

``python -m lstm_fast.bench``, ``lstm-fast bench`` and ``benchmarks/bench_lstm.py`` are
this module. For each named scenario and thread count it

1. builds every installed engine from one set of weights (torch's layout),
2. checks each engine's outputs against lstm_fast's (and lstm_fast's against the NumPy
   float64 reference): an fp32 engine that differs by more than 1e-4 is failed, not timed,
3. warms every engine up, then times many calls interleaved across the engines in short
   time slices, round-robin with the order rotated every round, so that drift on a shared
   machine hits every engine alike,
4. reports per-call median and p99 in microseconds, the ratio peer median / lstm_fast
   median, and the fp32 bound of the machine (see :func:`bound`).

Peers are optional and benchmark-only (``pip install onnxruntime onnx openvino``; torch
for the PyTorch row); each is imported only here, inside functions, and only if installed.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import importlib.util
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

__all__ = ["SCENARIOS", "Scenario", "Machine", "Plan", "bound", "bench_scenario", "time_interleaved", "main", "register"]

MiB = 1 << 20
FP32_TOLERANCE = 1e-4  # max |peer - lstm_fast| allowed for an fp32 engine
BF16_TOLERANCE = 5e-2  # bf16 weights give ~1e-3; beyond this the conversion itself is wrong
INT8_TOLERANCE = 1e-1  # int8 gives ~1e-2; beyond this the quantization itself is wrong


# --- scenarios -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Scenario:
    """One timed call: input (T, B, I) through an LSTM(I, H, num_layers, bidirectional).

    ``stream``: the call is one time step (T=1) that takes and returns the state,
    ``y, (h, c) = m(x_t, (h, c))``, as a streaming service does per frame.
    """

    name: str
    batch: int
    steps: int
    input_size: int
    hidden_size: int
    num_layers: int = 1
    bidirectional: bool = False
    stream: bool = False

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    def layer_inputs(self) -> list[int]:
        return [self.input_size] + [self.hidden_size * self.directions] * (self.num_layers - 1)

    def shape(self) -> str:
        s = f"{self.batch},{self.steps},{self.input_size},{self.hidden_size},{self.num_layers}"
        if self.bidirectional:
            s += ",bi"
        if self.stream:
            s += ",step"
        return s

    def flops(self) -> float:
        """Multiply-adds x2 of the input projection and the recurrent product, per call."""
        H, D, T, B = self.hidden_size, self.directions, self.steps, self.batch
        return float(sum(D * T * B * 2 * 4 * H * (i + H) for i in self.layer_inputs()))

    def weight_bytes(self) -> tuple[float, float]:
        """(W_ih bytes, W_hh bytes) of one layer-direction, the largest (fp32)."""
        H = self.hidden_size
        return 4.0 * 4 * H * max(self.layer_inputs()), 4.0 * 4 * H * H

    def batch1(self) -> bool:
        return self.batch == 1


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("tiny", 1, 16, 64, 64),
    Scenario("small", 1, 32, 128, 128),
    Scenario("medium", 1, 128, 128, 256),
    Scenario("bidir2", 1, 64, 300, 256, 2, True),
    Scenario("large", 1, 128, 256, 512),
    Scenario("stream", 1, 1, 256, 256, stream=True),
    Scenario("batch32", 32, 64, 128, 256),
    Scenario("batch64bi", 64, 128, 300, 256, 2, True),
)}


def parse_shape(text: str) -> Scenario:
    """``NAME=B,T,I,H[,LAYERS][,bi][,step]`` -> a Scenario (``--shape``)."""
    name, _, spec = text.partition("=")
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    flags = {p for p in parts if not p.isdigit()}
    nums = [int(p) for p in parts if p.isdigit()]
    if not name or len(nums) not in (4, 5) or flags - {"bi", "step"}:
        raise ValueError(f"--shape {text!r}: expected NAME=B,T,I,H[,LAYERS][,bi][,step]")
    s = Scenario(name, *nums, bidirectional="bi" in flags, stream="step" in flags)
    if s.stream and (s.steps != 1 or s.num_layers != 1):
        raise ValueError(f"--shape {text!r}: a streaming step has T=1 and one layer")
    if min(nums) < 1:
        raise ValueError(f"--shape {text!r}: sizes must be >= 1")
    return s


# --- the bound -----------------------------------------------------------------------


def _cache_bytes(index: int, default: float) -> float:
    """One core's cache size at sysfs ``index`` (2: L2, 3: L3), or ``default``."""
    try:
        text = Path(f"/sys/devices/system/cpu/cpu0/cache/index{index}/size").read_text().strip()
        units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
        return float(text[:-1]) * units[text[-1]] if text[-1] in units else float(text)
    except (OSError, ValueError, IndexError):
        return default


@dataclasses.dataclass
class Machine:
    """What bounds an fp32 LSTM call here: FMA peak per core and where the weights are read from.

    Defaults: issue 3's numbers for this machine kind (AMD EPYC, AVX-512, ~4.1 GHz): 243
    GFLOP/s per core; reading ~186 GB/s per core from L2, ~72 GB/s beyond it (the L3; issue
    3's "72 GB/s at 2 MiB"), ~30 GB/s beyond the L3. The cache sizes are read from sysfs:
    on this machine L2 is 1 MiB *per core* (lscpu's "2 MiB" is both cores together).
    ``benchmarks/machine_peak.py --json`` measures the rates; ``--machine`` reads that.
    """

    peak_gflops: float = 243.0
    l2_bytes: float = dataclasses.field(default_factory=lambda: _cache_bytes(2, 1 * MiB))
    l2_gbps: float = 186.0
    l3_bytes: float = dataclasses.field(default_factory=lambda: _cache_bytes(3, 32 * MiB))
    l3_gbps: float = 72.0
    dram_gbps: float = 30.0
    source: str = "issue 3 rates, cache sizes from sysfs"
    # Measured read rate by working-set size, ((bytes, GB/s), ...) ascending; when present
    # it replaces the three level rates above.
    read_curve: tuple = ()

    def read_gbps(self, per_core: float) -> float:
        """The read rate of a `per_core`-byte working set read over and over. With a measured
        curve: the rate at the largest measured set not above it (rates fall with size, so
        this is optimistic; below the smallest set, the smallest set's rate)."""
        below = [g for size, g in self.read_curve if size <= per_core]
        return below[-1] if below else self.read_curve[0][1]

    def read_us(self, per_core: float) -> float:
        """Least time for one core to read a `per_core`-byte working set that it reads
        over and over. With a measured curve: at that set's measured rate. Otherwise: at best
        an L2-sized part of it stays in L2 and the rest streams from the L3 (or memory)."""
        if self.read_curve:
            return per_core / self.read_gbps(per_core) / 1e3
        in_l2 = min(per_core, self.l2_bytes)
        in_l3 = min(per_core - in_l2, max(self.l3_bytes - self.l2_bytes, 0.0))
        rest = per_core - in_l2 - in_l3
        return (in_l2 / self.l2_gbps + in_l3 / self.l3_gbps + rest / self.dram_gbps) / 1e3

    def describe(self) -> str:
        if self.read_curve:
            curve = ", ".join(f"{size / 1024:g} KiB {g:g}" for size, g in self.read_curve)
            return (f"fp32 peak {self.peak_gflops:g} GFLOP/s per core; reads per core by working set (GB/s): "
                    f"{curve} ({self.source})")
        return (f"fp32 peak {self.peak_gflops:g} GFLOP/s per core; reads per core: L2 ({self.l2_bytes / MiB:g} MiB) "
                f"{self.l2_gbps:g} GB/s, L3 ({self.l3_bytes / MiB:g} MiB) {self.l3_gbps:g} GB/s, beyond "
                f"{self.dram_gbps:g} GB/s ({self.source})")

    @classmethod
    def from_peak_json(cls, path: str) -> "Machine":
        """Rates from ``benchmarks/machine_peak.py --json``: the measured curve (read rate by
        working-set size), and from it the level rates it prints: L2 = the rate at half the L2
        (an L2-resident set, not an L1 one), L3 = at twice the L2, beyond = at the largest set.

        (Before 2026-12-01 the L2 rate was the best rate at any set within the L2, which is
        the L1's: 1 MiB of weights was taken to stream at ~220 GB/s where this core reads
        ~100 GB/s; the bound was optimistic for batch-1 shapes by up to 2x.)"""
        data = json.loads(Path(path).read_text())
        table = tuple(sorted((int(k) * 1024, float(v)) for k, v in data["read_gbps"].items()))
        m = cls(peak_gflops=float(data["fma_peak_gflops"]), source=f"measured: {path}", read_curve=table)
        m.l2_gbps = m.read_gbps(m.l2_bytes / 2)
        m.l3_gbps = next((g for size, g in table if size >= 2 * m.l2_bytes), table[-1][1])
        m.dram_gbps = table[-1][1]
        return m


def bound(s: Scenario, threads: int, machine: Machine) -> dict:
    """The fp32 lower bound of one call's latency in µs: max(compute, weight traffic).

    compute = FLOPs / (threads x peak per core).
    traffic: at batch 1 the recurrent GEMV must re-read all of W_hh (16H² bytes) every step,
    and each call reads W_ih once. Per layer-direction: T x read(W_hh / threads) +
    read(W_ih / threads), where read() is :meth:`Machine.read_us` (the measured rate for that
    working set per core: L1, L2, L3 or memory as it fits). A streaming step re-reads
    W_ih and W_hh every call, so both count as the working set. Everything is optimistic
    (directions run one after the other, perfect split across cores, no barrier cost), so
    it stays a lower bound. Batch >= 32 is compute-bound, batch 1 bandwidth-bound.
    """
    _, w_hh = s.weight_bytes()
    memory_us = 0.0
    for i in s.layer_inputs():
        w_ih = 4.0 * 4 * s.hidden_size * i
        for _ in range(s.directions):
            if s.stream:
                memory_us += s.steps * machine.read_us((w_ih + w_hh) / threads)
            else:
                memory_us += s.steps * machine.read_us(w_hh / threads) + machine.read_us(w_ih / threads)
    compute_us = s.flops() / (machine.peak_gflops * 1e9 * threads) * 1e6
    return {"compute_us": compute_us, "memory_us": memory_us, "bound_us": max(compute_us, memory_us),
            "limit": "compute" if compute_us >= memory_us else "bandwidth", "flops": s.flops(),
            "w_hh_bytes_per_core": w_hh / threads, "issue_bound_us": ISSUE_BOUND_US.get(s.name, {}).get(threads)}


# Issue 3's fp32 bound column (µs, 1 and 2 threads), for comparison with ours.
ISSUE_BOUND_US = {"tiny": {1: 4.3, 2: 2.2}, "small": {1: 42, 2: 20}, "medium": {1: 709, 2: 366},
                  "bidir2": {1: 1449, 2: 747}, "large": {1: 11110, 2: 1513}, "stream": {1: 8.3, 2: 4.3},
                  "batch32": {1: 6628, 2: 3359}, "batch64bi": {1: 182823, 2: 92651}}


# --- engines -------------------------------------------------------------------------


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _gate_order_onnx(w: np.ndarray, hidden: int) -> np.ndarray:
    """torch's gate blocks i, f, g, o -> ONNX's i, o, f, c."""
    i, f, g, o = (w[k * hidden:(k + 1) * hidden] for k in range(4))
    return np.concatenate([i, o, f, g])


def onnx_model(s: Scenario, weights: dict) -> bytes:
    """An ONNX graph of the same LSTM, built node by node with ``onnx.helper``.

    Inputs: ``x`` (T, B, I) and, for a streaming step, ``h0``, ``c0`` (D, B, H).
    Outputs: ``y`` (T, B, D*H), ``h_n``, ``c_n`` (L*D, B, H): torch's shapes. Layers are
    stacked as ONNX LSTM nodes (one per layer); between them the (T, D, B, H) output is
    transposed and reshaped to (T, B, D*H).
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    H, D = s.hidden_size, s.directions
    nodes, inits = [], []
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["T", "B", s.input_size])]
    if s.stream:
        for name in ("h0", "c0"):
            inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [D, "B", H]))
    if D == 1:
        inits.append(numpy_helper.from_array(np.array([1], np.int64), "axis1"))
    else:
        inits.append(numpy_helper.from_array(np.array([0, 0, -1], np.int64), "flat_shape"))
    layer_in, hs, cs = "x", [], []
    for layer in range(s.num_layers):
        sfx = [f"_l{layer}" + ("_reverse" if d else "") for d in range(D)]
        W = np.stack([_gate_order_onnx(weights["weight_ih" + x], H) for x in sfx])
        R = np.stack([_gate_order_onnx(weights["weight_hh" + x], H) for x in sfx])
        B = np.stack([np.concatenate([_gate_order_onnx(weights["bias_ih" + x], H),
                                      _gate_order_onnx(weights["bias_hh" + x], H)]) for x in sfx])
        for name, arr in (("W", W), ("R", R), ("B", B)):
            inits.append(numpy_helper.from_array(arr.astype(np.float32), f"{name}{layer}"))
        lstm_inputs = [layer_in, f"W{layer}", f"R{layer}", f"B{layer}"]
        if s.stream:
            lstm_inputs += ["", "h0", "c0"]
        nodes.append(helper.make_node(
            "LSTM", lstm_inputs, [f"Y{layer}", f"Yh{layer}", f"Yc{layer}"], hidden_size=H,
            direction="bidirectional" if s.bidirectional else "forward"))
        out = "y" if layer == s.num_layers - 1 else f"in{layer + 1}"
        if D == 1:
            nodes.append(helper.make_node("Squeeze", [f"Y{layer}", "axis1"], [out]))
        else:
            nodes.append(helper.make_node("Transpose", [f"Y{layer}"], [f"Yt{layer}"], perm=[0, 2, 1, 3]))
            nodes.append(helper.make_node("Reshape", [f"Yt{layer}", "flat_shape"], [out]))
        layer_in = out
        hs.append(f"Yh{layer}")
        cs.append(f"Yc{layer}")
    for name, parts in (("h_n", hs), ("c_n", cs)):
        nodes.append(helper.make_node("Concat", parts, [name], axis=0) if len(parts) > 1
                     else helper.make_node("Identity", parts, [name]))
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["T", "B", D * H]),
               helper.make_tensor_value_info("h_n", TensorProto.FLOAT, [s.num_layers * D, "B", H]),
               helper.make_tensor_value_info("c_n", TensorProto.FLOAT, [s.num_layers * D, "B", H])]
    graph = helper.make_graph(nodes, f"lstm_{s.name}", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)],
                              producer_name="lstm_fast.bench")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


@dataclasses.dataclass
class Built:
    """An engine ready for one scenario: ``call()`` is the timed call (a streaming step
    carries its state from call to call); ``infer(x, h0, c0)`` -> (y, h_n, c_n) numpy."""

    call: Callable[[], object]
    infer: Callable


class Engine:
    name = "?"
    precision = "fp32"
    compare_to = "lstm_fast"  # ratios: this engine's median / compare_to's median

    def available(self) -> str | None:
        """None if usable here, else why not."""
        return None

    def version(self) -> str:
        return ""

    def context(self):
        """Entered around a whole thread-count phase (e.g. torch.inference_mode)."""
        return contextlib.nullcontext()

    def set_threads(self, n: int) -> None:
        pass

    def build(self, s: Scenario, weights: dict, x: np.ndarray, state: tuple, threads: int) -> Built:
        raise NotImplementedError


class LstmFastEngine(Engine):
    name = "lstm_fast"

    def __init__(self, weights_dtype: str = "float32", matmul_dtype: str | None = None):
        self.weights_dtype, self.matmul_dtype = weights_dtype, matmul_dtype
        if weights_dtype == "int8":
            self.name, self.precision, self.compare_to = "lstm_fast-int8", "int8", "lstm_fast"
        elif matmul_dtype == "bfloat16":
            self.name, self.precision, self.compare_to = "lstm_fast-bf16mm", "bf16", "lstm_fast"
        elif weights_dtype != "float32":
            self.name, self.precision, self.compare_to = "lstm_fast-bf16", "bf16", "lstm_fast"

    def version(self) -> str:
        import lstm_fast

        info = lstm_fast.cpu_info()
        extra = (f", int8: {info['int8_matmul']}" if self.weights_dtype == "int8" else
                 f", bf16 matmul: {info['bf16_matmul']}" if self.matmul_dtype == "bfloat16" else "")
        return f"{lstm_fast.__version__}{_git_describe()} ({info['isa']}{extra})"

    def set_threads(self, n: int) -> None:
        import lstm_fast

        lstm_fast.set_num_threads(n)

    def build(self, s, weights, x, state, threads):
        import lstm_fast

        m = lstm_fast.LSTM(s.input_size, s.hidden_size, s.num_layers, bidirectional=s.bidirectional,
                           weights_dtype=self.weights_dtype, matmul_dtype=self.matmul_dtype)
        m.load_state_dict(weights)

        def infer(x, h0=None, c0=None):
            y, (h, c) = m(x, None if h0 is None else (h0, c0))
            return y, h, c

        if s.stream:
            carry = [state]

            def call():
                y, carry[0] = m(x, carry[0])
                return y
        else:
            def call():
                return m(x)
        return Built(call, infer)


class TorchEngine(Engine):
    name = "torch"

    def available(self):
        return None if _installed("torch") else "torch is not installed"

    def version(self):
        import torch

        return f"{torch.__version__} (nn.LSTM, oneDNN {'on' if torch.backends.mkldnn.is_available() else 'off'})"

    def context(self):
        import torch

        return torch.inference_mode()

    def set_threads(self, n):
        import torch

        torch.set_num_threads(n)

    def build(self, s, weights, x, state, threads):
        import torch

        net = torch.nn.LSTM(s.input_size, s.hidden_size, s.num_layers, bidirectional=s.bidirectional)
        net.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in weights.items()})
        net.eval()
        xt = torch.from_numpy(x)

        def infer(x, h0=None, c0=None):
            hx = None if h0 is None else (torch.from_numpy(h0), torch.from_numpy(c0))
            y, (h, c) = net(torch.from_numpy(x), hx)
            return y.numpy(), h.numpy(), c.numpy()

        if s.stream:
            carry = [(torch.from_numpy(state[0]), torch.from_numpy(state[1]))]

            def call():
                y, carry[0] = net(xt, carry[0])
                return y
        else:
            def call():
                return net(xt)
        return Built(call, infer)


class OrtEngine(Engine):
    name = "onnxruntime"

    def available(self):
        missing = [m for m in ("onnxruntime", "onnx") if not _installed(m)]
        return f"{' and '.join(missing)} not installed" if missing else None

    def version(self):
        import onnxruntime

        return f"{onnxruntime.__version__} (CPUExecutionProvider, sequential, inter-op 1)"

    def build(self, s, weights, x, state, threads):
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.log_severity_level = 3  # errors only
        sess = ort.InferenceSession(onnx_model(s, weights), so, providers=["CPUExecutionProvider"])

        def infer(x, h0=None, c0=None):
            feed = {"x": x} if h0 is None else {"x": x, "h0": h0, "c0": c0}
            return tuple(sess.run(None, feed))

        if s.stream:
            carry = list(state)

            def call():
                y, carry[0], carry[1] = sess.run(None, {"x": x, "h0": carry[0], "c0": carry[1]})
                return y
        else:
            feed = {"x": x}

            def call():
                return sess.run(None, feed)
        return Built(call, infer)


class OpenVinoEngine(Engine):
    """OpenVINO's CPU plugin on the ONNX graph; ``precision`` "f32" or "bf16" (its default on
    CPUs with AVX512_BF16 or AMX), latency hint, one stream."""

    _core = None

    def __init__(self, precision: str = "f32"):
        self.hint = precision
        if precision == "f32":
            self.name, self.precision = "openvino", "fp32"
        else:
            # Like for like: OpenVINO's bf16 also rounds the activations it multiplies.
            self.name, self.precision, self.compare_to = "openvino-bf16", "bf16", "lstm_fast-bf16mm"

    def available(self):
        missing = [m for m in ("openvino", "onnx") if not _installed(m)]
        if missing:
            return f"{' and '.join(missing)} not installed"
        if self.hint != "f32":
            caps = self.core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
            if "BF16" not in caps:
                return "this CPU has no bf16 support in OpenVINO"
        return None

    @classmethod
    def core(cls):
        if cls._core is None:
            import openvino as ov

            cls._core = ov.Core()
        return cls._core

    def version(self):
        import openvino as ov

        default = self.core().get_property("CPU", "INFERENCE_PRECISION_HINT")
        default = default.get_type_name() if hasattr(default, "get_type_name") else str(default)
        return f"{ov.__version__.split('-')[0]} (CPU plugin, {self.hint}; its default here: {default})"

    def build(self, s, weights, x, state, threads):
        core = self.core()
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "lstm.onnx"
            path.write_bytes(onnx_model(s, weights))
            model = core.read_model(str(path))
            compiled = core.compile_model(model, "CPU", {
                "INFERENCE_NUM_THREADS": threads, "INFERENCE_PRECISION_HINT": self.hint,
                "PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": 1})
        req = compiled.create_infer_request()
        outs = [compiled.output(k) for k in range(3)]

        def infer(x, h0=None, c0=None):
            feed = {"x": x} if h0 is None else {"x": x, "h0": h0, "c0": c0}
            r = compiled.create_infer_request().infer(feed)
            return tuple(np.array(r[o]) for o in outs)

        if s.stream:
            carry = [state[0].copy(), state[1].copy()]

            def call():
                r = req.infer({"x": x, "h0": carry[0], "c0": carry[1]}, share_inputs=True)
                carry[0], carry[1] = r[outs[1]], r[outs[2]]
                return r
        else:
            feed = {"x": x}

            def call():
                return req.infer(feed, share_inputs=True)
        return Built(call, infer)


def all_engines(bf16: bool = True) -> list[Engine]:
    engines: list[Engine] = [LstmFastEngine(), TorchEngine(), OrtEngine(), OpenVinoEngine("f32")]
    if bf16:
        engines += [LstmFastEngine("bfloat16"), LstmFastEngine("bfloat16", "bfloat16"), OpenVinoEngine("bf16"),
                    LstmFastEngine("int8")]
    return engines


ENGINE_NAMES = ("lstm_fast", "torch", "onnxruntime", "openvino", "lstm_fast-bf16", "lstm_fast-bf16mm",
                "openvino-bf16", "lstm_fast-int8")


# --- timing --------------------------------------------------------------------------


@dataclasses.dataclass
class Plan:
    """How long to time: ``seconds`` per engine per (scenario, threads), cut into ``rounds``
    round-robin slices; at least ``min_reps`` timed calls per engine."""

    seconds: float = 2.0
    rounds: int = 20
    min_reps: int = 20
    warmup_seconds: float = 0.2
    lead_call_below_us: float = 5000.0  # an untimed call opens each slice of calls shorter than this
    settle_ms: float = 10.0  # pause between slices: the previous engine's spinning workers go to sleep
    # ... with more than one thread. Measured 2026-12-01 (tiny, 2 threads, every engine): with
    # 10 ms, some pool still ran on the second core into the next slice: lstm_fast 17.9 us, ONNX
    # Runtime 32.7, OpenVINO 136, torch 183; with 100 ms 15.0, 27.8, 88.5, 121.
    settle_ms_threads: float = 100.0


QUICK = Plan(seconds=0.3, rounds=6, min_reps=5, warmup_seconds=0.05)


def time_interleaved(calls: dict, plan: Plan, threads: int = 1) -> dict:
    """Per-call wall times in µs for each named zero-argument callable, interleaved.

    After a warm-up (which also estimates each call's cost), every round gives each
    engine one time slice of seconds/rounds of back-to-back timed calls (at least one);
    the engine order rotates each round; there are enough rounds for ``min_reps`` calls.
    Each slice starts after a ``settle_ms`` pause (``settle_ms_threads`` when ``threads`` >
    1), in which the previous engine's worker
    threads stop spinning (libgomp, ONNX Runtime and TBB pools spin for a while after a
    call and would steal a core from the next engine), and a slice of short calls opens
    with one untimed call that wakes this engine's threads and brings its weights back into
    cache. The garbage collector is off while timing.
    """
    names = list(calls)
    est = {}
    for name in names:
        call, times = calls[name], []
        end = time.perf_counter() + plan.warmup_seconds
        while len(times) < 3 or (time.perf_counter() < end and len(times) < 10000):
            t0 = time.perf_counter_ns()
            call()
            times.append(time.perf_counter_ns() - t0)
        est[name] = float(np.median(times)) / 1e3
    slice_ns = int(plan.seconds / plan.rounds * 1e9)
    rounds = max(plan.rounds, max(math.ceil(plan.min_reps / max(1.0, slice_ns / 1e3 / e)) for e in est.values()))
    samples: dict = {n: [] for n in names}
    clock = time.perf_counter_ns
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for r in range(rounds):
            for name in names[r % len(names):] + names[:r % len(names)]:
                call, out = calls[name], samples[name]
                settle_ms = plan.settle_ms_threads if threads > 1 else plan.settle_ms
                if settle_ms > 0:
                    time.sleep(settle_ms / 1e3)
                if est[name] < plan.lead_call_below_us:
                    call()
                end = clock() + slice_ns
                while True:  # at least one call; then until the slice is used up
                    t0 = clock()
                    call()
                    t1 = clock()
                    out.append(t1 - t0)
                    if t1 >= end:
                        break
    finally:
        if gc_was:
            gc.enable()
    return {n: np.asarray(v, dtype=np.float64) / 1e3 for n, v in samples.items()}


def summarize(us: np.ndarray) -> dict:
    q = np.percentile(us, [25, 50, 75, 90, 99])
    return {"median_us": float(q[1]), "p99_us": float(q[4]), "p25_us": float(q[0]), "p75_us": float(q[2]),
            "p90_us": float(q[3]), "mean_us": float(us.mean()), "min_us": float(us.min()), "max_us": float(us.max()),
            "n": int(us.size)}


# --- one scenario ----------------------------------------------------------------------


def _max_diff(a: tuple, b: tuple) -> float:
    return max(float(np.abs(np.asarray(p, np.float64) - np.asarray(q, np.float64)).max()) for p, q in zip(a, b))


def _reference_outputs(s: Scenario, weights: dict, x, h0, c0) -> tuple:
    from lstm_fast.reference import LSTM as Reference

    ref = Reference(s.input_size, s.hidden_size, s.num_layers, bidirectional=s.bidirectional)
    ref.load_state_dict(weights)
    y, (h, c) = ref(x.astype(np.float64), None if h0 is None else (h0.astype(np.float64), c0.astype(np.float64)))
    return y, h, c


def bench_scenario(s: Scenario, engines: list[Engine], threads: int, plan: Plan, machine: Machine,
                   seed: int = 0, log=print) -> dict:
    """Build, check and time every engine on one scenario at one thread count."""
    import lstm_fast

    rng = np.random.default_rng(seed)
    weights = lstm_fast.LSTM(s.input_size, s.hidden_size, s.num_layers, bidirectional=s.bidirectional,
                             seed=seed).state_dict()
    x = rng.standard_normal((s.steps, s.batch, s.input_size)).astype(np.float32)
    shape = (s.num_layers * s.directions, s.batch, s.hidden_size)
    state = ((0.5 * rng.standard_normal(shape)).astype(np.float32),
             (0.5 * rng.standard_normal(shape)).astype(np.float32)) if s.stream else (None, None)
    rows: dict = {}
    built: dict = {}
    for e in engines:
        e.set_threads(threads)
    with contextlib.ExitStack() as stack:
        for e in engines:
            stack.enter_context(e.context())
        expected = None
        for e in engines:
            row = rows[e.name] = {"precision": e.precision}
            try:
                b = e.build(s, weights, x, state, threads)
                out = b.infer(x, *state)
            except Exception as err:  # noqa: BLE001 - one engine failing must not stop the others
                row.update(ok=False, error=f"{type(err).__name__}: {err}")
                log(f"  {e.name}: failed to build or run: {row['error']}")
                continue
            if e.name == "lstm_fast":
                expected = out
                diff, against = _max_diff(out, _reference_outputs(s, weights, x, *state)), "float64 reference"
            elif expected is None:
                row.update(ok=False, error="no lstm_fast result to check against")
                continue
            else:
                diff, against = _max_diff(out, expected), "lstm_fast"
            tol = {"fp32": FP32_TOLERANCE, "bf16": BF16_TOLERANCE, "int8": INT8_TOLERANCE}[e.precision]
            row.update(max_abs_diff=diff, checked_against=against, tolerance=tol, ok=diff <= tol)
            if diff > tol:
                row["error"] = f"outputs differ from {against} by {diff:.2e} > {tol:g}: not timed"
                log(f"  {e.name}: {row['error']}")
                continue
            built[e.name] = b.call
        control = _fixed_work_call(built["lstm_fast"], threads) if s.batch1() and "lstm_fast" in built else None
        w_ih, w_hh = s.weight_bytes()  # a streaming step reads both matrices, a sequence's step W_hh
        reads = _fixed_reads_call(built["lstm_fast"], int(w_hh + (w_ih if s.stream else 0))) if control else None
        if control:
            built[CONTROL] = control[0]
            built[CONTROL_READS] = reads[0]
        lstm_fast.thread_stats(reset=True)
        times = time_interleaved(built, plan, threads) if built else {}
        jobs = lstm_fast.thread_stats(reset=True)  # every lstm_fast variant's timed and warm-up calls
    control_row = reads_row = None
    if CONTROL in times:
        control_row = dict(summarize(times.pop(CONTROL)), work=control[1])
    if CONTROL_READS in times:
        reads_row = dict(summarize(times.pop(CONTROL_READS)), passes=reads[1], bytes=reads[2])
    for name, us in times.items():
        rows[name].update(summarize(us))
    for e in engines:
        row, base = rows[e.name], rows.get(e.compare_to, {})
        if "median_us" in row and "median_us" in base and e.name != e.compare_to:
            row["ratio"] = row["median_us"] / base["median_us"]
            row["ratio_vs"] = e.compare_to
    result = {"scenario": dataclasses.asdict(s), "name": s.name, "shape": s.shape(), "threads": threads,
              "bound": bound(s, threads, machine), "engines": rows, "loadavg": list(os.getloadavg())}
    if control_row:
        result["control"] = control_row
    if reads_row:
        result["control_reads"] = reads_row
    if threads > 1:
        result["thread_jobs"] = jobs
    result["goal"] = _goal(s, result)
    return result


CONTROL = "fixed-work control"
CONTROL_READS = "fixed-reads control"


def _median_call_us(f, calls: int = 30) -> float:
    """Median µs of `calls` back-to-back calls of f (sizing a control to an engine)."""
    ts = []
    for _ in range(calls):
        t0 = time.perf_counter_ns()
        f()
        ts.append(time.perf_counter_ns() - t0)
    return float(np.median(ts)) / 1e3


def _sized_like(ours, make, n: int, n_max: int):
    """(make(n), n) with n in [1, n_max] scaled, three times, so that make(n)'s median call
    matches ours: a control's fixed work sized to lstm_fast's call length."""
    target = _median_call_us(ours)
    for _ in range(3):
        n = max(1, min(n_max, int(n * target / max(_median_call_us(make(n)), 1e-3))))
    return make(n), n


def _fixed_work_call(ours, threads: int = 1):
    """A call of fixed work (``_core._fixed_work``: dependent multiply-adds, no memory
    traffic, the GIL released as in a model call, split across `threads` pool threads and
    joined as a split model call is) sized to lstm_fast's median here: timed in the same
    slices as the engines, its p99 / median is the tail the machine itself adds at this call
    length and thread count (a late or descheduled partner thread included), which no engine
    can beat. Returns (call, n)."""
    from lstm_fast import _core

    return _sized_like(ours, lambda n: (lambda: _core._fixed_work(n, threads)), 1000, 1 << 32)


def _fixed_reads_call(ours, nbytes: int):
    """Like _fixed_work_call, but the fixed work reads a buffer of the size of the weights one
    batch-1 step reads (``nbytes``: W_hh, and W_ih too for a streaming step), alternately
    forward and back as the kernel does, ``passes`` times (``_core._fixed_reads``, one thread,
    ~45 GB/s on the Xeon here: half the kernel's rate, so a floor on what cache-bound work
    suffers). Pure arithmetic misses what cache-bound calls can suffer on a shared host
    (another tenant's traffic in a cache level it shares, for instance); this control feels
    it. Returns (call, passes, bytes)."""
    from lstm_fast import _core

    buf = np.ones(max(32, (nbytes // 4 + 31) // 32 * 32), dtype=np.float32)

    call, n = _sized_like(ours, lambda n: (lambda: _core._fixed_reads(buf, n)), 4, 1 << 24)
    return call, n, buf.nbytes


def best_fp32_peer(engines: dict) -> tuple[float, str] | None:
    """(median µs, name) of the fastest timed fp32 engine other than lstm_fast, or None."""
    peers = [(row["median_us"], n) for n, row in engines.items()
             if n != "lstm_fast" and row.get("precision") == "fp32" and "median_us" in row]
    return min(peers) if peers else None


def _goal(s: Scenario, result: dict) -> dict:
    """Issue 3's fp32 goals, judged on this run."""
    rows = result["engines"]
    ours = rows.get("lstm_fast", {})
    if "median_us" not in ours:
        return {"met": False, "misses": ["lstm_fast not timed"]}
    med = ours["median_us"]
    best = best_fp32_peer(rows)
    bound_us = result["bound"]["bound_us"]
    misses = []
    if not s.batch1() and s.batch < 32:
        return {"met": None, "misses": ["issue 3 sets goals for batch 1 and batch >= 32 only"]}
    if s.batch1():
        if best and med > 0.5 * best[0]:
            misses.append(f"{med / best[0]:.2f}x best peer (goal <= 0.5x)")
        if med > 1.5 * bound_us:
            misses.append(f"{med / bound_us:.2f}x bound (goal <= 1.5x)")
        if ours["p99_us"] > 1.3 * med:
            c, cr = result.get("control"), result.get("control_reads")
            floor = f"; the fixed-work control: {c['p99_us'] / c['median_us']:.2f}x" if c else ""
            if cr:
                floor += f", the fixed-reads control: {cr['p99_us'] / cr['median_us']:.2f}x"
            misses.append(f"p99 {ours['p99_us'] / med:.2f}x median (goal <= 1.3x{floor})")
    else:
        if best and med >= best[0]:
            misses.append(f"{med / best[0]:.2f}x best peer (goal < 1x)")
        if med > 1.2 * bound_us:
            misses.append(f"{med / bound_us:.2f}x bound (goal <= 1.2x)")
    return {"met": not misses, "misses": misses}


# --- per-call overhead -----------------------------------------------------------------


def bench_overhead(threads: int, plan: Plan) -> dict:
    """lstm_fast's fixed cost per call from Python: LSTM(1, 1) over one step, with and
    without state, next to the issue's two overhead goals (measured in the scenarios)."""
    import lstm_fast

    lstm_fast.set_num_threads(threads)
    m = lstm_fast.LSTM(1, 1, seed=0)
    x = np.zeros((1, 1, 1), np.float32)
    carry = [(np.zeros((1, 1, 1), np.float32), np.zeros((1, 1, 1), np.float32))]

    def with_state():
        y, carry[0] = m(x, carry[0])

    times = time_interleaved({"LSTM(1,1) one step": lambda: m(x), "LSTM(1,1) one step with state": with_state},
                             dataclasses.replace(plan, seconds=min(plan.seconds, 0.5)))
    return {name: summarize(us) for name, us in times.items()}


# --- environment, report --------------------------------------------------------------


def _git_describe() -> str:
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return ""
    try:
        out = subprocess.run(["git", "-C", str(root), "describe", "--always", "--dirty"], capture_output=True,
                             text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return f"+g{out}" if out else ""


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(engines: list[Engine]) -> dict:
    import lstm_fast

    env = {"cpu": cpu_model(), "cores": os.cpu_count(), "platform": platform.platform(),
           "python": platform.python_version(), "numpy": np.__version__, "isa": lstm_fast.cpu_info(),
           "lstm_fast_default_threads": lstm_fast.get_num_threads(), "loadavg_start": list(os.getloadavg()),
           "time_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()), "engines": {}}
    for e in engines:
        why = e.available()
        env["engines"][e.name] = {"available": why is None, "why_not": why,
                                  "version": e.version() if why is None else None}
    return env


def _fmt_us(v: float) -> str:
    if v >= 1000:
        return f"{v:,.0f}"
    return f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def print_header(env: dict, machine: Machine, threads: list, plan: Plan, out=print) -> None:
    isa = env["isa"]
    out(f"CPU: {env['cpu']} ({env['cores']} cores); {env['platform']}")
    out(f"lstm_fast ISA: {isa['isa']} ({isa['reason']}); compiled: {', '.join(isa['compiled'])}")
    out(f"threads: {' '.join(map(str, threads))} (lstm_fast default here: {env['lstm_fast_default_threads']})")
    out(f"python {env['python']}, numpy {env['numpy']}")
    for name, e in env["engines"].items():
        out(f"  {name:15s} {e['version'] if e['available'] else 'skipped: ' + e['why_not']}")
    out(f"bound: {machine.describe()}")
    la = env["loadavg_start"]
    out(f"load average at start: {la[0]:.2f} {la[1]:.2f} {la[2]:.2f} on {env['cores']} cores "
        f"({'machine busy: timings are noisy' if la[0] > 0.5 else 'quiet'}); {env['time_utc']} UTC")
    out(f"timing: {plan.seconds:g} s per engine in {plan.rounds}+ round-robin slices, >= {plan.min_reps} calls, "
        f"median and p99 of per-call wall time")


def print_scenario_head(s: Scenario, threads: int, machine: Machine, out=print) -> None:
    b = bound(s, threads, machine)
    issue = f"; issue 3 said {_fmt_us(b['issue_bound_us'])}" if b.get("issue_bound_us") else ""
    out(f"\n[{s.name}] B,T,I,H,L = {s.shape()}  threads={threads}  "
        f"bound {_fmt_us(b['bound_us'])} us ({b['limit']}: compute {_fmt_us(b['compute_us'])}, "
        f"weights {_fmt_us(b['memory_us'])}{issue})  load {os.getloadavg()[0]:.2f}")


def print_scenario(r: dict, out=print) -> None:
    b = r["bound"]
    out(f"  {'engine':15s} {'median us':>10s} {'p99 us':>10s} {'p99/med':>7s} {'ratio':>7s} {'max|diff|':>9s} {'n':>6s}")
    for name, row in r["engines"].items():
        if "median_us" not in row:
            out(f"  {name:15s} {'-':>10s}  {row.get('error', 'not timed')}")
            continue
        ratio = f"{row['ratio']:.2f}x" if "ratio" in row else ""
        out(f"  {name:15s} {_fmt_us(row['median_us']):>10s} {_fmt_us(row['p99_us']):>10s} "
            f"{row['p99_us'] / row['median_us']:>7.2f} {ratio:>7s} {row['max_abs_diff']:>9.1e} {row['n']:>6d}")
    c = r.get("control")
    if c:
        on = f" split over {r['threads']} threads" if r["threads"] > 1 else ""
        out(f"  {'(control)':15s} {_fmt_us(c['median_us']):>10s} {_fmt_us(c['p99_us']):>10s} "
            f"{c['p99_us'] / c['median_us']:>7.2f}  {c['n']:>25d}  fixed work of the same length{on}: the machine's own tail")
    c = r.get("control_reads")
    if c:
        out(f"  {'(reads control)':15s} {_fmt_us(c['median_us']):>10s} {_fmt_us(c['p99_us']):>10s} "
            f"{c['p99_us'] / c['median_us']:>7.2f}  {c['n']:>25d}  reads of {c['bytes'] >> 10} KiB (a step's weights), "
            "the same length: the machine's tail for cache-bound work")
    j = r.get("thread_jobs")
    if j:
        alone = j["alone_pool_busy"] + j["alone_contended"]
        asked = j["parallel_jobs"] + alone
        if asked:
            rtt = (f"{j['round_trip_ns']:.0f} ns" if j["round_trip_ns"] > 0
                   else "not measured (no call of this process needed it)")
            out(f"  lstm_fast jobs that asked for {r['threads']} threads: {asked}, {alone} ran on one "
                f"({100 * alone / asked:.1f} %: {j['alone_contended']} in a contention backoff after "
                f"{j['contention_events']} contended waits, {j['alone_pool_busy']} found the pool busy); "
                f"cross-core round trip {rtt}")
    ours = r["engines"].get("lstm_fast", {})
    if "median_us" in ours:
        g = r["goal"]
        verdict = {True: "met", False: "not met: ", None: "n/a: "}[g["met"]] + "; ".join(g["misses"])
        out(f"  lstm_fast = {ours['median_us'] / b['bound_us']:.2f}x bound ({100 * b['bound_us'] / ours['median_us']:.0f}% "
            f"of bound); issue-3 goal: {verdict}")


def summary_table(results: list, threads: int, markdown: bool = False) -> list:
    """One line per scenario at this thread count: ours, the peers as ratios, the bound."""
    rs = [r for r in results if r["threads"] == threads]
    peers = [n for n in ENGINE_NAMES if n != "lstm_fast" and any(n in r["engines"] for r in rs)]
    head = ["scenario", "B,T,I,H,L", "lstm_fast median us", "p99 us"] + [f"{p} x" for p in peers] + \
        ["best fp32 peer us", "bound us", "% of bound", "issue bound", "goal"]
    lines = []
    for r in rs:
        ours = r["engines"].get("lstm_fast", {})
        med = ours.get("median_us")
        cells = [r["name"], r["shape"], _fmt_us(med) if med else "-", _fmt_us(ours["p99_us"]) if med else "-"]
        for p in peers:
            row = r["engines"].get(p, {})
            if "ratio" in row:
                cells.append(f"{row['ratio']:.2f}")
            elif "median_us" in row:
                cells.append(_fmt_us(row["median_us"]) + " us")
            else:
                cells.append("fail" if row.get("error") else "-")
        bound_us = r["bound"]["bound_us"]
        best = best_fp32_peer(r["engines"])
        cells.append(f"{_fmt_us(best[0])} ({best[1]})" if best else "-")
        issue = r["bound"].get("issue_bound_us")
        cells += [_fmt_us(bound_us), f"{100 * bound_us / med:.0f}%" if med else "-",
                  _fmt_us(issue) if issue else "-", {True: "met", False: "no", None: "-"}[r["goal"]["met"]]]
        lines.append(cells)
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        return out + ["| " + " | ".join(c) + " |" for c in lines]
    widths = [max(len(h), *(len(c[i]) for c in lines)) if lines else len(h) for i, h in enumerate(head)]
    fmt = lambda cells: "  ".join(c.rjust(w) if i >= 2 else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    return [fmt(head)] + [fmt(c) for c in lines]


def write_png(results: list, path: str, log=print) -> bool:
    """Median µs per engine per scenario (log scale), one panel per thread count, bound marked."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log(f"--png {path}: matplotlib is not installed (pip install matplotlib); no chart written")
        return False
    thread_counts = sorted({r["threads"] for r in results})
    names = [n for n in ENGINE_NAMES if any("median_us" in r["engines"].get(n, {}) for r in results)]
    fig, axes = plt.subplots(len(thread_counts), 1, figsize=(max(8, 1.3 * len(results) / len(thread_counts) + 3),
                                                              4 * len(thread_counts)), squeeze=False)
    width = 0.8 / max(1, len(names))
    for ax, t in zip(axes[:, 0], thread_counts):
        rs = [r for r in results if r["threads"] == t]
        for j, n in enumerate(names):
            xs = [i + (j - (len(names) - 1) / 2) * width for i in range(len(rs))]
            ys = [r["engines"].get(n, {}).get("median_us", np.nan) for r in rs]
            ax.bar(xs, ys, width, label=n)
        for i, r in enumerate(rs):
            ax.hlines(r["bound"]["bound_us"], i - 0.45, i + 0.45, colors="black", linestyles="dashed",
                      label="fp32 bound" if i == 0 else None)
        ax.set_yscale("log")
        ax.set_xticks(range(len(rs)), [f"{r['name']}\n{r['shape']}" for r in rs], fontsize=8)
        ax.set_ylabel("median µs per call (log)")
        ax.set_title(f"{t} thread{'s' if t > 1 else ''}", fontsize=10)
        ax.grid(axis="y", which="major", alpha=0.3)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.suptitle("lstm_fast vs peers: median latency per call, same weights (lower is better)", y=0.995, fontsize=11)
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.965), ncol=len(labels), fontsize=8,
               frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


# --- command line ------------------------------------------------------------------------


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scenarios", nargs="+", metavar="NAME", choices=list(SCENARIOS),
                   help=f"which scenarios (default: all): {', '.join(SCENARIOS)}")
    p.add_argument("--shape", action="append", default=[], metavar="NAME=B,T,I,H[,L][,bi][,step]",
                   help="add a scenario of your own (repeatable)")
    p.add_argument("--threads", nargs="+", type=int, default=[1, 2], help="thread counts (default: 1 2)")
    p.add_argument("--engines", nargs="+", choices=ENGINE_NAMES, metavar="ENGINE",
                   help=f"which engines (default: every one installed): {', '.join(ENGINE_NAMES)}")
    p.add_argument("--no-bf16", action="store_true",
                   help="skip the reduced-precision rows (lstm_fast-bf16, lstm_fast-bf16mm, openvino-bf16, "
                        "lstm_fast-int8)")
    p.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run or a loaded machine)")
    p.add_argument("--seconds", type=float, help="timed seconds per engine per scenario and thread count "
                   "(default 2, quick 0.3)")
    p.add_argument("--min-reps", type=int, help="at least this many timed calls per engine (default 20, quick 5)")
    p.add_argument("--seed", type=int, default=0, help="weights and inputs (default 0)")
    p.add_argument("--peak-gflops", type=float, help="bound: fp32 GFLOP/s per core (default 243)")
    p.add_argument("--l2-gbps", type=float, help="bound: GB/s per core read from L2 (default 186)")
    p.add_argument("--l3-gbps", type=float, help="bound: GB/s per core read beyond L2, from L3 (default 72)")
    p.add_argument("--dram-gbps", type=float, help="bound: GB/s per core beyond L3 (default 30)")
    p.add_argument("--l2-mib", type=float, help="bound: L2 MiB per core (default: from sysfs, here %g)"
                   % (_cache_bytes(2, MiB) / MiB))
    p.add_argument("--machine", metavar="FILE", help="bound: peak and rates from benchmarks/machine_peak.py --json")
    p.add_argument("--json", metavar="FILE", help="write every result here")
    p.add_argument("--png", metavar="FILE", help="write a bar chart here (needs matplotlib)")
    p.add_argument("--markdown", action="store_true", help="print the summary tables as Markdown")


def run(args: argparse.Namespace) -> int:
    import lstm_fast

    scenarios = [SCENARIOS[n] for n in (args.scenarios or ([] if args.shape else SCENARIOS))]
    scenarios += [parse_shape(t) for t in args.shape]
    if any(t < 1 for t in args.threads):
        raise ValueError("--threads must be >= 1")
    plan = dataclasses.replace(QUICK if args.quick else Plan())
    if args.seconds is not None:
        plan.seconds = args.seconds
    if args.min_reps is not None:
        plan.min_reps = args.min_reps
    machine = Machine.from_peak_json(args.machine) if args.machine else Machine()
    for flag, attr, scale in (("peak_gflops", "peak_gflops", 1), ("l2_gbps", "l2_gbps", 1), ("l3_gbps", "l3_gbps", 1),
                              ("dram_gbps", "dram_gbps", 1), ("l2_mib", "l2_bytes", MiB)):
        value = getattr(args, flag)
        if value is not None:
            if value <= 0:
                raise ValueError(f"--{flag.replace('_', '-')} must be > 0")
            setattr(machine, attr, value * scale)
            machine.source = "command line"
            machine.read_curve = ()  # the level rates given replace a measured curve

    candidates = all_engines(bf16=not args.no_bf16)
    if args.engines:
        wanted = set(args.engines) | {"lstm_fast"}  # every check and ratio is against lstm_fast
        candidates = [e for e in candidates if e.name in wanted]
    env = environment(candidates)
    engines = [e for e in candidates if env["engines"][e.name]["available"]]
    print_header(env, machine, args.threads, plan)

    old_threads = lstm_fast.get_num_threads()
    results, overhead = [], {}
    try:
        for t in args.threads:
            for s in scenarios:
                print_scenario_head(s, t, machine)
                r = bench_scenario(s, engines, t, plan, machine, seed=args.seed)
                print_scenario(r)
                results.append(r)
            overhead[t] = bench_overhead(t, plan)
    finally:
        lstm_fast.set_num_threads(old_threads)

    for t in args.threads:
        print(f"\nSummary, {t} thread{'s' if t > 1 else ''}: lstm_fast median and p99 (us); peers as "
              f"peer median / lstm_fast median (openvino-bf16: / lstm_fast-bf16mm); fp32 bound")
        for line in summary_table(results, t, markdown=args.markdown):
            print(line)
    print("\nPer-call overhead (lstm_fast, median us): goals are < 10 us for the streaming step, < 8 us for tiny")
    for t in args.threads:
        parts = [f"{n} {_fmt_us(v['median_us'])}" for n, v in overhead[t].items()]
        for r in results:
            if r["threads"] == t and r["name"] in ("stream", "tiny") and "median_us" in r["engines"].get("lstm_fast", {}):
                parts.append(f"{r['name']} {_fmt_us(r['engines']['lstm_fast']['median_us'])}")
        print(f"  {t} thread{'s' if t > 1 else ''}: " + "; ".join(parts))
    env["loadavg_end"] = list(os.getloadavg())
    print(f"load average at end: {' '.join(f'{v:.2f}' for v in env['loadavg_end'])}")

    if args.json:
        payload = {"environment": env, "machine": dataclasses.asdict(machine),
                   "plan": dataclasses.asdict(plan), "command": sys.argv, "results": results,
                   "overhead": {str(k): v for k, v in overhead.items()}}
        Path(args.json).write_text(json.dumps(payload, indent=2))
        print(f"wrote {args.json}")
    if args.png and write_png(results, args.png):
        print(f"wrote {args.png}")
    failed = [f"{r['name']}@{r['threads']}:{n}" for r in results for n, row in r["engines"].items()
              if row.get("ok") is False]
    if failed:
        print(f"engines failed their check or build: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def build_parser(prog: str = "python -m lstm_fast.bench") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    add_arguments(p)
    return p


def register(sub) -> None:
    """Add ``lstm-fast bench`` to the CLI (lstm_fast/cli.py)."""
    p = sub.add_parser("bench", help="time lstm_fast against PyTorch, ONNX Runtime and OpenVINO (same weights)",
                       description=__doc__.split("\n\n")[0])
    add_arguments(p)
    p.set_defaults(func=run)


def main(argv: list | None = None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
