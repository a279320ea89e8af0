"""IDX files (LeCun's MNIST format): one array of unsigned bytes with its shape in the header.

A folder holds four of them (`train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
`t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each optionally `.gz`). Images are rank 3
(N×H×W, grey) or rank 4 (N×H×W×C, colour); labels rank 1. A SHA256SUMS file beside them is
checked. Every problem is a one-line `DataError` naming the file and the fix.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from pathlib import Path

import torch

from .errors import DataError

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
UBYTE = 0x08  # IDX type code for unsigned bytes: the only one image datasets use
IMAGE_RANKS, LABELS_NDIM = (3, 4), 1  # N×H×W (grey) or N×H×W×C (channels last, as IDX has it)
CHECKSUMS = "SHA256SUMS"


def is_idx_dir(d: Path) -> bool:
    return any((d / (stem + ext)).is_file() for stem in FILES.values() for ext in ("", ".gz"))


def read_idx_dir(d: Path) -> tuple[dict[str, torch.Tensor], dict[str, Path]]:
    """The four arrays, images as uint8 (N, C, H, W) and labels as int64, and their files."""
    sums = _read_checksums(d)
    files = {key: _find(d, stem) for key, stem in FILES.items()}
    arrays = {key: read_idx(path, sums) for key, path in files.items()}
    for split in ("train", "test"):
        x, y = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if x.ndim not in IMAGE_RANKS:
            raise DataError(
                f"{files[split + '_images']}: expected images (N×H×W or N×H×W×C), got "
                f"{x.ndim} dims; check the file is an idx3/idx4 image file"
            )
        if y.ndim != LABELS_NDIM:
            raise DataError(
                f"{files[split + '_labels']}: expected labels (1 dim), got "
                f"{y.ndim} dims; check the file is an idx1 label file"
            )
        # N×H×W → N×1×H×W; N×H×W×C → N×C×H×W
        arrays[f"{split}_images"] = x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2)
        arrays[f"{split}_labels"] = y.long()
    return arrays, files


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
