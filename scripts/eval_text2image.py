"""Measure the text-to-image model: judge accuracy on seen and held-out captions, and the bound.

    python scripts/eval_text2image.py                       # the shipped model; every number in docs/text2image.md
    python scripts/eval_text2image.py --model m.safetensors --json out.json

1. Judge ceiling: the judge (a CNN trained on real digits only, lstm_fast/text2image/judge.py)
   on REAL test canvases, so the generated numbers can be read against it.
2. Generated images (torch-free generator): for every seen layout and every held-out layout,
   captions in all their phrasings; the fraction the judge finds matching (both digits
   recognised, each in the place the caption says), at sampling temperature 1 (the model's
   own distribution) and 0.5.
3. The test-set variational lower bound, in nats per image, on canvases from the test digits
   (seen and held-out layouts); needs torch and a model file with the inference network.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from lstm_fast.text2image import data
from lstm_fast.text2image.captions import RELATIONS, caption_for
from lstm_fast.text2image.judge import DigitJudge
from lstm_fast.text2image.model import TextToImage


def captions_for(layouts, per_layout: int) -> list[str]:
    """`per_layout` captions of each layout, cycling through its axis's phrasings."""
    out = []
    for lay in layouts:
        phrases = [p for p, (axis, _) in RELATIONS.items() if axis == lay.axis]
        out += [caption_for(lay, phrases[i % len(phrases)]) for i in range(per_layout)]
    return out


def judge_generated(model: TextToImage, judge: DigitJudge, captions: list[str], seed: int, temperature: float,
                    batch: int = 400) -> dict:
    images = np.concatenate([model.generate(captions[i:i + batch], seed=seed + i, temperature=temperature)
                             for i in range(0, len(captions), batch)])
    res = judge.judge(images, captions)
    return {"images": len(captions), "match": float(res["match"].mean()),
            "digit_accuracy": float(res["digit_correct"].mean())}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None, help="model file (default: the shipped model)")
    p.add_argument("--seen-per-layout", type=int, default=8, help="images per seen layout (180 layouts)")
    p.add_argument("--unseen-per-layout", type=int, default=50, help="images per held-out layout (20 layouts)")
    p.add_argument("--temperatures", type=float, nargs="+", default=[1.0, 0.5],
                   help="sampling temperatures to judge (default 1 and 0.5)")
    p.add_argument("--bound-images", type=int, default=2000)
    p.add_argument("--no-bound", action="store_true", help="skip the bound (no torch needed)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args()

    model = TextToImage.load(args.model)
    judge = DigitJudge.load()
    digits = data.load_digits()
    results = {"model": args.model or "shipped default", "spec": model.spec.to_config()}

    for name, held in (("seen", False), ("unseen", True)):
        x, caps, _ = data.fixed_set(digits, 1000, held_out=held, seed=11)
        results[f"judge_on_real_{name}"] = float(judge.judge(x, caps)["match"].mean())

    t0 = time.perf_counter()
    seen = captions_for(data.seen_layouts(), args.seen_per_layout)
    unseen = captions_for(data.held_out_layouts(), args.unseen_per_layout)
    for temp in args.temperatures:
        results[f"generated_seen_t{temp:g}"] = judge_generated(model, judge, seen, args.seed, temp)
        results[f"generated_unseen_t{temp:g}"] = judge_generated(model, judge, unseen, args.seed + 1_000_000, temp)
    results["generation_seconds"] = time.perf_counter() - t0

    if not args.no_bound:
        import torch

        from lstm_fast.text2image.export import torch_twin
        from lstm_fast.text2image.train import negative_bound

        if not model.has_inference:
            raise SystemExit("this model file has no inference network; use --no-bound")
        torch.set_num_threads(1)
        twin = torch_twin(model)
        for name, held in (("seen", False), ("unseen", True)):
            x, caps, _ = data.fixed_set(digits, args.bound_images, held_out=held, seed=3)
            nb, rc, kl = negative_bound(twin, x, caps, model.vocab, seed=args.seed)
            results[f"bound_{name}"] = {"lower_bound_nats": float(-nb), "reconstruction_nats": float(rc),
                                        "kl_nats": float(kl), "images": args.bound_images}

    for k, v in results.items():
        print(f"{k}: {v}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
