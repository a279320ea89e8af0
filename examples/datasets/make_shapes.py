"""Write a small colour data set in the image-folder layout: six shapes, random size, place and
colour on a noisy dark background with two stray strokes, 32×32 RGB PNGs, with its dataset.toml.

    python examples/datasets/make_shapes.py /tmp/shapes        # 3,000 train / 600 test images
    tinycnn train gap7496 --data-dir /tmp/shapes --epochs 5

A quick way to see tinycnn on data that is not MNIST (colour, other classes, its own target).
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from PIL import Image, ImageDraw

CLASSES = ("circle", "square", "triangle", "cross", "ring", "bar")
SIDE = 32


def draw(shape: str, rng: random.Random) -> Image.Image:
    noise = bytes(rng.randint(0, 60) for _ in range(SIDE * SIDE))  # a dark, noisy background
    img = Image.frombytes("L", (SIDE, SIDE), noise).convert("RGB")
    d = ImageDraw.Draw(img)
    for _ in range(2):  # distractors: short strokes of any colour
        x, y = rng.randint(0, SIDE - 1), rng.randint(0, SIDE - 1)
        grey = tuple(rng.randint(40, 160) for _ in range(3))
        d.line((x, y, x + rng.randint(-6, 6), y + rng.randint(-6, 6)), fill=grey, width=1)
    colour = tuple(rng.randint(70, 255) for _ in range(3))
    r = rng.randint(3, 9)
    cx, cy = rng.randint(r + 1, SIDE - r - 2), rng.randint(r + 1, SIDE - r - 2)
    box = (cx - r, cy - r, cx + r, cy + r)
    if shape == "circle":
        d.ellipse(box, fill=colour)
    elif shape == "square":
        d.rectangle(box, fill=colour)
    elif shape == "triangle":
        d.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=colour)
    elif shape == "cross":
        d.line((cx - r, cy, cx + r, cy), fill=colour, width=3)
        d.line((cx, cy - r, cx, cy + r), fill=colour, width=3)
    elif shape == "ring":
        d.ellipse(box, outline=colour, width=3)
    else:  # bar, at a random angle: horizontal, vertical or diagonal
        ends = rng.choice([(-r, 0, r, 0), (0, -r, 0, r), (-r, -r, r, r), (-r, r, r, -r)])
        d.line((cx + ends[0], cy + ends[1], cx + ends[2], cy + ends[3]), fill=colour, width=4)
    return img


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out")
    ap.add_argument("--train", type=int, default=3000)
    ap.add_argument("--test", type=int, default=600)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng, out = random.Random(args.seed), Path(args.out)
    for split, n in (("train", args.train), ("test", args.test)):
        for i in range(n):
            shape = CLASSES[i % len(CLASSES)]
            folder = out / split / shape
            folder.mkdir(parents=True, exist_ok=True)
            draw(shape, rng).save(folder / f"{i:05d}.png")
    names = ", ".join(f'"{c}"' for c in sorted(CLASSES))  # folders are read in sorted order
    (out / "dataset.toml").write_text(f'name = "shapes"\nclasses = [{names}]\ntarget = 95.0\n')
    print(
        f"wrote {args.train:,} train / {args.test:,} test images of {len(CLASSES)} shapes to {out}"
    )


if __name__ == "__main__":
    main()
