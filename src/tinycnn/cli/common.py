"""Helpers shared by the sub-commands."""

from __future__ import annotations

import argparse

from ..defaults import MNIST_CLASSES, MNIST_INPUT


def input_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir", metavar="DIR", help="folder of IDX files (default: the bundled MNIST)"
    )


def shape_from_data(args: argparse.Namespace) -> tuple[tuple[int, int, int], int]:
    if args.data_dir is None:
        return MNIST_INPUT, MNIST_CLASSES  # bundled; avoids reading 11 MB just to print a table
    from ..data import load  # torch: only for a data folder

    ds = load(args.data_dir)
    return ds.input_shape, ds.classes
