"""`predict`, `export`, `serve`: using a trained run."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import DataError

UNSURE = 0.5  # a top answer below this probability is flagged: the image may not be a digit


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "predict",
        help="classify your own images with a trained run",
        description="Classify IMAGE files (or every image in a folder) with RUN's model, each "
        "made the way the training images were (MNIST: grey, light ink on black, cropped to "
        "the ink, scaled into 20×20, centred by mass in 28×28).",
    )
    p.add_argument("run", metavar="RUN", help="run directory")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files or folders")
    p.add_argument("--top", type=int, default=3, metavar="K", help="classes shown (default: 3)")
    p.add_argument("--json", action="store_true", help="machine-readable JSON")
    p.add_argument(
        "--show-input", metavar="DIR", help="write each image as the model saw it, into DIR"
    )
    p.add_argument("--best", action="store_true", help="best.pt instead of the last epoch's")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser(
        "export",
        help="export a trained run to ONNX (checked with onnxruntime)",
        description="Write RUN's model as one ONNX file: dynamic batch, input raw pixels "
        "0–255 (the normalisation is inside), class names and preprocessing in its metadata. "
        "onnxruntime is checked against torch on the first test images.",
    )
    p.add_argument("run", metavar="RUN", help="run directory")
    p.add_argument("--onnx", required=True, metavar="FILE", help="output .onnx file")
    p.add_argument("--best", action="store_true", help="best.pt instead of the last epoch's")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "serve",
        help="a local page: draw a digit, see the prediction and every layer's feature maps",
        description="Serve a page where you draw with mouse, finger or pen and see the "
        "prediction, the 28×28 image the model receives and each conv layer's feature maps "
        "with their receptive fields. Loopback only unless --host is given.",
    )
    p.add_argument("run", metavar="RUN", help="run directory")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    p.add_argument("--onnx", metavar="FILE", help="score with this exported model (onnxruntime)")
    p.set_defaults(func=cmd_serve)


def _files(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for s in paths:
        p = Path(s)
        if p.is_dir():
            from ..imagefolder import IMAGE_SUFFIXES  # torch: only when predicting

            found = sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise DataError(
                    f"{p}: no images in this folder ({', '.join(sorted(IMAGE_SUFFIXES))})"
                )
            out += found
        elif p.is_file():
            out.append(p)
        else:
            raise DataError(f"{p}: no such file or folder; give image files or a folder of them")
    return out


def cmd_predict(args: argparse.Namespace) -> int:
    from ..deploy.predict import Predictor
    from ..deploy.preprocess import open_image

    if args.top < 1:
        raise DataError(f"--top {args.top}: must be ≥ 1 (how many classes to show)")
    out = Path(args.show_input) if args.show_input else None
    if out is not None:  # refused before anything runs, where nothing can be written
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise DataError(f"--show-input {out}: cannot make that folder ({e.strerror}); "
                            f"give a folder you can write to") from None  # fmt: skip
    p = Predictor(args.run, "best" if args.best else "last")
    files = _files(args.images)
    xs = [p.prepare(open_image(f), str(f)) for f in files]  # every file checked before any output
    results = []
    for start in range(0, len(xs), 256):  # batched
        results += p.classify(xs[start : start + 256], args.top)
    if out is not None:
        from PIL import Image

        for f, x in zip(files, xs, strict=True):
            arr = x.permute(1, 2, 0).squeeze(2) if x.shape[0] == 1 else x.permute(1, 2, 0)
            target = out / f"{f.stem}.input.png"
            try:
                Image.fromarray(arr.contiguous().numpy()).save(target)
            except OSError as e:
                raise DataError(f"{target}: could not write ({e.strerror or e}); give a folder "
                                f"you can write to") from None  # fmt: skip
    if args.json:
        rows = [
            {"image": str(f), "top": [{"label": g.label, "name": g.name, "p": g.p} for g in gs],
             "unsure": gs[0].p < UNSURE}
            for f, gs in zip(files, results, strict=True)
        ]  # fmt: skip
        print(json.dumps(rows, indent=2))
        return 0
    width = max(len(str(f)) for f in files)
    for f, gs in zip(files, results, strict=True):
        guesses = "  ".join(f"{g.name} {100 * g.p:5.1f}%" for g in gs)
        flag = f"  (unsure: the top answer is below {UNSURE:.0%})" if gs[0].p < UNSURE else ""
        print(f"{str(f):<{width}}  {guesses}{flag}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from ..deploy.export import export_onnx

    check = export_onnx(args.run, args.onnx, "best" if args.best else "last")
    print(f"wrote {check.path}")
    print(check.line())
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from ..deploy.predict import Predictor
    from ..deploy.server import LOOPBACK, make_server

    p = Predictor(args.run)
    server = make_server(p, args.host, args.port, args.onnx)
    host, port = server.server_address[:2]
    if args.host != LOOPBACK:
        print(
            f"note: listening on {host}: other machines that reach it can use this page",
            file=sys.stderr,
        )
    shown = "localhost" if host == "0.0.0.0" else host
    print(f"serving {p.run.path.name} at http://{shown}:{port}/ (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0
