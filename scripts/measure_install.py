#!/usr/bin/env python3
"""Measure what a service pays for lstm_fast: wheel size, installed size, import time.

Run it with the interpreter that has the wheel installed, from outside the source tree
(so that ``import lstm_fast`` is the installed package):

    cd /tmp && /path/to/venv/bin/python /path/to/scripts/measure_install.py \
        --wheel dist/lstm_fast-0.1.0-cp311-cp311-manylinux_2_35_x86_64.whl [--runs 20] [--json]

Import time is measured three ways, each the median of --runs fresh interpreters (after
one warm-up run, so the page cache is warm and .pyc files exist):
  * wall time of ``python -c "import lstm_fast"`` minus that of ``python -c "pass"``;
  * ``python -X importtime``'s cumulative time for lstm_fast (includes numpy);
  * the same for numpy alone, imported first, to show lstm_fast's own share.
It also fails (exit 1) if importing lstm_fast loads torch, and lists the top-level
packages the import brings in.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

PROBE = (
    "import sys; before = set(sys.modules); import lstm_fast; import json; "
    "print(json.dumps({'file': lstm_fast.__file__, 'version': lstm_fast.__version__, "
    "'new': sorted(set(sys.modules) - before), 'isa': lstm_fast.cpu_info()['isa']}))"
)
HEAVY = ("torch", "tensorflow", "jax", "scipy", "pandas", "matplotlib", "sklearn", "numba")


def clean_env() -> dict:
    env = dict(os.environ)
    for var in ("LSTM_FAST_ISA", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE"):
        env.pop(var, None)
    return env


def run_py(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=clean_env(), check=True)


def wall_ms(code: str, runs: int) -> float:
    run_py(["-c", code])  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        run_py(["-c", code])
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def importtime_ms(code: str, module: str, runs: int) -> float:
    """Median cumulative -X importtime of `module` (top-level line) while running `code`."""
    pattern = re.compile(r"import time:\s+\d+ \|\s+(\d+) \|\s?" + re.escape(module) + r"$")
    vals = []
    for _ in range(runs):
        err = run_py(["-X", "importtime", "-c", code]).stderr
        hits = [int(m.group(1)) for m in map(pattern.match, err.splitlines()) if m]
        if not hits:
            raise SystemExit(f"no importtime line for {module}")
        vals.append(hits[-1] / 1e3)
    return statistics.median(vals)


def import_children(runs: int) -> list[tuple[str, float]]:
    """Median cumulative -X importtime of each module `import lstm_fast` imports directly,
    costliest first: where lstm_fast's own import time goes (numpy among them)."""
    line = re.compile(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)$")
    samples: dict[str, list[float]] = {}
    for _ in range(runs):
        children = {}
        for m in map(line.match, run_py(["-X", "importtime", "-c", "import lstm_fast"]).stderr.splitlines()):
            if not m:
                continue
            depth = (len(m.group(2)) - 1) // 2
            if depth == 0:  # a top-level import ends; keep lstm_fast's children only
                if m.group(3) == "lstm_fast":
                    for name, us in children.items():
                        samples.setdefault(name, []).append(us / 1e3)
                children = {}
            elif depth == 1:
                children[m.group(3)] = int(m.group(1))
    return sorted(((n, statistics.median(v)) for n, v in samples.items()), key=lambda kv: -kv[1])


def installed_size() -> tuple[int, int, int, int]:
    """(bytes of all installed files, bytes of the package without .pyc, the extension module, file count)."""
    dist = metadata.distribution("lstm_fast")
    total = no_pyc = ext = count = 0
    for f in dist.files or []:
        p = Path(dist.locate_file(f))
        if not p.is_file():
            continue
        size = p.stat().st_size
        total += size
        count += 1
        if p.suffix != ".pyc":
            no_pyc += size
        if p.name.startswith("_core") and p.suffix in (".so", ".pyd"):
            ext = size
    return total, no_pyc, ext, count


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wheel", type=Path, help="the (repaired) wheel file, for its size")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    args = ap.parse_args()

    probe = run_py(["-c", PROBE])
    info = json.loads(probe.stdout)
    new_top = sorted({m.split(".")[0] for m in info["new"]})
    third_party = [m for m in new_top if m not in sys.stdlib_module_names]
    heavy = [m for m in new_top if m in HEAVY]

    total, no_pyc, ext, count = installed_size()
    res = {
        "python": sys.version.split()[0],
        "lstm_fast": info["version"],
        "imported_from": str(Path(info["file"]).parent),
        "isa": info["isa"],
        "wheel": args.wheel.name if args.wheel else None,
        "wheel_bytes": args.wheel.stat().st_size if args.wheel else None,
        "installed_bytes": total,
        "installed_bytes_without_pyc": no_pyc,
        "extension_bytes": ext,
        "installed_files": count,
        "runs": args.runs,
        "python_startup_ms": wall_ms("pass", args.runs),
        "import_wall_ms": wall_ms("import lstm_fast", args.runs),
        "importtime_lstm_fast_ms": importtime_ms("import lstm_fast", "lstm_fast", args.runs),
        "importtime_numpy_ms": importtime_ms("import numpy", "numpy", args.runs),
        "lstm_fast_direct_imports_ms": dict(import_children(max(5, args.runs // 4))),
        "modules_added": len(info["new"]),
        "top_level_packages_added": new_top,
        "non_stdlib_packages_added": third_party,
        "heavy_packages_loaded": heavy,
    }
    res["import_wall_minus_startup_ms"] = res["import_wall_ms"] - res["python_startup_ms"]
    res["lstm_fast_own_ms"] = res["importtime_lstm_fast_ms"] - res["importtime_numpy_ms"]

    if args.json:
        print(json.dumps(res, indent=2))
    else:
        def kib(b: int) -> str:
            return f"{b / 1024:.0f} KiB ({b} bytes)"

        print(f"lstm_fast {res['lstm_fast']} on Python {res['python']}, imported from {res['imported_from']}")
        if args.wheel:
            print(f"wheel:            {res['wheel']}: {kib(res['wheel_bytes'])}")
        print(f"installed:        {kib(total)} in {count} files ({kib(no_pyc)} without .pyc; "
              f"extension module {kib(ext)})")
        print(f"import lstm_fast: {res['import_wall_minus_startup_ms']:.1f} ms over interpreter start-up "
              f"(wall {res['import_wall_ms']:.1f} ms vs {res['python_startup_ms']:.1f} ms for `pass`; "
              f"median of {args.runs})")
        print(f"-X importtime:    lstm_fast {res['importtime_lstm_fast_ms']:.1f} ms cumulative, of which numpy "
              f"{res['importtime_numpy_ms']:.1f} ms; lstm_fast's own ~{res['lstm_fast_own_ms']:.1f} ms")
        top = list(res["lstm_fast_direct_imports_ms"].items())[:5]
        print("costliest direct imports of lstm_fast (cumulative): " + ", ".join(f"{n} {ms:.1f} ms" for n, ms in top))
        print(f"import adds {res['modules_added']} modules from {len(new_top)} top-level packages; "
              f"outside the standard library: {', '.join(third_party)}")
        print(f"heavy packages loaded: {', '.join(heavy) if heavy else 'none (no torch)'}")
    if heavy:
        print(f"FAIL: import lstm_fast loaded {heavy}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
