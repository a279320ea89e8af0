"""IDX loading: bundled MNIST, any directory of IDX files, and every corrupt case."""

import hashlib
import re

import pytest
import torch
from helpers import idx_bytes, write_set

from tinycnn.data import bundled_dir, load
from tinycnn.errors import DataError
from tinycnn.idx import FILES


@pytest.mark.parametrize("gz", [False, True])
def test_any_size_and_class_count(tmp_path, gz):
    parts, _ = write_set(tmp_path, gz=gz)
    ds = load(tmp_path)
    assert ds.input_shape == (1, 5, 7)
    assert ds.classes == 3
    assert torch.equal(ds.train_x[:, 0], parts["train_images"].to(torch.uint8))
    pixels = parts["train_images"].float() / 255
    assert ds.mean == pytest.approx(pixels.mean().item())
    assert ds.std == pytest.approx(pixels.std().item())


def test_bundled_mnist_counts():
    ds = load()
    assert len(ds.train_x) == 60000 and len(ds.test_x) == 10000
    assert ds.input_shape == (1, 28, 28) and ds.classes == 10
    assert torch.bincount(ds.train_y).tolist() == [
        5923,
        6742,
        5958,
        6131,
        5842,
        5421,
        5918,
        6265,
        5851,
        5949,
    ]
    assert torch.bincount(ds.test_y).tolist() == [
        980,
        1135,
        1032,
        1010,
        982,
        892,
        958,
        1028,
        974,
        1009,
    ]
    assert 0.12 < ds.mean < 0.14  # the well-known 0.1307, here computed, not typed in
    assert (bundled_dir() / "SHA256SUMS").is_file()


def expect(msg_regex, d):
    with pytest.raises(DataError, match=msg_regex) as e:
        load(d)
    assert "\n" not in str(e.value)
    return str(e.value)


def test_missing_directory(tmp_path):
    expect("no such directory; pass --data-dir", tmp_path / "nowhere")


def test_missing_file(tmp_path):
    _, paths = write_set(tmp_path)
    paths["test_labels"].unlink()
    expect(r"t10k-labels-idx1-ubyte: missing \(looked for", tmp_path)


def test_wrong_magic(tmp_path):
    _, paths = write_set(tmp_path)
    paths["train_images"].write_bytes(b"\x12\x34\x56\x78" + b"\0" * 40)
    msg = expect("wrong magic number 0x12345678", tmp_path)
    assert "train-images-idx3-ubyte" in msg


def test_truncated_raw(tmp_path):
    _, paths = write_set(tmp_path)
    data = paths["train_images"].read_bytes()
    paths["train_images"].write_bytes(data[:-10])
    expect(re.escape("truncated: header promises 420 bytes"), tmp_path)


def test_truncated_gzip(tmp_path):
    _, paths = write_set(tmp_path, gz=True)
    data = paths["test_images"].read_bytes()
    paths["test_images"].write_bytes(data[: len(data) // 2])
    expect("t10k-images-idx3-ubyte.gz: not a readable gzip file", tmp_path)


def test_count_mismatch(tmp_path):
    write_set(tmp_path)
    (tmp_path / FILES["train_labels"]).write_bytes(idx_bytes(torch.zeros(11)))
    expect("train has 12 images but 11 labels", tmp_path)


def test_checksum_mismatch(tmp_path):
    _, paths = write_set(tmp_path)
    sums = "".join(
        f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}\n" for p in paths.values()
    )
    (tmp_path / "SHA256SUMS").write_text(sums)
    assert load(tmp_path).classes == 3  # loads (and caches) while intact
    raw = bytearray(paths["test_labels"].read_bytes())
    raw[-1] ^= 1
    paths["test_labels"].write_bytes(bytes(raw))
    expect("t10k-labels-idx1-ubyte: checksum mismatch", tmp_path)
