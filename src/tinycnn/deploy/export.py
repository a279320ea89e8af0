"""ONNX export of a trained run: one file, a dynamic batch, the normalisation inside the graph (so
the input is raw pixels, 0–255), the class names and the preprocessing in its metadata; checked
with onnxruntime against torch before it is called done.

    check = export_onnx("runs/fast7806-…", "digits.onnx")
    check.line()   # 'onnxruntime check: 256 test images, max |Δ logit| 2.4e-06 ≤ 1e-04, …'
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import warnings
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import torch
from torch import nn

from .. import files
from ..data import load
from ..errors import ConfigError, TinyCnnError
from .predict import Predictor

OPSET = 18
TOLERANCE = 1e-4  # max |logit difference| onnxruntime vs torch, both fp32
CHECK_IMAGES = 256
INPUT, OUTPUT = "pixels", "logits"


class RawPixels(nn.Module):
    """The model with its input statistics inside: float pixels 0–255 in, logits out."""

    def __init__(self, model: nn.Module, mean: float | list[float], std: float | list[float]):
        super().__init__()
        self.model = model
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.model((pixels / 255 - self.mean) / self.std)


@dataclass(frozen=True)
class OnnxCheck:
    path: Path
    images: int
    max_abs_diff: float
    same_top1: int
    opset: int = OPSET
    tolerance: float = TOLERANCE

    def line(self) -> str:
        return (
            f"onnxruntime check: {self.images} test images, max |Δ logit| "
            f"{self.max_abs_diff:.1e} ≤ {self.tolerance:.0e}, top-1 same {self.same_top1}/"
            f"{self.images} (opset {self.opset}, {self.path.stat().st_size:,} bytes)"
        )


def export_onnx(run_dir: str | Path, out: str | Path, checkpoint: str = "last") -> OnnxCheck:
    """Export a run's model and check it on its first test images."""
    p = Predictor(run_dir, checkpoint)
    data = load(p.run.config.get("data", {}).get("dir"))
    meta = {
        "tinycnn_version": version("tinycnn"),
        "run": p.run.path.name,
        "model": p.run.model_name,
        "data_set": p.data_name,
        "class_names": json.dumps(list(p.class_names)),
        "input": f"float32 N×{'×'.join(map(str, p.shape))} raw pixels 0–255 (normalised inside)",
        "preprocessing": (
            "MNIST style: grey, light ink on black, ink scaled into 20×20 keeping its aspect "
            "ratio, centred by its centre of mass in 28×28"
            if p.mnist_style
            else f"resized to {p.shape[1]}×{p.shape[2]}, {'grey' if p.shape[0] == 1 else 'RGB'}"
        ),
        "mean": json.dumps(p.mean),
        "std": json.dumps(p.std),
    }
    return export_model(p.model, p.mean, p.std, out, meta, data.test_x[:CHECK_IMAGES])


def export_model(
    model: nn.Module,
    mean: float | list[float],
    std: float | list[float],
    out: str | Path,
    meta: dict[str, str],
    check_x: torch.Tensor,
) -> OnnxCheck:
    """Any tinycnn model: export (atomically), then compare onnxruntime with torch on check_x
    (uint8 images); raise when they differ by more than TOLERANCE."""
    try:
        import onnx
        import onnxruntime
    except ImportError:
        raise ConfigError(
            "ONNX export needs the deploy extra: pip install -e '.[deploy]' (onnx, onnxscript, "
            "onnxruntime)"
        ) from None
    out = Path(out)
    net = RawPixels(model, mean, std).float().eval()
    x = torch.zeros(2, *check_x.shape[1:])
    quiet = logging.getLogger("torch.onnx")  # e.g. "torchvision is not installed. Skipping …"
    level, quiet.level = quiet.level, logging.ERROR
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's progress lines and deprecation notes
        program = torch.onnx.export(
            net,
            (x,),
            input_names=[INPUT],
            output_names=[OUTPUT],
            dynamic_shapes={"pixels": {0: torch.export.Dim("batch")}},
            opset_version=OPSET,
            dynamo=True,
        )
    quiet.setLevel(level)
    proto = program.model_proto
    for k, v in meta.items():
        proto.metadata_props.add(key=k, value=v)
    files.atomic_write_bytes(out, proto.SerializeToString())  # one file: no external data
    onnx.checker.check_model(str(out))
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        want = net(check_x.float())
    got = torch.from_numpy(session.run([OUTPUT], {INPUT: check_x.float().numpy()})[0])
    diff = float((got - want).abs().max())
    same = int((got.argmax(1) == want.argmax(1)).sum())
    check = OnnxCheck(out, len(check_x), diff, same)
    if diff > TOLERANCE:
        raise TinyCnnError(f"{out}: {check.line()}: onnxruntime differs from torch; report a bug")
    return check
