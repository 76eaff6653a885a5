#!/usr/bin/env python3
"""Markdown tables from a saved benchmark run (``bench_lstm.py --json FILE``).

    python benchmarks/render_tables.py docs/bench_run.json            # docs/performance.md's tables
    python benchmarks/render_tables.py docs/bench_run.json --readme   # the README's table
    python benchmarks/render_tables.py --compare "Zen 5=docs/bench_run.json" ...  # one line per run

Prints, per thread count, the summary table bench_lstm.py prints (ratios, bound, goal)
and every engine's median / p99 per scenario (µs); with --readme, one compact table:
lstm_fast fp32 (p99), against the fastest fp32 peer, share of the bound, the bf16 matmul
opt-in against OpenVINO's bf16, and the int8 opt-in, at 1 and 2 threads; with --compare
LABEL=FILE ..., one line per run: in how many rows fp32 lstm_fast is the fastest engine, the
range of its ratio to the fastest fp32 peer at 1 and 2 threads, and the bf16 matmul opt-in's
range against OpenVINO's bf16.
"""

from __future__ import annotations

import json
import sys

from lstm_fast.bench import ENGINE_NAMES, _fmt_us, best_fp32_peer, summary_table


def engine_table(results: list, threads: int) -> list[str]:
    rs = [r for r in results if r["threads"] == threads]
    names = [n for n in ENGINE_NAMES if any("median_us" in r["engines"].get(n, {}) for r in rs)]
    out = ["| scenario | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for r in rs:
        cells = []
        for n in names:
            row = r["engines"].get(n, {})
            cells.append(f"{_fmt_us(row['median_us'])} / {_fmt_us(row['p99_us'])}" if "median_us" in row else "-")
        out.append(f"| {r['name']} | " + " | ".join(cells) + " |")
    return out


SHORT = {"onnxruntime": "ORT", "openvino": "OpenVINO", "torch": "torch"}


def readme_table(results: list) -> list[str]:
    by = {(r["name"], r["threads"]): r for r in results}
    names = list(dict.fromkeys(r["name"] for r in results))
    head = ["scenario (B,T,I,H,L)"]
    for t in (1, 2):
        head += [f"{t}T: lstm_fast µs (p99)", "vs best fp32 peer", "% of bound", "bf16mm µs", "vs OpenVINO bf16",
                 "int8 µs"]
    out = ["| " + " | ".join(head) + " |", "|---|" + "---|" * (len(head) - 1)]
    for n in names:
        cells = [f"{n} ({by[(n, 1)]['shape']})" if (n, 1) in by else n]
        for t in (1, 2):
            r = by.get((n, t))
            ours = r["engines"].get("lstm_fast", {}) if r else {}
            if "median_us" not in ours:
                cells += ["-"] * 6
                continue
            med = ours["median_us"]
            best = best_fp32_peer(r["engines"])
            mm = r["engines"].get("lstm_fast-bf16mm", {})
            ov = r["engines"].get("openvino-bf16", {})
            i8 = r["engines"].get("lstm_fast-int8", {})
            cells += [f"{_fmt_us(med)} ({_fmt_us(ours['p99_us'])})",
                      f"{best[0] / med:.2f}× {SHORT.get(best[1], best[1])}" if best else "-",
                      f"{100 * r['bound']['bound_us'] / med:.0f} %",
                      _fmt_us(mm["median_us"]) if "median_us" in mm else "-",
                      f"{ov['median_us'] / mm['median_us']:.2f}×" if "median_us" in mm and "median_us" in ov else "-",
                      _fmt_us(i8["median_us"]) if "median_us" in i8 else "-"]
        out.append("| " + " | ".join(cells) + " |")
    return out


def _ratios(results: list, threads: int, ours: str, peer_of) -> list[float]:
    """Per scenario at this thread count: the peer's median / ours (> 1: lstm_fast faster)."""
    out = []
    for r in results:
        if r["threads"] != threads or "median_us" not in r["engines"].get(ours, {}):
            continue
        peer = peer_of(r["engines"])
        if peer is not None:
            out.append(peer / r["engines"][ours]["median_us"])
    return out


def _best_fp32_peer_us(engines: dict):
    best = best_fp32_peer(engines)
    return best[0] if best else None


def compare_table(runs: list[tuple[str, dict]]) -> list[str]:
    head = ["run", "lstm_fast", "fp32 fastest in", "vs best fp32 peer, 1T", "2T", "bf16mm vs OpenVINO bf16"]
    out = ["| " + " | ".join(head) + " |", "|---|" + "---|" * (len(head) - 1)]
    span = lambda xs: f"{min(xs):.2f}–{max(xs):.2f}×" if xs else "-"  # noqa: E731
    for label, run in runs:
        results = run["results"]
        fp32 = {t: _ratios(results, t, "lstm_fast", _best_fp32_peer_us) for t in (1, 2)}
        mm = [x for t in (1, 2) for x in _ratios(results, t, "lstm_fast-bf16mm",
                                                 lambda e: e.get("openvino-bf16", {}).get("median_us"))]
        rows = fp32[1] + fp32[2]
        version = run["environment"]["engines"]["lstm_fast"]["version"].split(" ")[0]
        out.append(f"| {label} | {version} | {sum(x > 1 for x in rows)} of {len(rows)} rows | {span(fp32[1])} | "
                   f"{span(fp32[2])} | {span(mm)} |")
    return out


def main(argv: list[str]) -> int:
    if argv[:1] == ["--compare"] and len(argv) > 1 and all("=" in a for a in argv[1:]):
        runs = []
        for spec in argv[1:]:
            label, path = spec.split("=", 1)
            runs.append((label, json.loads(open(path, encoding="utf-8").read())))
        print("\n".join(compare_table(runs)))
        return 0
    readme = "--readme" in argv
    argv = [a for a in argv if a != "--readme"]
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    run = json.loads(open(argv[0], encoding="utf-8").read())
    results = run["results"]
    if readme:
        print("\n".join(readme_table(results)))
        return 0
    for t in sorted({r["threads"] for r in results}):
        print(f"\n#### {t} thread{'s' if t > 1 else ''}\n")
        print("\n".join(summary_table(results, t, markdown=True)))
        print("\nMedian / p99 per engine (µs):\n")
        print("\n".join(engine_table(results, t)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
