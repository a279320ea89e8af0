"""A trained run as a classifier: its model, its statistics, its class names, and images made
the way its training images were (`preprocess`). Used by `tinycnn predict`, `tinycnn serve` and
`tinycnn export`.

    p = Predictor("runs/fast7806-…")
    p.classify([p.prepare(open_image("my7.png"))])   # [[("7", 0.98), ("1", 0.01), …]]
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..builder import TinyNet
from ..data import MNIST, standardize
from ..errors import DataError
from ..training import runs
from ..training.runs import RunDirError, load_model, read_run
from . import preprocess

FEATURE_BLOCK = ("conv", "bn", "relu")  # a conv's feature map: after its BN and ReLU


@dataclass(frozen=True)
class Guess:
    label: int
    name: str
    p: float


class Predictor:
    """The run's model after its last epoch (`checkpoint="best"` for best.pt), in fp32."""

    def __init__(self, run_dir: str | Path, checkpoint: str = "last"):
        run = read_run(run_dir)
        path = run.path / (runs.BEST if checkpoint == "best" else runs.LAST)
        if not path.is_file():
            raise RunDirError(
                f"{path}: missing, so there is no trained model to use (the run stopped before "
                f"its first epoch ended); train it first"
            )
        self.run, self.model = load_model(path)
        self.model.float().eval()
        self.table = self.run.table()  # a spec's, or the table your module's run traced
        data = run.config.get("data", {})
        self.shape = tuple(data.get("input_shape", (1, 28, 28)))
        self.mean, self.std = data["mean"], data["std"]
        self.data_name = data.get("name", MNIST)
        k = data.get("classes", self.table.classes)
        self.class_names = tuple(data.get("class_names") or [str(c) for c in range(k)])

    @property
    def mnist_style(self) -> bool:
        return self.data_name == MNIST

    def prepare(self, img: Any, name: str = "image") -> torch.Tensor:
        """A Pillow image → uint8 (C, H, W) as the training images were made."""
        if self.mnist_style:
            return preprocess.mnist_style(img, name)
        x = preprocess.fit(img, self.shape)
        if int(x.max()) - int(x.min()) < preprocess.INK:
            raise DataError(f"{name}: blank (one colour throughout); give a picture of something")
        return x

    @torch.no_grad()
    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        """uint8 (N, C, H, W) → (N, classes) softmax probabilities."""
        return self.model(standardize(x, self.mean, self.std)).softmax(1)

    def classify(self, images: list[torch.Tensor], top: int = 3) -> list[list[Guess]]:
        probs = self.probabilities(torch.stack(images))
        out = []
        for row in probs:
            p, idx = row.topk(min(top, len(row)))
            out.append(
                [
                    Guess(int(i), self.class_names[int(i)], float(v))
                    for v, i in zip(p, idx, strict=True)
                ]
            )
        return out

    @torch.no_grad()
    def features(self, x: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
        """Each conv layer's feature maps for one uint8 (C, H, W) image: (name, (ch, h, w)),
        taken after the conv's BN and ReLU (what the next layer sees)."""
        h = standardize(x.unsqueeze(0), self.mean, self.std)
        if not isinstance(self.model, TinyNet):
            return self._conv_outputs(h)
        out: list[tuple[str, torch.Tensor]] = []
        current: str | None = None
        for (name, module), row in zip(self.model.named_children(), self.table.rows, strict=True):
            h = module(h)
            if row.kind == "conv":
                current = name
                out.append((name, h[0]))
            elif current is not None and row.kind in FEATURE_BLOCK:
                out[-1] = (current, h[0])
            elif row.kind != "dropout":
                current = None
        return out

    def _conv_outputs(self, h: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
        """Your own module: each conv's output maps, caught by forward hooks (an exported
        network has no modules left to hook: no maps)."""
        out: list[tuple[str, torch.Tensor]] = []
        convs = [(n, m) for n, m in self.model.named_modules() if isinstance(m, nn.Conv2d)]
        hooks = [
            m.register_forward_hook(lambda mod, a, y, n=n: out.append((n, y[0]))) for n, m in convs
        ]
        try:
            self.model(h)
        finally:
            for hook in hooks:
                hook.remove()
        return out
