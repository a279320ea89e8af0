"""The draw-a-digit page in a real browser: Playwright drives the system's Chromium (installed by
`.ci/run`; Playwright's own browser download cannot work offline). Strokes drawn with the mouse
on the canvas must be read as the digits they are, with probabilities that sum to 1, the 28×28
input and every conv layer's feature maps on the page. A screenshot is kept in test-artifacts/."""

import json
import os
import shutil
import urllib.request
from pathlib import Path

import pytest

ARTIFACTS = Path(os.environ.get("TINYCNN_ARTIFACTS", Path(__file__).parents[1] / "test-artifacts"))


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is missing: .ci/run installs it (apt-get install chromium)")
        pytest.skip("no system Chromium (apt-get install chromium)")
    return path


@pytest.fixture(scope="module")
def page(digits_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        page.missing = []  # every answer ≥ 400 the page got (a favicon 404 included)
        page.on("response", lambda r: r.status >= 400 and page.missing.append(r.url))
        page.goto(digits_server + "/")
        page.wait_for_selector("body[data-state=empty]")
        yield page
        browser.close()


def draw(page, points):
    """A stroke through points given in pad fractions (0–1), pressed from first to last."""
    box = page.locator("#pad").bounding_box()
    xy = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]
    page.mouse.move(*xy[0])
    page.mouse.down()
    for x, y in xy[1:]:
        page.mouse.move(x, y, steps=4)
    page.mouse.up()
    page.wait_for_function("window.tinycnnIdle()")  # the answer to the whole stroke is shown


def read(page) -> tuple[str, list[float]]:
    label = page.locator("#prediction").inner_text()
    probs = [float(b.get_attribute("data-p")) for b in page.locator(".bar").all()]
    return label, probs


def test_a_vertical_bar_is_a_one_and_a_loop_is_a_zero(page, digits_server):
    info = json.loads(urllib.request.urlopen(digits_server + "/api/info").read())
    draw(page, [(0.5, 0.15 + 0.07 * i) for i in range(11)])
    label, probs = read(page)
    assert label == "1" and len(probs) == 10 and abs(sum(probs) - 1) < 1e-4
    # each bar is drawn as wide as its probability (the fill within its track)
    for bar in page.locator(".bar").all():
        track = bar.locator(".track").bounding_box()
        fill = bar.locator(".fill").bounding_box()
        assert track["width"] > 50
        assert abs(fill["width"] / track["width"] - float(bar.get_attribute("data-p"))) < 0.01
    # the last layer's 1×1 maps are the logits: each is labelled with its class
    last = info["layers"][-1]
    if last["shape"][1:] == [1, 1] and last["shape"][0] == 10:
        labels = page.locator(".layer").last.locator(".fmap-label").all_inner_texts()
        assert labels == [str(c) for c in range(10)]
    assert page.missing == []  # no 404 (the favicon) nor any other error answer
    convs = [r for r in info["layers"] if r["kind"] == "conv"]
    assert page.locator("canvas.fmap").count() == sum(r["shape"][0] for r in convs)
    assert page.locator(".layer h3").first.inner_text().startswith("conv1")
    # the input view shows the 28×28 image: some of it lit
    lit = page.evaluate(
        "() => { const d = document.getElementById('input').getContext('2d')"
        ".getImageData(0, 0, 224, 224).data; let n = 0; for (let i = 0; i < d.length; i += 4)"
        " n += d[i] > 128; return n; }"
    )
    assert lit > 224 * 224 * 0.03
    # a feature map under the pointer draws its receptive field on the input
    page.locator("canvas.fmap").nth(0).hover()
    assert "sees 3×3 input pixels" in page.locator("#rfnote").inner_text()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "serve-one.png"), full_page=True)

    page.click("#clear")
    assert page.locator("#prediction").inner_text() == "–" and page.locator(".bar").count() == 0
    import math

    loop = [
        (0.5 + 0.22 * math.sin(t / 20 * 2 * math.pi), 0.5 - 0.32 * math.cos(t / 20 * 2 * math.pi))
        for t in range(22)
    ]
    draw(page, loop)
    label, probs = read(page)
    assert label == "0" and abs(sum(probs) - 1) < 1e-4
    page.screenshot(path=str(ARTIFACTS / "serve-zero.png"), full_page=True)


def test_save_downloads_the_drawing_as_png(page):
    with page.expect_download() as d:
        page.click("#save")
    download = d.value
    assert download.suggested_filename == "digit.png"
    assert Path(download.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
