"""``lstm-fast generate`` and ``lstm-fast train-text2image``.

Registering imports nothing heavy: torch is imported only when ``train-text2image`` runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["register"]


def register(sub) -> None:
    g = sub.add_parser("generate", help="draw an image from a caption (alignDRAW; default: the shipped captioned-MNIST model)",
                       description="Generate images for each CAPTION, e.g. 'the digit 3 is at the top of the digit 5', "
                                   "and write them as one PNG: a single image, or a grid with one row per caption "
                                   "and one column per sample.")
    g.add_argument("captions", nargs="+", metavar="CAPTION")
    g.add_argument("--output", "-o", required=True, type=Path, help="PNG file to write")
    g.add_argument("--num-samples", "-n", type=int, default=1, help="images per caption (default 1)")
    g.add_argument("--seed", type=int, help="random seed (same seed, same images)")
    g.add_argument("--temperature", "-t", type=float, default=1.0,
                   help="scale of the prior's noise (default 1; lower: cleaner, less varied)")
    g.add_argument("--model", "-m", type=Path, help="model file (default: the model shipped with lstm_fast)")
    g.set_defaults(func=_generate)

    t = sub.add_parser("train-text2image", help="train an alignDRAW caption-to-image model on captioned MNIST (needs torch)",
                       description="Train on 60x60 canvases of two real MNIST digits with captions, writing a checkpoint "
                                   "to --run-dir every few minutes (--resume continues from it), then export the "
                                   "model file to --output.")
    t.add_argument("--output", "-o", required=True, type=Path, help="where to write the model file")
    t.add_argument("--run-dir", type=Path, default=Path("runs/text2image"), help="checkpoints (default runs/text2image)")
    t.add_argument("--resume", action="store_true", help="continue from the checkpoint in --run-dir")
    t.add_argument("--steps", type=int, default=10_000, help="training batches (default 10000)")
    t.add_argument("--minutes", type=float, help="training-time budget: stop (and anneal the learning rate) by then")
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    t.add_argument("--checkpoint-minutes", type=float, default=3.0)
    t.add_argument("--eval-every", type=int, default=500, help="validation bound every this many steps")
    t.add_argument("--dec", type=int, help="generator LSTM size (default 192)")
    t.add_argument("--enc", type=int, help="inference LSTM size (default 192)")
    t.add_argument("--latent", type=int, help="latent size per step (default 32)")
    t.add_argument("--draw-steps", type=int, help="drawing steps T (default 16)")
    t.add_argument("--write-n", type=int, help="write patch N (default 8)")
    t.add_argument("--read-n", type=int, help="read glimpse N (default 8)")
    t.set_defaults(func=_train)


def _generate(args: argparse.Namespace) -> int:
    from .._png import image_grid, write_png
    from .model import TextToImage

    model = TextToImage.load(args.model)
    images = model.generate(args.captions, num_samples=args.num_samples, seed=args.seed,
                            temperature=args.temperature)
    if len(images) == 1:
        write_png(args.output, images[0])
    else:
        write_png(args.output, image_grid(images, columns=args.num_samples))
    print(f"wrote {args.output} ({len(args.captions)} caption(s) x {args.num_samples} sample(s))")
    return 0


def _train(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from .export import export_checkpoint
    from .spec import Spec
    from .train import TrainConfig, train

    sizes = {"dec": args.dec, "enc": args.enc, "latent": args.latent, "steps": args.draw_steps,
             "write_n": args.write_n, "read_n": args.read_n}
    spec = replace(Spec(), **{k: v for k, v in sizes.items() if v is not None})
    cfg = TrainConfig(out_dir=str(args.run_dir), steps=args.steps, minutes=args.minutes, batch=args.batch_size, lr=args.lr, seed=args.seed,
                      threads=args.threads, checkpoint_minutes=args.checkpoint_minutes, eval_every=args.eval_every,
                      spec=spec)
    train(cfg, resume=args.resume)
    export_checkpoint(Path(args.run_dir) / "checkpoint.pt", args.output)
    print(f"wrote {args.output}")
    return 0
