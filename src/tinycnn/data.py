"""Data sets: bundled MNIST (offline, checksummed), or any folder of IDX files (`idx.py`) or of
images (`imagefolder.py`), read whole into uint8 tensors (N, C, H, W).

Image size, channels and class count come from the files; normalisation statistics (per channel)
from the training images. A `dataset.toml` beside the data names it, its classes and its default
target. Every problem is a one-line `DataError` naming the file and the fix.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import torch

from . import idx, imagefolder, tomlfile
from .defaults import MNIST, MNIST_TARGET
from .errors import DataError
from .richtext import html_block, html_table, text_table
from .spec import NAME_RE

PIXEL_MAX = 255  # uint8 pixels
# the bundled data's input: the default wherever no shape is given (other IDX data brings its own)
MIN_IMAGES = {"train": 2, "test": 1}  # batch norm trains on two images or more
DESCRIPTION = "dataset.toml"  # beside the data: name, class names, default target
Stat = float | tuple[float, ...]  # one number for grey images, one per channel for colour


def per_channel(v: Stat | list[float], like: torch.Tensor) -> float | torch.Tensor:
    """A statistic as arithmetic with (N, C, H, W) images `like` takes it: grey stays a float
    (so grey numbers are what they always were), colour a (1, C, 1, 1) tensor."""
    if not isinstance(v, list | tuple):
        return v
    return torch.tensor(v, dtype=like.dtype, device=like.device).view(1, -1, 1, 1)


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """uint8 images → float in [0, 1] (background stays 0, so resampling can pad with 0)."""
    return x.float().div_(PIXEL_MAX)


def standardize(x: torch.Tensor, mean: Stat, std: Stat) -> torch.Tensor:
    """uint8 images → the network's input, with the training images' statistics."""
    x = to_unit(x)
    return (x - per_channel(mean, x)) / per_channel(std, x)


@dataclass(frozen=True, eq=False)
class Dataset:
    train_x: torch.Tensor  # uint8 (N, C, H, W)
    train_y: torch.Tensor  # int64 (N,)
    test_x: torch.Tensor
    test_y: torch.Tensor
    classes: int
    mean: Stat  # of the training pixels, scaled to [0, 1] (per channel for colour)
    std: Stat
    source: str  # the folder
    val_x: torch.Tensor | None = None  # held out from the training images (`split_val`)
    val_y: torch.Tensor | None = None
    name: str = MNIST  # "MNIST" for the bundled data; else dataset.toml's or the folder's name
    class_names: tuple[str, ...] | None = None  # in label order, when known
    target: float | None = MNIST_TARGET  # the data set's default accuracy target, if it has one

    @property
    def is_mnist(self) -> bool:
        return self.name == MNIST

    def class_name(self, c: int) -> str:
        return self.class_names[c] if self.class_names else str(c)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(self.train_x.shape[1:])  # type: ignore[return-value]

    def _rows(self) -> list[list[str]]:
        splits = [("train", self.train_y), ("val", self.val_y), ("test", self.test_y)]
        return [
            [
                name,
                f"{len(y):,}",
                " ".join(f"{int(n):,}" for n in torch.bincount(y, minlength=self.classes)),
            ]
            for name, y in splits
            if y is not None
        ]

    def _title(self) -> str:
        shape = "×".join(map(str, self.input_shape))
        fmt = lambda v: f"{v:.4f}" if isinstance(v, float) else "/".join(f"{c:.3f}" for c in v)  # noqa: E731
        names = f" ({', '.join(self.class_names)})" if self.class_names else ""
        return (
            f"{self.name}: {shape} images, {self.classes} classes{names}; training pixels "
            f"mean {fmt(self.mean)}, std {fmt(self.std)}; from {self.source}"
        )

    def __repr__(self) -> str:  # not the dataclass's: that prints the tensors
        head = ["split", "images", "per class"]
        return f"Dataset {self._title()}\n{text_table(head, self._rows())}"

    def _repr_html_(self) -> str:
        return html_block(self._title(), html_table(["split", "images", "per class"], self._rows()))


def val_indices(labels: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """n indices into `labels`, stratified: each class gives its share of n (largest remainders
    round), drawn at random with `seed`; sorted."""
    counts = torch.bincount(labels)
    quota = counts.double() * n / len(labels)
    take = quota.floor().long()
    short = n - int(take.sum())
    take[torch.argsort(quota - take, descending=True, stable=True)[:short]] += 1
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(labels), generator=g)
    picked = [order[labels[order] == c][: int(k)] for c, k in enumerate(take)]
    return torch.cat(picked).sort().values


def split_val(ds: Dataset, n: int, seed: int = 0) -> Dataset:
    """Hold out n training images as a validation split (stratified, drawn with `seed`, so
    every training seed sees the same split). The rest stay training images, in their order;
    normalisation statistics come from them alone."""
    if not 0 < n <= len(ds.train_y) - MIN_IMAGES["train"]:
        raise DataError(
            f"val = {n}: the training split has {len(ds.train_y):,} images; hold out between 1 "
            f"and {len(ds.train_y) - MIN_IMAGES['train']:,}"
        )
    val = val_indices(ds.train_y, n, seed)
    keep = torch.ones(len(ds.train_y), dtype=torch.bool)
    keep[val] = False
    mean, std = channel_stats(ds.train_x[keep])
    return dataclasses.replace(
        ds,
        train_x=ds.train_x[keep],
        train_y=ds.train_y[keep],
        val_x=ds.train_x[val],
        val_y=ds.train_y[val],
        mean=mean,
        std=std,
    )


def bundled_dir() -> Path:
    return Path(str(resources.files("tinycnn") / "data" / "mnist"))


def load(data_dir: str | Path | None = None) -> Dataset:
    """Bundled MNIST when `data_dir` is None; else the folder's IDX files or image folders
    (`train/<class>/*.png`, `test/<class>/*.png`), described by its `dataset.toml` if any."""
    d = (bundled_dir() if data_dir is None else Path(data_dir)).resolve()
    # cache per process, keyed on the files' sizes and times so an edited file is read again
    stamp = (  # lstat: a broken link is named by the loader, not a traceback here
        tuple((str(p), p.lstat().st_size, p.lstat().st_mtime_ns) for p in sorted(d.rglob("*")))
        if d.is_dir()
        else ()
    )
    return _load_cached(str(d), stamp)


@functools.lru_cache(maxsize=4)
def _load_cached(directory: str, stamp: tuple) -> Dataset:
    d = Path(directory)
    if not d.is_dir():
        raise DataError(
            f"{d}: no such directory; pass --data-dir a folder holding the four IDX "
            f"files or train/ and test/ image folders, or leave it out to use the bundled MNIST"
        )
    about = describe_dir(d)
    if idx.is_idx_dir(d):
        arrays, files = idx.read_idx_dir(d)
        names = about.get("classes")
    elif imagefolder.is_image_folder(d):
        arrays, found = imagefolder.read_image_folder(d)
        files = {f"{s}_{k}": d / s for s in ("train", "test") for k in ("images", "labels")}
        names = about.get("classes", list(found))
    else:
        raise DataError(
            f"{d}: neither IDX files ({idx.FILES['train_images']}…) nor train/ and test/ "
            f"image folders; see README 'Data' for the two layouts"
        )
    for split in ("train", "test"):
        x, y = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if len(x) != len(y):
            raise DataError(
                f"{d}: {split} has {len(x)} images but {len(y)} labels; the two "
                f"files must come from the same dataset"
            )
    if arrays["train_images"].shape[1:] != arrays["test_images"].shape[1:]:
        raise DataError(
            f"{d}: train images are {tuple(arrays['train_images'].shape[1:])} but "
            f"test images are {tuple(arrays['test_images'].shape[1:])}; use one size"
        )
    for split, least in MIN_IMAGES.items():
        if len(arrays[f"{split}_images"]) < least:
            raise DataError(
                f"{files[split + '_images']}: {len(arrays[split + '_images'])} images; the "
                f"{split} split needs at least {least}"
            )
    classes = check_labels(arrays["train_labels"], arrays["test_labels"], files)
    if names is not None and len(names) != classes:
        raise DataError(
            f"{d / DESCRIPTION}: {len(names)} class names for {classes} classes; "
            f"give one name per class, in label order"
        )
    train_x = arrays["train_images"]
    mean, std = channel_stats(train_x)
    if max(std if isinstance(std, tuple) else (std,)) == 0:
        m = mean if isinstance(mean, float) else mean[0]
        raise DataError(
            f"{files['train_images']}: every training pixel is {round(m * PIXEL_MAX)}; "
            f"the images are blank: check that the file holds the images"
        )
    if isinstance(std, tuple):  # a colour channel the data never uses: scale it by 1, not by 0
        std = tuple(v if v > 0 else 1.0 for v in std)
    mnist = is_mnist(d)
    return Dataset(
        train_x,
        arrays["train_labels"],
        arrays["test_images"],
        arrays["test_labels"],
        classes,
        mean,
        std,
        str(d),
        name=about.get("name", MNIST if mnist else d.name),
        class_names=tuple(names) if names is not None else None,
        target=about.get("target", MNIST_TARGET if mnist else None),
    )


def channel_stats(x: torch.Tensor) -> tuple[Stat, Stat]:
    """Mean and std of uint8 images scaled to [0, 1]: one number for grey images (as ever),
    one per channel for colour."""
    pixels = to_unit(x)
    if x.shape[1] == 1:
        return pixels.mean().item(), pixels.std().item()
    flat = pixels.transpose(0, 1).reshape(x.shape[1], -1)
    return tuple(flat.mean(1).tolist()), tuple(flat.std(1).tolist())


def is_mnist(d: Path) -> bool:
    """The bundled data, or a copy of it: IDX files with MNIST's SHA256SUMS (reading them
    checked every file against those sums). A copy of the sums beside other files is not."""
    if d == bundled_dir().resolve():
        return True
    mine, theirs = bundled_dir() / idx.CHECKSUMS, d / idx.CHECKSUMS
    same_sums = theirs.is_file() and theirs.read_text().split() == mine.read_text().split()
    return same_sums and idx.is_idx_dir(d)


def describe_dir(d: Path) -> dict[str, Any]:
    """`dataset.toml`: name, classes (names in label order) and target (percent), all optional."""
    p = d / DESCRIPTION
    if not p.is_file():
        return {}
    about = tomlfile.read(p, "data set description", "see README 'Data'", DataError)
    unknown = sorted(set(about) - {"name", "classes", "target"})
    if unknown:
        raise DataError(f"{p}: unknown field {unknown[0]!r}; known: name, classes, target")
    if not isinstance(about.get("name", ""), str) or not NAME_RE.fullmatch(about.get("name", "x")):
        raise DataError(f"{p}: name must be letters, digits, '.', '_', '+' or '-'")
    classes = about.get("classes", [])
    if not isinstance(classes, list) or not all(isinstance(c, str) and c for c in classes):
        raise DataError(f'{p}: classes must be a list of names, e.g. ["cat", "dog"]')
    t = about.get("target")
    if t is not None and not (isinstance(t, int | float) and 0 < t <= 100):
        raise DataError(f"{p}: target = {t!r} must be a test accuracy in percent (0, 100]")
    return about


def check_labels(train: torch.Tensor, test: torch.Tensor, files: dict[str, Path]) -> int:
    """The class count: labels run 0..C−1 and every class has training images, so one stray
    label cannot silently add an output to the model. Returns C."""
    counts = torch.bincount(train.long())
    classes = len(counts)
    missing = (counts == 0).nonzero().flatten().tolist()
    if missing:
        stray = int(train.max())
        where = int((train == stray).nonzero()[0])
        raise DataError(
            f"{files['train_labels']}: labels must run 0..C−1 with every class present, but "
            f"class {missing[0]} has no training image and label {stray} appears (first at "
            f"image {where}); fix the labels or the file"
        )
    if classes < 2:
        raise DataError(f"{files['train_labels']}: only one class; a classifier needs two or more")
    bad = (test.long() >= classes).nonzero().flatten()
    if len(bad):
        i = int(bad[0])
        raise DataError(
            f"{files['test_labels']}: label {int(test[i])} at image {i} is not a class of the "
            f"training set (0..{classes - 1}); fix the labels or the file"
        )
    return classes
