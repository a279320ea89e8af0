"""Your own images, made the way the training images were made.

MNIST digits are light ink on black, the ink scaled to fit a 20×20 box (keeping its aspect
ratio) and centred by its centre of mass in the 28×28 image (LeCun et al.). A photo or a drawing
usually is dark ink on light paper, any size: `mnist_style` turns it into that form. Other data
sets get their own size and channels (`fit`). Every problem is a one-line `DataError`.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch

from ..errors import DataError

MAX_PIXELS = 25_000_000  # an image larger than this is refused before it is decoded
MAX_BYTES = 20_000_000
INK = 30  # of 255, after inversion: brighter than this is ink
BOX, MNIST_SIDE = 20, 28  # MNIST's ink box and image size


def open_image(source: str | Path | bytes, name: str = "") -> Any:
    """A Pillow image from a file or bytes, its size checked before decoding; RGB, with any
    transparency laid on white (a drawing on a transparent canvas is ink on paper)."""
    from PIL import Image, UnidentifiedImageError

    where = name or str(source)
    try:
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
    except OSError as e:
        raise DataError(f"{where}: cannot read ({e.strerror}); check the path") from None
    if len(data) > MAX_BYTES:
        raise DataError(
            f"{where}: {len(data):,} bytes; images up to {MAX_BYTES:,} bytes: shrink it"
        )
    try:
        img = Image.open(io.BytesIO(data))
        w, h = img.size
        if w * h > MAX_PIXELS:
            raise DataError(
                f"{where}: {w}×{h} pixels; images up to {MAX_PIXELS:,} pixels: shrink it"
            )
        img.load()
    except DataError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as e:
        raise DataError(f"{where}: not an image Pillow can read ({type(e).__name__})") from None
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        paper = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(paper, img.convert("RGBA"))
    return img.convert("RGB")


def mnist_style(img: Any, name: str = "image") -> torch.Tensor:
    """Grey, light ink on black, cropped to the ink, scaled into 20×20, centred by mass in
    28×28: uint8 (1, 28, 28)."""
    from PIL import Image

    grey = torch.frombuffer(bytearray(img.convert("L").tobytes()), dtype=torch.uint8)
    a = grey.view(img.size[1], img.size[0]).float()
    border = torch.cat([a[0], a[-1], a[:, 0], a[:, -1]])
    if border.median() > 127:  # light paper: invert, so the ink is the bright part
        a = 255 - a
    a = (a - a.min()).clamp(min=0)
    ink = a > INK
    if not ink.any() or float(a.max()) - float(a.min()) < INK:
        raise DataError(
            f"{name}: blank (no ink darker or lighter than its background); draw a digit"
        )
    rows, cols = ink.any(1).nonzero().flatten(), ink.any(0).nonzero().flatten()
    crop = a[int(rows[0]) : int(rows[-1]) + 1, int(cols[0]) : int(cols[-1]) + 1]
    h, w = crop.shape
    scale = BOX / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = Image.fromarray(crop.clamp(0, 255).byte().numpy()).resize(size, Image.LANCZOS)
    s = torch.frombuffer(bytearray(small.tobytes()), dtype=torch.uint8).view(size[1], size[0])
    s = s.float()
    total = float(s.sum()) or 1.0
    ys, xs = torch.arange(size[1]).float(), torch.arange(size[0]).float()
    cy, cx = float((s.sum(1) * ys).sum()) / total, float((s.sum(0) * xs).sum()) / total
    top = min(max(round(MNIST_SIDE / 2 - cy - 0.5), 0), MNIST_SIDE - size[1])
    left = min(max(round(MNIST_SIDE / 2 - cx - 0.5), 0), MNIST_SIDE - size[0])
    out = torch.zeros(MNIST_SIDE, MNIST_SIDE)
    out[top : top + size[1], left : left + size[0]] = s
    return out.round().clamp(0, 255).byte().unsqueeze(0)


def fit(img: Any, shape: tuple[int, int, int]) -> torch.Tensor:
    """Resized to the data's H×W, grey or RGB as its channels: uint8 (C, H, W)."""
    from PIL import Image

    c, h, w = shape
    img = img.convert("L" if c == 1 else "RGB").resize((w, h), Image.BILINEAR)
    t = torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8)
    return t.view(h, w, c).permute(2, 0, 1).contiguous()
