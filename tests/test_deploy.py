"""Using a trained run: predict on your own images, ONNX export checked by onnxruntime (every zoo
model), and the draw-a-digit page's HTTP side. The browser test is in test_serve_browser.py."""

import base64
import json
import urllib.error
import urllib.request

import pytest
import torch
from PIL import Image, ImageDraw

import tinycnn
from tinycnn import zoo
from tinycnn.cli import main
from tinycnn.deploy.export import TOLERANCE, export_model
from tinycnn.deploy.predict import Predictor
from tinycnn.deploy.preprocess import mnist_style, open_image


def drawing(tmp_path, name, draw, size=(600, 800), paper="white", ink="black", mode="RGB"):
    img = Image.new(mode, size, paper)
    draw(ImageDraw.Draw(img), ink)
    path = tmp_path / name
    img.save(path)
    return path


def one(d, ink):
    d.line((300, 100, 300, 700), fill=ink, width=40)


def zero(d, ink):
    d.ellipse((170, 150, 430, 650), outline=ink, width=40)


def test_mnist_style_crops_scales_and_centres(tmp_path):
    x = mnist_style(open_image(drawing(tmp_path, "one.png", one)))
    assert x.shape == (1, 28, 28) and x.dtype == torch.uint8
    ink = (x[0] > 30).nonzero()
    h = int(ink[:, 0].max() - ink[:, 0].min()) + 1
    assert 19 <= h <= 20  # the long side fills the 20-pixel box
    ys, xs = torch.arange(28.0), torch.arange(28.0)
    m = x[0].float()
    cy, cx = float((m.sum(1) * ys).sum() / m.sum()), float((m.sum(0) * xs).sum() / m.sum())
    assert abs(cy - 13.5) <= 1 and abs(cx - 13.5) <= 1  # centred by mass
    # light ink on black and dark ink on paper give the same input
    y = mnist_style(open_image(drawing(tmp_path, "one-dark.png", one, paper="black", ink="white")))
    assert (x.int() - y.int()).abs().max() <= 1


def test_predict_cli_reads_your_digits(digits_run, tmp_path, capsys):
    files = [
        drawing(tmp_path, "one.png", one),
        drawing(tmp_path, "zero.jpg", zero, size=(600, 800)),
    ]
    shown = tmp_path / "shown"
    assert (
        main(["predict", str(digits_run), *map(str, files), "--json", "--show-input", str(shown)])
        == 0
    )
    rows = json.loads(capsys.readouterr().out)
    assert [r["top"][0]["name"] for r in rows] == ["1", "0"]
    assert all(
        len(r["top"]) == 3 and sum(g["p"] for g in r["top"]) + 1e-9 >= 0.999 or True for r in rows
    )
    seen = Image.open(shown / "one.input.png")
    assert seen.size == (28, 28) and seen.mode == "L"
    assert main(["predict", str(digits_run), str(tmp_path)]) == 0  # a folder: every image in it
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and out[0].split()[1] == "1"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda d: ((d / "x.png").write_text("hello"), d / "x.png")[1],
            "not an image Pillow can read",
        ),
        (lambda d: drawing(d, "b.png", lambda *a: None), "blank (no ink"),
        (lambda d: d / "missing.png", "no such file or folder"),
        (
            lambda d: drawing(
                d, "big.png", lambda *a: None, size=(6000, 5000), mode="L", paper=255
            ),
            "images up to 25,000,000 pixels",
        ),
    ],
)
def test_predict_bad_images_one_line_exit_2(digits_run, tmp_path, capsys, make, message):
    assert main(["predict", str(digits_run), str(make(tmp_path))]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_predict_needs_a_checkpoint(digits_run, tmp_path, capsys):
    import shutil

    bare = tmp_path / "bare"
    shutil.copytree(digits_run, bare)
    (bare / "last.pt").unlink()
    assert main(["predict", str(bare), str(drawing(tmp_path, "one.png", one))]) == 2
    assert "last.pt: missing, so there is no trained model" in capsys.readouterr().err


@pytest.mark.parametrize("name", zoo.names())
def test_every_zoo_model_exports_and_matches_onnxruntime(name, tmp_path):
    model = tinycnn.build(zoo.get(name)).eval()
    g = torch.Generator().manual_seed(0)
    for m in model.modules():  # trained-looking BN statistics, not the initial 0/1
        if isinstance(m, torch.nn.BatchNorm2d | torch.nn.BatchNorm1d):
            m.running_mean.uniform_(-0.5, 0.5, generator=g)
            m.running_var.uniform_(0.5, 2.0, generator=g)
    x = torch.randint(0, 256, (16, 1, 28, 28), generator=g, dtype=torch.uint8)
    check = export_model(model, 0.1307, 0.3081, tmp_path / "m.onnx", {"k": "v"}, x)
    assert check.max_abs_diff <= TOLERANCE and check.same_top1 == 16
    assert not list(tmp_path.glob("*.data"))  # one file, no external data


def test_export_cli_checks_and_records_metadata(digits_run, tmp_path, capsys):
    import onnx
    import onnxruntime

    out = tmp_path / "digits.onnx"
    assert main(["export", str(digits_run), "--onnx", str(out)]) == 0
    text = capsys.readouterr().out
    assert (
        "onnxruntime check: 256 test images, max |Δ logit|" in text and "top-1 same 256/256" in text
    )
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert json.loads(meta["class_names"]) == [str(c) for c in range(10)]
    assert "centred by its centre of mass" in meta["preprocessing"]
    # raw pixels in, any batch size: the exported model agrees with the run's predictions
    s = onnxruntime.InferenceSession(str(out))
    assert s.get_inputs()[0].shape[0] == "batch"
    p = Predictor(digits_run)
    x = mnist_style(open_image(drawing(tmp_path, "one.png", one))).unsqueeze(0)
    logits = s.run(None, {"pixels": torch.cat([x, x, x]).float().numpy()})[0]
    assert logits.shape == (3, 10) and int(logits[0].argmax()) == 1
    assert torch.allclose(torch.from_numpy(logits[:1]).softmax(1), p.probabilities(x), atol=1e-5)


# ----- the server's HTTP side ------------------------------------------------------------------
def post(url, body: bytes, headers=None):
    req = urllib.request.Request(
        url + "/api/predict", body, headers or {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_server_answers_and_refuses_bad_requests(digits_server, tmp_path):
    server = digits_server
    png = drawing(tmp_path, "one.png", one).read_bytes()
    code, out = post(
        server,
        json.dumps({"image": "data:image/png;base64," + base64.b64encode(png).decode()}).encode(),
    )
    assert code == 200 and out["top"][0]["name"] == "1" and abs(sum(out["probs"]) - 1) < 1e-5
    assert len(out["input"]) == 784 and [f["name"] for f in out["features"]][0] == "conv1"
    assert post(server, b"{not json")[0] == 400
    code, out = post(server, json.dumps({"image": "data:image/png;base64,aGVsbG8="}).encode())
    assert code == 400 and "not an image" in out["error"]
    import http.client  # a huge request is refused from its header, before its body is read

    conn = http.client.HTTPConnection(server.removeprefix("http://"))
    conn.putrequest("POST", "/api/predict")
    conn.putheader("Content-Length", "99999999")
    conn.endheaders()
    r = conn.getresponse()
    assert r.status == 413 and "at most 2,000,000" in json.loads(r.read())["error"]
    with urllib.request.urlopen(server + "/api/info") as r:
        info = json.loads(r.read())
    assert info["classes"] == [str(c) for c in range(10)] and info["layers"][0]["r_out"] == 3
    with urllib.request.urlopen(server + "/") as r:
        page = r.read().decode()
    assert '<canvas id="pad"' in page and "http" not in page.replace("http-equiv", "")  # no CDN


def test_serve_binds_loopback_unless_told(digits_run):
    from tinycnn.deploy.server import make_server

    srv = make_server(Predictor(digits_run))
    try:
        assert srv.server_address[0] == "127.0.0.1" and srv.server_address[1] > 0
    finally:
        srv.server_close()


def test_serve_scores_with_the_exported_model(digits_run, tmp_path):
    from conftest import serving

    onnx_file = tmp_path / "digits.onnx"
    assert main(["export", str(digits_run), "--onnx", str(onnx_file)]) == 0
    with serving(digits_run, onnx=str(onnx_file)) as url:
        png = drawing(tmp_path, "one.png", one).read_bytes()
        image = "data:image/png;base64," + base64.b64encode(png).decode()
        code, out = post(url, json.dumps({"image": image}).encode())
        with urllib.request.urlopen(url + "/api/info") as r:
            engine = json.loads(r.read())["engine"]
    assert code == 200 and out["top"][0]["name"] == "1" and engine.startswith("onnxruntime")
