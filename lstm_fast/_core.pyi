"""Type stubs for lstm_fast._core, the C++ extension (csrc/bindings.cpp).

Private: use lstm_fast.LSTM, lstm_fast.cpu_info, lstm_fast.set_num_threads,
lstm_fast.get_num_threads and lstm_fast.thread_stats. Array arguments accept anything
numpy converts to a real (float, int or uint) array; they are converted to float32
(lengths: to int64).
"""

from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeAlias, TypedDict

import numpy as np
from numpy.typing import ArrayLike, NDArray

_F32: TypeAlias = NDArray[np.float32]

class _CpuInfo(TypedDict):
    isa: str  # the kernel path in use: "avx512", "avx2" or "generic"
    reason: str  # why it was chosen (or "forced by LSTM_FAST_ISA=...")
    compiled: list[str]  # paths this build carries, best first
    supported: list[str]  # paths this CPU and OS can run, best first
    bf16_matmul: str  # "amx_bf16" (AMX tiles), "avx512_bf16" (vdpbf16ps) or "emulated": how matmul_dtype="bfloat16" runs
    bf16_matmul_supported: list[str]  # the bf16 matmul paths this CPU can run, best first
    int8_matmul: str  # "avx512_vnni" (vpdpbusd), "avx512_bw", "avx2" or "emulated": how weights_dtype="int8" runs
    int8_supported: list[str]  # the int8 paths this CPU can run, best first
    l1d_cache_bytes: int  # one core's L1 data cache, as the OS reports it (32 KiB if it does not)
    l2_cache_bytes: int  # one core's L2, as the OS reports it (1 MiB if it does not)
    l3_cache_bytes: int  # the shared L3, from sysfs or the OS (4 MiB if unknown)

class LstmModel:
    """Packed weights plus the kernel table; immutable, callable from many threads at once.

    (stubtest reports only that its metaclass is pybind11's, which a stub cannot express.)"""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int,
        bias: bool,
        bidirectional: bool,
        proj_size: int,
        weights: Sequence[ArrayLike],
        weights_dtype: Literal["float32", "bfloat16"] = "float32",
        matmul_dtype: Literal["float32", "bfloat16"] = "float32",
    ) -> None:
        """weights: torch.nn.LSTM's tensors in its registration order, per layer and direction:
        weight_ih, weight_hh[, bias_ih, bias_hh][, weight_hr]. Raises ValueError on a bad
        spec, count or shape, TypeError on non-numeric arrays."""
    def forward(
        self,
        input: ArrayLike,
        hx: tuple[ArrayLike, ArrayLike] | list[ArrayLike] | None = None,
        lengths: ArrayLike | None = None,
        batch_first: bool = False,
    ) -> tuple[_F32, tuple[_F32, _F32]]:
        """input (T, B, I) ((B, T, I) if batch_first, or (T, I) unbatched) ->
        (output (T, B, D*R), (h_n (L*D, B, R), c_n (L*D, B, H))), with D = 2 if
        bidirectional else 1 and R = proj_size or hidden_size. hx is None (zero states) or a
        pair (h_0, c_0), a tuple or a list; lengths (B,) gives each sequence's true length (packed semantics).
        Releases the GIL while computing."""
    @property
    def block_width(self) -> int:
        """Hidden units per packed weight block: the SIMD width in floats of the chosen path."""
    @property
    def weights_dtype(self) -> Literal["float32", "bfloat16", "int8"]: ...
    @property
    def matmul_dtype(self) -> Literal["float32", "bfloat16", "int8"]: ...

def cpu_info() -> _CpuInfo:
    """The chosen kernel path and why; LSTM_FAST_ISA (read at import) forces one."""

def set_num_threads(n: int) -> None:
    """Threads used by one forward call, 1 <= n <= 1024 (ValueError otherwise)."""

class _ThreadStats(TypedDict):
    parallel_jobs: int
    alone_pool_busy: int
    alone_contended: int
    contention_events: int
    round_trip_ns: float

def thread_stats(reset: bool = False) -> _ThreadStats:
    """How multi-threaded jobs (one per layer, direction or batch split of a call that asked
    for more than one thread) ran since import or the last reset=True (which zeroes them):
    parallel_jobs on several threads; alone_pool_busy on one because another call held the
    thread pool; alone_contended on one because the oversubscription backoff was on;
    contention_events: barrier waits that found a partner thread descheduled; round_trip_ns:
    the last measured cache-line round trip between two of the pool's cores (0.0: none yet;
    remeasured at most once a second by calls whose split depends on it; not reset)."""

def _call_methods(cls: type) -> tuple[Callable[..., Any], Callable[..., tuple[_F32, tuple[_F32, _F32]]]]:
    """Private: the C methods lstm.py sets as ``cls.__call__`` and ``cls.forward``, once per
    process. forward reads ``self._state`` and ``self.batch_first``, then runs
    ``LstmModel.forward``; __call__ does the same unless a subclass has its own forward, which
    it then calls (as ``torch.nn.Module.__call__``; LSTM.__setattr__ refuses an instance's)."""

def _note_contention() -> None:
    """Private: start the oversubscription backoff as a contended barrier wait does."""

def _cpu_quota_from_cgroup(cpu_max: str) -> float:
    """Private: CPUs a cgroup v2 cpu.max text allows (0.0: no limit), for its test."""

def _fixed_work(n: int, threads: int = 1) -> float:
    """Private: n dependent multiply-adds with the GIL released (0 <= n <= 2**32, ValueError
    otherwise), split across `threads` (1-64) pool threads as a model call is:
    lstm_fast.bench's fixed-work control for the machine's own timing tail."""

def _fixed_reads(buf: np.ndarray, passes: int) -> float:
    """Private: the sum of a 1-D float32 array (a multiple of 32 values) read `passes` times,
    alternately forward and back, with the GIL released (0 <= passes <= 2**24, ValueError
    otherwise): lstm_fast.bench's control for the tail of cache-bound work."""

def get_num_threads() -> int:
    """Threads used by one forward call; default: the physical cores this process may run
    on (CPU affinity, SMT siblings counted once), at most its cgroup CPU quota rounded up."""

class _KernelsModule:
    """The type of the `_kernels` submodule (a module at run time, not importable by name)."""

    @staticmethod
    def sigmoid(x: ArrayLike) -> _F32:
        """Elementwise logistic sigmoid with the chosen path's vectorized kernel."""
    @staticmethod
    def tanh(x: ArrayLike) -> _F32:
        """Elementwise tanh with the chosen path's vectorized kernel."""

_kernels: _KernelsModule  # private: the vectorized activations, for their tests
