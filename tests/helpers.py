"""Small data sets and run directories that tests write for themselves."""

import gzip

import torch

from tinycnn.idx import FILES


def idx_bytes(t: torch.Tensor) -> bytes:
    header = bytes([0, 0, 0x08, t.ndim]) + b"".join(n.to_bytes(4, "big") for n in t.shape)
    return header + t.to(torch.uint8).numpy().tobytes()


def write_set(d, n_train=12, n_test=6, h=5, w=7, classes=3, gz=False):
    g = torch.Generator().manual_seed(0)
    parts = {
        "train_images": torch.randint(0, 256, (n_train, h, w), generator=g),
        "train_labels": torch.arange(n_train) % classes,
        "test_images": torch.randint(0, 256, (n_test, h, w), generator=g),
        "test_labels": torch.arange(n_test) % classes,
    }
    paths = {}
    for key, t in parts.items():
        data = idx_bytes(t)
        p = d / (FILES[key] + (".gz" if gz else ""))
        p.write_bytes(gzip.compress(data) if gz else data)
        paths[key] = p
    return parts, paths
