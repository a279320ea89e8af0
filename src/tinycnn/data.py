"""Datasets from IDX files: bundled MNIST (offline, checksummed) or any directory of IDX files.

The four standard files (`train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
`t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each optionally `.gz`) are read whole into
uint8 tensors. Image size and class count come from the files; normalisation statistics come from
the training images. Every problem is a one-line `DataError` naming the file and the fix.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import hashlib
import zlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import torch

from .errors import DataError
from .richtext import html_block, html_table, text_table

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
UBYTE = 0x08  # IDX type code for unsigned bytes: the only one image datasets use
IMAGES_NDIM, LABELS_NDIM = 3, 1
CHECKSUMS = "SHA256SUMS"
PIXEL_MAX = 255  # uint8 pixels
# the bundled data's input: the default wherever no shape is given (other IDX data brings its own)
MNIST_INPUT: tuple[int, int, int] = (1, 28, 28)
MNIST_CLASSES = 10
MIN_IMAGES = {"train": 2, "test": 1}  # batch norm trains on two images or more


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """uint8 images → float in [0, 1] (background stays 0, so resampling can pad with 0)."""
    return x.float().div_(PIXEL_MAX)


def standardize(x: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    """uint8 images → the network's input, with the training images' statistics."""
    return (to_unit(x) - mean) / std


@dataclass(frozen=True, eq=False)
class Dataset:
    train_x: torch.Tensor  # uint8 (N, 1, H, W)
    train_y: torch.Tensor  # int64 (N,)
    test_x: torch.Tensor
    test_y: torch.Tensor
    classes: int
    mean: float  # of the training pixels, scaled to [0, 1]
    std: float
    source: str
    val_x: torch.Tensor | None = None  # held out from the training images (`split_val`)
    val_y: torch.Tensor | None = None

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
        return (
            f"{self.source}: {shape} images, {self.classes} classes; training pixels "
            f"mean {self.mean:.4f}, std {self.std:.4f}"
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
    pixels = to_unit(ds.train_x[keep])
    return dataclasses.replace(
        ds,
        train_x=ds.train_x[keep],
        train_y=ds.train_y[keep],
        val_x=ds.train_x[val],
        val_y=ds.train_y[val],
        mean=pixels.mean().item(),
        std=pixels.std().item(),
    )


def bundled_dir() -> Path:
    return Path(str(resources.files("tinycnn") / "data" / "mnist"))


def load(data_dir: str | Path | None = None) -> Dataset:
    """Bundled MNIST when `data_dir` is None, else the IDX files in `data_dir`."""
    d = (bundled_dir() if data_dir is None else Path(data_dir)).resolve()
    # cache per process, keyed on the files' sizes and times so an edited file is read again
    stamp = (
        tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(d.iterdir()))
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
            f"files, or leave it out to use the bundled MNIST"
        )
    sums = _read_checksums(d)
    arrays = {key: read_idx(_find(d, stem), sums) for key, stem in FILES.items()}
    for split in ("train", "test"):
        x, y = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if x.ndim != IMAGES_NDIM:
            raise DataError(
                f"{_find(d, FILES[split + '_images'])}: expected images (3 dims), got "
                f"{x.ndim} dims; check the file is an idx3 image file"
            )
        if y.ndim != LABELS_NDIM:
            raise DataError(
                f"{_find(d, FILES[split + '_labels'])}: expected labels (1 dim), got "
                f"{y.ndim} dims; check the file is an idx1 label file"
            )
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
    files = {key: _find(d, stem) for key, stem in FILES.items()}
    for split, least in MIN_IMAGES.items():
        if len(arrays[f"{split}_images"]) < least:
            raise DataError(
                f"{files[split + '_images']}: {len(arrays[split + '_images'])} images; the "
                f"{split} split needs at least {least}"
            )
    classes = check_labels(arrays["train_labels"], arrays["test_labels"], files)
    train_x = arrays["train_images"].unsqueeze(1)
    pixels = to_unit(train_x)
    mean, std = pixels.mean().item(), pixels.std().item()
    if std == 0:
        raise DataError(
            f"{files['train_images']}: every training pixel is {round(mean * PIXEL_MAX)}; "
            f"the images are blank: check that the file holds the images"
        )
    return Dataset(
        train_x,
        arrays["train_labels"].long(),
        arrays["test_images"].unsqueeze(1),
        arrays["test_labels"].long(),
        classes,
        mean,
        std,
        str(d),
    )


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


def _find(d: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz"):
        if (d / name).is_file():
            return d / name
    raise DataError(
        f"{d / stem}: missing (looked for {stem} and {stem}.gz); put the four IDX "
        f"files in {d} or pass --data-dir another folder"
    )


def _read_checksums(d: Path) -> dict[str, str]:
    p = d / CHECKSUMS
    if not p.is_file():
        return {}
    sums = {}
    for line in p.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2:
            sums[parts[1].lstrip("*")] = parts[0].lower()
    return sums


def read_idx(path: Path, sums: dict[str, str] | None = None) -> torch.Tensor:
    """Read one IDX file (raw or gzipped) into a uint8 tensor, verifying its checksum if listed."""
    raw = path.read_bytes()
    expected = (sums or {}).get(path.name)
    if expected is not None:
        got = hashlib.sha256(raw).hexdigest()
        if got != expected:
            raise DataError(
                f"{path}: checksum mismatch (SHA256 {got[:12]}…, expected "
                f"{expected[:12]}…); the file is corrupt or changed: restore it"
            )
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as e:
            raise DataError(
                f"{path}: not a readable gzip file ({e}); the file is truncated or "
                f"corrupt: download or copy it again"
            ) from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != UBYTE:
        magic = raw[:4].hex() or "empty"
        raise DataError(
            f"{path}: wrong magic number 0x{magic} (expected 0x000008NN for unsigned "
            f"byte IDX); this is not an IDX file of bytes"
        )
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated header ({len(raw)} bytes); copy the file again")
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    size = 1
    for n in dims:
        size *= n
    if len(raw) - header < size:
        raise DataError(
            f"{path}: truncated: header promises {size:,} bytes of data for shape "
            f"{tuple(dims)} but only {len(raw) - header:,} follow; copy the file again"
        )
    if size == 0:  # frombuffer refuses an empty buffer; the split-size check names the file
        return torch.zeros(dims, dtype=torch.uint8)
    data = torch.frombuffer(bytearray(raw[header : header + size]), dtype=torch.uint8)
    return data.reshape(dims)
