"""Draw docs/text2image_samples.png: generated samples for seen and held-out captions.

    python scripts/make_samples_grid.py [--model FILE] [-o docs/text2image_samples.png]

One row per caption (listed, in order, by this script and in docs/text2image.md), eight
samples per row, seed 0. The strip left of a row is green for a caption whose layout was
trained on and orange for a held-out (never trained) layout.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from lstm_fast._png import image_grid, write_png
from lstm_fast.text2image import data
from lstm_fast.text2image.captions import parse_caption
from lstm_fast.text2image.model import TextToImage

ROOT = Path(__file__).resolve().parents[1]
CAPTIONS = [
    "the digit 3 is at the top of the digit 5",
    "the digit 7 is on the left of the digit 4",
    "the digit 0 is below the digit 8",
    "the digit 6 is to the right of the digit 2",
    "the digit 4 is above the digit 9",
    # held out of training (see lstm_fast/text2image/data.py)
    "the digit 3 is at the top of the digit 0",
    "the digit 1 is on the left of the digit 2",
    "the digit 7 is below the digit 4",
    "the digit 6 is to the right of the digit 7",
    "the digit 5 is at the bottom of the digit 7",
]
SEEN, HELD_OUT = (40, 160, 60), (230, 120, 20)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None)
    p.add_argument("-n", "--samples", type=int, default=8)
    p.add_argument("-o", "--output", default=str(ROOT / "docs" / "text2image_samples.png"))
    args = p.parse_args()
    model = TextToImage.load(args.model)
    held = set(data.held_out_layouts())
    images = model.generate(CAPTIONS, num_samples=args.samples, seed=0)
    rgb = np.repeat(images[..., None], 3, axis=3)
    rows = []
    for i, caption in enumerate(CAPTIONS):
        row = image_grid(rgb[i * args.samples:(i + 1) * args.samples], columns=args.samples, pad=2)
        unseen = parse_caption(caption) in held
        strip = np.broadcast_to(np.array(HELD_OUT if unseen else SEEN, np.uint8), (row.shape[0], 8, 3))
        rows.append(np.concatenate([strip, row], 1))
        print(f"row {i + 1}: {'held out' if unseen else 'seen'}: {caption}")
    write_png(args.output, np.concatenate(rows, 0))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
