"""Train the shipped text-to-image model and export it to lstm_fast/models/.

    python scripts/train_default_text2image.py                 # ~45 min on one core
    python scripts/train_default_text2image.py --resume        # continue after an interruption
    python scripts/train_default_text2image.py --export-only   # export the latest checkpoint

Same as `lstm-fast train-text2image` with the defaults below written down.
"""

from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "lstm_fast" / "models" / "text2image_default.safetensors"


def main() -> None:
    from lstm_fast.text2image.export import export_checkpoint
    from lstm_fast.text2image.train import TrainConfig, train

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run-dir", default=str(ROOT / "runs" / "text2image"))
    p.add_argument("--steps", type=int, default=10_000)
    p.add_argument("--minutes", type=float, help="training-time budget; the run ends at whichever comes first")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--export-only", action="store_true")
    p.add_argument("-o", "--output", default=str(DEFAULT_OUT))
    args = p.parse_args()
    cfg = TrainConfig(out_dir=args.run_dir, steps=args.steps, minutes=args.minutes)
    if not args.export_only:
        train(cfg, resume=args.resume)
    export_checkpoint(Path(args.run_dir) / "checkpoint.pt", args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
