"""`tinycnn serve`: a local page to draw a digit and watch the trained network read it.

The page (static files in `deploy/static`, no CDN: it works offline) sends the drawing as a PNG;
the server prepares it as the training images were made, and answers with the probabilities,
the image the model received, every conv layer's feature maps and the layer table (for the
receptive fields the page draws on the input). Standard-library HTTP, loopback by default.

    server = make_server(Predictor(run_dir))          # port 0: a free port
    threading.Thread(target=server.serve_forever).start()
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
import socket
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any

import torch

from ..errors import DataError
from .predict import Predictor
from .preprocess import open_image

MAX_REQUEST = 2_000_000  # bytes: a 280×280 drawing as PNG is ~10 kB
STATIC = {"/": ("index.html", "text/html"), "/app.js": ("app.js", "text/javascript"),
          "/style.css": ("style.css", "text/css")}  # fmt: skip
LOOPBACK = "127.0.0.1"


MAX_DEPTH = 8  # JSON nesting a request may have: the page sends {"image": "…"}, depth 1
TIMEOUT = 10  # seconds a client may take to send its request (a stalled one frees its thread)


class OnnxScorer:
    """Probabilities from the exported model through onnxruntime (features still from torch).
    A file that is not this run's model (another input size or class count) is refused."""

    def __init__(self, path: str, p: Predictor):
        import onnxruntime

        try:
            self.session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        except Exception as e:  # noqa: BLE001 - onnxruntime raises its own kinds for bad files
            why = str(e).splitlines()[0][:120] if str(e) else type(e).__name__
            raise DataError(f"{path}: not an ONNX model onnxruntime can load ({why}); make one "
                            f"with tinycnn export RUN --onnx FILE") from None  # fmt: skip
        got_in = list(self.session.get_inputs()[0].shape[1:])
        got_out = self.session.get_outputs()[0].shape[-1]
        want_in, want_out = list(p.shape), len(p.class_names)
        if got_in != want_in or got_out != want_out:
            raise DataError(
                f"{path}: takes {'×'.join(map(str, got_in))} images and gives {got_out} classes, "
                f"but run {p.run.path.name} has {'×'.join(map(str, want_in))} and {want_out}; "
                f"export this run: tinycnn export {p.run.path} --onnx FILE"
            )

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.session.run(None, {"pixels": x.float().numpy()})[0]
        return torch.from_numpy(logits).softmax(1)


def info(p: Predictor, onnx: str | None) -> dict[str, Any]:
    t = p.table
    rows = [
        {"name": r.name, "kind": r.kind, "shape": list(r.shape), "kernel": r.kernel,
         "stride": r.stride, "padding": r.padding, "j_in": r.j_in, "j_out": r.j_out,
         "r_out": r.r_out, "params": r.params}
        for r in t.rows
    ]  # fmt: skip
    return {
        "run": p.run.path.name,
        "model": p.run.model_name,
        "params": t.total_params,
        "data": p.data_name,
        "classes": list(p.class_names),
        "input_shape": list(p.shape),
        "layers": rows,
        "engine": f"onnxruntime ({onnx})" if onnx else "torch",
    }


def answer(p: Predictor, body: bytes, scorer: Any = None) -> dict[str, Any]:
    """The page's request {"image": "data:image/png;base64,…"} → what the page shows."""
    try:
        if _depth(body) > MAX_DEPTH:  # refused before the parser recurses into it
            raise ValueError
        data = json.loads(body)
        url = data["image"] if isinstance(data, dict) else None
        if not isinstance(url, str):
            raise ValueError
        head, b64 = url.split(",", 1)
        if not head.startswith("data:image/"):
            raise ValueError
        png = base64.b64decode(b64, validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError, RecursionError):
        raise DataError('send JSON {"image": "data:image/png;base64,…"}') from None
    x = p.prepare(open_image(png, "drawing"), "drawing")
    probs = (scorer or p.probabilities)(x.unsqueeze(0))[0]
    feats = []
    for name, maps in p.features(x):
        # each map to 0–255 on its own; 1×1 maps (after GAP) against each other instead
        dims = (1, 2) if maps.shape[1] * maps.shape[2] > 1 else (0, 1, 2)
        lo = maps.amin(dims, keepdim=True)
        span = (maps.amax(dims, keepdim=True) - lo).clamp(min=1e-6)
        scaled = (255 * (maps - lo) / span).round().byte()
        feats.append({"name": name, "shape": list(maps.shape), "maps": scaled.flatten().tolist()})
    top = probs.topk(min(3, len(probs)))
    return {
        "probs": [float(v) for v in probs],
        "top": [
            {"label": int(i), "name": p.class_names[int(i)], "p": float(v)}
            for v, i in zip(*top, strict=True)
        ],  # fmt: skip
        "input": x.flatten().tolist(),
        "features": feats,
    }


STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')  # JSON strings, escapes included


def _depth(body: bytes) -> int:
    """How deep the JSON's brackets nest, without parsing it (strings removed first, at C
    speed, so a 2 MB drawing costs one regex pass)."""
    depth = deepest = 0
    for ch in STRINGS.sub("", body.decode("utf-8", "replace")):
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def make_server(
    p: Predictor, host: str = LOOPBACK, port: int = 0, onnx: str | None = None
) -> ThreadingHTTPServer:
    scorer = OnnxScorer(onnx, p) if onnx else None
    about = json.dumps(info(p, onnx)).encode()
    static = resources.files("tinycnn") / "deploy" / "static"

    class Handler(BaseHTTPRequestHandler):
        timeout = TIMEOUT  # a client that stops sending frees its thread

        def log_message(self, fmt: str, *args: Any) -> None:  # quiet: the CLI says what matters
            pass

        def handle_one_request(self) -> None:
            """Every request gets an answer; nothing a client sends prints a traceback."""
            try:
                super().handle_one_request()
            except (ConnectionError, TimeoutError, OSError):
                self.close_connection = True  # the client went away: no one to answer
            except Exception as e:  # noqa: BLE001 - a bug must not print a client's traceback
                log_error(f"{type(e).__name__}: {str(e)[:200]}")
                with contextlib.suppress(OSError):  # the client may be gone as well
                    self._error(HTTPStatus.INTERNAL_SERVER_ERROR, "the server failed; see its log")
                self.close_connection = True

        def _send(self, code: int, body: bytes, kind: str = "application/json") -> None:
            self.send_response(code)
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _error(self, code: int, message: str) -> None:
            self._send(code, json.dumps({"error": message}).encode())

        def do_GET(self) -> None:  # noqa: N802
            path = self.path.split("?", 1)[0]
            if path == "/api/info":
                return self._send(HTTPStatus.OK, about)
            if path in STATIC:
                name, kind = STATIC[path]
                return self._send(HTTPStatus.OK, (static / name).read_bytes(), kind)
            self._error(HTTPStatus.NOT_FOUND, f"{path}: no such page; open /")

        def do_POST(self) -> None:  # noqa: N802
            if self.path != "/api/predict":
                return self._error(HTTPStatus.NOT_FOUND, f"{self.path}: POST to /api/predict")
            try:
                n = int(self.headers.get("Content-Length", ""))
            except ValueError:
                return self._error(HTTPStatus.LENGTH_REQUIRED, "send a Content-Length")
            if n < 0:  # rfile.read(-1) would read until the client stops: unbounded
                return self._error(HTTPStatus.BAD_REQUEST, f"Content-Length {n}: must be ≥ 0")
            if n > MAX_REQUEST:
                return self._error(
                    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                    f"request of {n:,} bytes; at most {MAX_REQUEST:,}",
                )
            body = self.rfile.read(n)
            if len(body) < n:  # the client closed before sending what it announced
                self.close_connection = True
                return None
            try:
                reply = answer(p, body, scorer)
            except DataError as e:
                return self._error(HTTPStatus.BAD_REQUEST, str(e))
            self._send(HTTPStatus.OK, json.dumps(reply).encode())

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: Any, client_address: Any) -> None:
            log_error(f"request from {client_address[0]} failed")  # one line, no traceback

    try:
        return Server((host, port), Handler)
    except OverflowError:
        raise DataError(f"--port {port}: use 0–65535 (0: a free one)") from None
    except socket.gaierror:
        raise DataError(f"--host {host}: not an address this machine can resolve; "
                        f"try {LOOPBACK}") from None  # fmt: skip
    except OSError as e:
        why = e.strerror or type(e).__name__
        raise DataError(f"{host}:{port}: cannot listen there ({why}); choose another --port "
                        f"(0: a free one)") from None  # fmt: skip


def log_error(line: str) -> None:
    print(f"tinycnn serve: {line}", file=sys.stderr, flush=True)
