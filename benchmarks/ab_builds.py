"""A/B two (or more) builds of lstm_fast on the same shapes, interleaved.

The kernel comments and docs/performance.md quote "A/B" ratios: a change against the code
before it, both built, timed on the same machine in the same minutes. On a shared, noisy
VM, medians of separate runs move by more than most kernel changes do, so this script
keeps one persistent worker process per build and alternates them in short slices
(rotating which goes first), so drift and other tenants hit every build alike.
A build written DIR@ISA (avx512, avx2 or generic) runs that snapshot with LSTM_FAST_ISA=ISA,
so one build can be timed on two instruction sets: `run /tmp/ab/x@avx2 /tmp/ab/x@avx512`;
DIR@int8=PATH sets LSTM_FAST_INT8=PATH (`/tmp/ab/x@int8=avx512_bw`: one int8 path of the CPU),
DIR@bf16mm=PATH sets LSTM_FAST_BF16_MATMUL=PATH (`/tmp/ab/x@bf16mm=avx512_bf16`).

    pip install --no-build-isolation -e .                 # build A
    python benchmarks/ab_builds.py snapshot /tmp/ab/before
    # ... edit, rebuild ...
    python benchmarks/ab_builds.py snapshot /tmp/ab/after
    python benchmarks/ab_builds.py run /tmp/ab/before /tmp/ab/after -- 1,128,128,256 32,64,128,256,2T
    python benchmarks/ab_builds.py run --threads 2 --rounds 30 /tmp/ab/before /tmp/ab/after -- 1,16,64,64

A shape is B,T,I,H[,L][,bi][,step][,bf16|bf16mm|int8]: batch, steps, input size, hidden size,
layers, bidirectional, one streaming step per call with the state carried (T = 1), and
the opt-in weight storage (bf16mm: matmul_dtype="bf16"). Printed per shape: each build's median over the rounds of
its per-slice medians (µs), and for each build after the first, the ratio first / this
(> 1: this build is faster) with the median and interquartile range of the per-round
ratios: a ratio whose IQR straddles 1 is noise. With --tail, also each build's p99 over every call of
every round pooled (rare slow phases land in a few rounds, which per-round figures would miss).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path


def snapshot(dest: Path) -> None:
    """Copy the lstm_fast package that `import lstm_fast` finds (with its built _core) to dest."""
    import lstm_fast

    src = Path(lstm_fast.__file__).parent
    core = list(src.glob("_core*.so")) + list(src.glob("_core*.pyd"))
    if not core:
        # An editable install keeps the extension elsewhere: ask the module itself.
        from lstm_fast import _core

        core = [Path(_core.__file__)]
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(src, dest / "lstm_fast", ignore=shutil.ignore_patterns("__pycache__"))
    for c in core:
        shutil.copy2(c, dest / "lstm_fast" / c.name)
    print(f"snapshot of {src} (isa {lstm_fast.cpu_info()['isa']}) in {dest}")


def parse_shape(spec: str) -> dict:
    parts = spec.split(",")
    try:
        B, T, I, H = (int(p) for p in parts[:4])
    except ValueError:
        raise SystemExit(f"bad shape {spec!r}: expected B,T,I,H[,L][,bi][,step][,bf16|bf16mm|int8]") from None
    rest = parts[4:]
    layers = 1
    if rest and rest[0].isdigit():
        layers = int(rest.pop(0))
    unknown = set(rest) - {"bi", "step", "bf16", "bf16mm", "int8"}
    if unknown:
        raise SystemExit(f"bad shape {spec!r}: unknown flag(s) {sorted(unknown)}")
    dtype = next((d for d in ("bf16", "bf16mm", "int8") if d in rest), None)
    return {"B": B, "T": T, "I": I, "H": H, "layers": layers, "bi": "bi" in rest, "step": "step" in rest,
            "dtype": dtype}


def worker(build: str, threads: int, shapes: list[str]) -> None:
    """Builds the models, answers "index seconds [tail]" lines with the median µs of back-to-back
    calls, followed with tail = 1 by every call's time (ns)."""
    import gc

    # Only the snapshot's lstm_fast: drop an editable install's import hook.
    sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in type(f).__module__.lower()
                        and "skbc" not in repr(f).lower()]
    sys.path.insert(0, build)
    import numpy as np
    import lstm_fast

    if not lstm_fast.__file__.startswith(build):
        raise SystemExit(f"imported {lstm_fast.__file__}, not the build in {build}")
    for key, var in (("isa", "LSTM_FAST_ISA"), ("int8_matmul", "LSTM_FAST_INT8"),
                     ("bf16_matmul", "LSTM_FAST_BF16_MATMUL")):
        want = os.environ.get(var)
        if want and lstm_fast.cpu_info()[key] != want:
            raise SystemExit(f"asked for {var}={want}, the build runs {lstm_fast.cpu_info()[key]}")
    lstm_fast.set_num_threads(threads)
    calls = []
    for spec in shapes:
        s = parse_shape(spec)
        kw = ({"matmul_dtype": "bf16"} if s["dtype"] == "bf16mm" else
              {"weights_dtype": s["dtype"]} if s["dtype"] else {})
        m = lstm_fast.LSTM(s["I"], s["H"], s["layers"], bidirectional=s["bi"], seed=0, **kw)
        x = np.random.default_rng(0).standard_normal((s["T"], s["B"], s["I"])).astype(np.float32)
        if s["step"]:
            state = m(x)[1]
            calls.append(lambda m=m, x=x, state=state: m(x, state))
        else:
            calls.append(lambda m=m, x=x: m(x))
        for _ in range(3):
            calls[-1]()
    print("ready", flush=True)
    gc.disable()
    for line in sys.stdin:
        i, seconds, *tail = line.split()
        f, seconds = calls[int(i)], float(seconds)
        times = []
        end = time.perf_counter() + seconds
        while time.perf_counter() < end or len(times) < 3:
            t0 = time.perf_counter_ns()
            f()
            times.append(time.perf_counter_ns() - t0)
        each = " " + " ".join(map(str, times)) if tail == ["1"] else ""
        print(f"{float(np.median(times)) / 1e3}{each}", flush=True)


def run(builds: list[str], shapes: list[str], rounds: int, threads: int, slice_s: float, tail: bool = False) -> dict:
    import numpy as np

    for s in shapes:
        parse_shape(s)
    procs = []
    for spec in builds:
        b, extra = spec, {}
        if "@" in spec:
            b, tag = spec.rsplit("@", 1)
            if tag in ("avx512", "avx2", "generic"):
                extra = {"LSTM_FAST_ISA": tag}
            elif tag.startswith("int8="):
                extra = {"LSTM_FAST_INT8": tag[5:]}
            elif tag.startswith("bf16mm="):
                extra = {"LSTM_FAST_BF16_MATMUL": tag[7:]}
            else:
                raise SystemExit(f"{spec}: after @ put avx512, avx2, generic, int8=PATH or bf16mm=PATH")
        b = str(Path(b).resolve())
        if not (Path(b) / "lstm_fast").is_dir():
            raise SystemExit(f"{b} is not a snapshot (no lstm_fast/ in it): use `snapshot` first")
        env = {**os.environ, "PYTHONPATH": b, **extra}
        p = subprocess.Popen([sys.executable, __file__, "_worker", b, str(threads), *shapes],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             env=env, cwd=str(Path(b).parent))
        if p.stdout.readline().strip() != "ready":
            raise SystemExit(f"the worker for {b} failed to start")
        procs.append(p)
    res = {b: {s: [] for s in shapes} for b in builds}
    calls = {b: {s: [] for s in shapes} for b in builds}  # every call's time (ns)
    pause = 0.01 if threads == 1 else 0.05  # let another thread pool go idle between slices
    for r in range(rounds):
        order = list(range(len(builds)))
        order = order[r % len(order):] + order[:r % len(order)]
        for j, shape in enumerate(shapes):
            for k in order:
                time.sleep(pause)
                procs[k].stdin.write(f"{j} {slice_s} {int(tail)}\n")
                procs[k].stdin.flush()
                fields = procs[k].stdout.readline().split()
                res[builds[k]][shape].append(float(fields[0]))
                calls[builds[k]][shape].extend(int(t) for t in fields[1:])
    for p in procs:
        p.stdin.close()
        p.wait()
    out = {}
    for shape in shapes:
        a = np.array(res[builds[0]][shape])
        row = {builds[0]: float(np.median(a))}
        line = f"{shape:28s} {Path(builds[0]).name}={np.median(a):10.1f}"
        for b in builds[1:]:
            v = np.array(res[b][shape])
            rr = a / v
            row[b] = float(np.median(v))
            row[b + ":ratio"] = float(np.median(a) / np.median(v))
            row[b + ":round_ratio_iqr"] = [float(np.percentile(rr, 25)), float(np.median(rr)), float(np.percentile(rr, 75))]
            line += (f"  {Path(b).name}={np.median(v):10.1f}  ratio {np.median(a) / np.median(v):.3f}"
                     f" (per round {np.median(rr):.3f}, IQR {np.percentile(rr, 25):.3f}-{np.percentile(rr, 75):.3f})")
        if tail:
            # The tail over every call of every round (the rare slow phases land in some
            # rounds only, so a per-round p99 would miss them).
            p99 = {b: float(np.percentile(calls[b][shape], 99)) / 1e3 for b in builds}
            line += "\n" + " " * 29 + "p99 " + "  ".join(
                f"{Path(b).name}={p99[b]:.1f} (p99/median {p99[b] / row[b]:.2f})" for b in builds)
            for b in builds[1:]:
                line += f"  p99 ratio {p99[builds[0]] / p99[b]:.3f}"
            for b in builds:
                row[b + ":p99"] = p99[b]
        print(line, flush=True)
        out[shape] = row
    return out


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_worker"]:
        worker(argv[1], int(argv[2]), argv[3:])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("snapshot", help="copy the installed lstm_fast (with its _core) to a directory")
    sp.add_argument("dest", type=Path)
    rp = sub.add_parser("run", help="time snapshots against each other: run A B ... -- shape ...")
    rp.add_argument("--rounds", type=int, default=20)
    rp.add_argument("--threads", type=int, default=1)
    rp.add_argument("--slice", type=float, default=0.12, help="seconds per build per shape per round")
    rp.add_argument("--json", type=Path, help="also write the medians and ratios here")
    rp.add_argument("--tail", action="store_true", help="also the p99 of every call, pooled over the rounds")
    rp.add_argument("builds", nargs="+")
    if "--" not in argv:
        args = ap.parse_args(argv)
        if args.cmd == "snapshot":
            snapshot(args.dest)
            return
        ap.error("run: put the shapes after --")
    cut = argv.index("--")
    args = ap.parse_args(argv[:cut])
    shapes = argv[cut + 1:]
    if args.cmd != "run" or not shapes or len(args.builds) < 2:
        ap.error("usage: run [options] BUILD_A BUILD_B ... -- SHAPE ...")
    out = run(args.builds, shapes, args.rounds, args.threads, args.slice, args.tail)
    if args.json:
        args.json.write_text(json.dumps({"threads": args.threads, "rounds": args.rounds, "results": out}, indent=1))


if __name__ == "__main__":
    main()
