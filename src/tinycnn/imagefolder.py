"""Image folders: `train/<class>/*.png` and `test/<class>/*.png` (PNG, JPEG and the other formats
Pillow reads), loaded once into the same uint8 tensors as IDX data.

Classes are the sorted folder names under `train/` (every test class must be one of them).
Every image must have the same size; the data is grey (1 channel) when every image is grey, RGB
(3 channels) otherwise. A file that is not a readable image is named in the error.
"""

from __future__ import annotations

from pathlib import Path

import torch

from .errors import DataError

SPLITS = ("train", "test")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".pgm"}
MAX_PIXELS = 4096 * 4096  # one image; larger is not a tiny-CNN data set (and guards memory)


def is_image_folder(d: Path) -> bool:
    return all((d / split).is_dir() for split in SPLITS)


def read_image_folder(d: Path) -> tuple[dict[str, torch.Tensor], tuple[str, ...]]:
    """{train,test}_{images,labels} as IDX data has them (uint8 N×C×H×W, int64), and the class
    names (folder names, sorted)."""
    from PIL import Image  # only for image folders

    names = tuple(sorted(p.name for p in (d / "train").iterdir() if _visible_dir(p)))
    if len(names) < 2:
        raise DataError(
            f"{d / 'train'}: {len(names)} class folder(s); put each class's images in its own "
            f"folder, train/<class>/*.png (two classes or more)"
        )
    tested = {p.name for p in (d / "test").iterdir() if _visible_dir(p)}
    unknown = sorted(tested - set(names))
    if unknown:
        raise DataError(
            f"{d / 'test' / unknown[0]}: class {unknown[0]!r} has no folder under train/; "
            f"test classes must be training classes"
        )
    if not tested:
        raise DataError(
            f"{d / 'test'}: no class folders; put the test images in test/<class>/NAME.png, "
            f"one folder per class as under train/"
        )
    missing = sorted(set(names) - tested)
    if missing:
        raise DataError(
            f"{d / 'test' / missing[0]}: missing; every training class needs test images "
            f"(test/{missing[0]}/NAME.png)"
        )
    out: dict[str, torch.Tensor] = {}
    size: tuple[int, int] | None = None
    first: Path | None = None
    grey = True
    pixels: dict[str, list[torch.Tensor]] = {}
    for split in SPLITS:
        images, labels = [], []
        for label, name in enumerate(names):
            folder = d / split / name
            files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not files:
                raise DataError(
                    f"{folder}: no images ({', '.join(sorted(IMAGE_SUFFIXES))}); put class "
                    f"{name!r}'s {split} images in it, or remove the folder"
                )
            for f in files:
                img = _open(f, Image)
                if size is None:
                    size, first = img.size, f
                elif img.size != size:
                    raise DataError(
                        f"{f}: {img.size[0]}×{img.size[1]} pixels but {first} is "
                        f"{size[0]}×{size[1]}; resize the images to one size"
                    )
                t = torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8)
                t = t.view(size[1], size[0], 3).permute(2, 0, 1)  # H×W×RGB → RGB×H×W
                grey = grey and bool((t[0] == t[1]).all() and (t[1] == t[2]).all())
                images.append(t)
                labels.append(label)
        if not images:
            raise DataError(
                f"{d / split}: no images (looked for {', '.join(sorted(IMAGE_SUFFIXES))} in "
                f"its class folders); add {split} images as {split}/<class>/NAME.png"
            )
        pixels[split] = images
        out[f"{split}_labels"] = torch.tensor(labels, dtype=torch.long)
    for split in SPLITS:
        x = torch.stack(pixels[split])
        out[f"{split}_images"] = x[:, :1].contiguous() if grey else x
    return out, names


def _visible_dir(p: Path) -> bool:
    return p.is_dir() and not p.name.startswith(".")


def _open(f: Path, Image: object):  # noqa: ANN202  (a PIL image)
    try:
        with Image.open(f) as img:  # type: ignore[attr-defined]
            if img.size[0] * img.size[1] > MAX_PIXELS:
                raise DataError(
                    f"{f}: {img.size[0]}×{img.size[1]} pixels is more than this loader takes "
                    f"({MAX_PIXELS:,}); resize the images"
                )
            return img.convert("RGB")  # palette, alpha and grey alike → 3 channels, checked later
    except DataError:
        raise
    except Exception as e:  # Pillow raises many kinds for a bad file
        raise DataError(
            f"{f}: not a readable image ({type(e).__name__}: {str(e)[:80]}); remove or replace it"
        ) from None
