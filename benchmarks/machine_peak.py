"""This core's fp32 FMA peak and read bandwidth by working-set size (the 'bound' inputs).

Compiles machine_peak.cpp with g++ (AVX-512 if this CPU has it, else AVX2) and runs it
on one core. Usage: python benchmarks/machine_peak.py [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path


def measure() -> dict:
    import lstm_fast

    src = Path(__file__).with_name("machine_peak.cpp")
    flags = ["-O2", "-mavx2", "-mfma"]
    if "avx512" in lstm_fast.cpu_info()["supported"]:
        flags.append("-mavx512f")
    with tempfile.TemporaryDirectory() as tmp:
        exe = Path(tmp) / "machine_peak"
        subprocess.run(["g++", *flags, "-o", str(exe), str(src)], check=True)
        out = subprocess.run(["taskset", "-c", "0", str(exe)], check=True, capture_output=True, text=True).stdout
    result = {"read_gbps": {}}
    for line in out.splitlines():
        parts = line.split()
        if parts[0] == "read_gbps":
            result["read_gbps"][int(parts[1])] = float(parts[2])
        elif parts:
            result[parts[0]] = float(parts[1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", help="also write the numbers here")
    args = parser.parse_args()
    r = measure()
    print(f"fp32 FMA peak, one core, {int(r['vector_bits'])}-bit vectors: {r['fma_peak_gflops']:.1f} GFLOP/s")
    print("read bandwidth by working set (one core):")
    for kb, gbps in r["read_gbps"].items():
        print(f"  {kb:>6} KiB  {gbps:7.1f} GB/s")
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
