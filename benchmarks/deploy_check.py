"""Evidence for README's "Using the trained network": train fast7806 briefly, export it to ONNX
(checked with onnxruntime), and read three drawn digits with `predict`'s preprocessing.

    python benchmarks/deploy_check.py     # ~30 s on 2 cores → benchmarks/results/deploy_check.json
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw

from tinycnn import train
from tinycnn.cli import run_script
from tinycnn.deploy.export import export_onnx
from tinycnn.deploy.predict import Predictor
from tinycnn.deploy.preprocess import open_image
from tinycnn.training import Recipe, Runtime, Target
from tinycnn.training.machine import machine

OUT = Path("benchmarks/results/deploy_check.json")
DRAWINGS = {  # dark ink on paper, as a photo of a drawing would be
    "one": lambda d: d.line((300, 100, 300, 700), fill="black", width=40),
    "zero": lambda d: d.ellipse((170, 150, 430, 650), outline="black", width=40),
    "seven": lambda d: (d.line((150, 150, 450, 150), fill="black", width=40),
                        d.line((450, 150, 250, 700), fill="black", width=40)),
}  # fmt: skip


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="tinycnn-deploy-"))
    recipe = Recipe(epochs=3, limit_train=30000)
    r = train("fast7806", recipe, Target(target=None), Runtime(out=str(tmp), report=False))
    check = export_onnx(r.run_dir, tmp / "digits.onnx")
    p = Predictor(r.run_dir)
    guesses = {}
    for name, draw in DRAWINGS.items():
        img = Image.new("RGB", (600, 800), "white")
        draw(ImageDraw.Draw(img))
        img.save(tmp / f"{name}.png")
        (top,) = p.classify([p.prepare(open_image(tmp / f"{name}.png"))])
        guesses[name] = [(g.name, round(g.p, 4)) for g in top]
    result = {
        "command": "python benchmarks/deploy_check.py",
        "machine": machine(),
        "recipe": "fast7806, Recipe(epochs=3, limit_train=30000), seed 1",
        "test_acc_last_epoch": r.metrics[-1]["test_acc"],
        "onnx_check": check.line(),
        "onnx_max_abs_diff": check.max_abs_diff,
        "onnx_same_top1": f"{check.same_top1}/{check.images}",
        "drawn_digits_top3": guesses,
    }
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    run_script(main)
