"""The tutorial notebook, executed in a real Jupyter kernel as a user would run it: every cell
runs without error, figures show inline without `%matplotlib inline` (one picture per cell),
and tables, results and verdicts show as HTML, not dataclass text."""

import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).parents[1] / "examples" / "tutorial.ipynb"
FIGURES = ("plots.",)  # a cell whose last line draws
HTML = (
    "data\n",
    "spec\n",
    "tinycnn.summary(",
    "tinycnn.check(",
    "tinycnn.compare(",
    "tinycnn.spec_from_module(",
    "result\n",
    "result.verdict",
    "ev\n",
    "group\n",
)


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    work = tmp_path_factory.mktemp("tutorial")
    shutil.copy(NOTEBOOK, work / NOTEBOOK.name)
    nb = nbformat.read(work / NOTEBOOK.name, as_version=4)
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(work)}}
    ).execute()
    return nb, work


def test_committed_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


def _last_line(cell) -> str:
    return cell.source.strip().splitlines()[-1] + "\n"


def test_every_figure_cell_shows_one_picture(executed):
    nb, _ = executed
    cells = [c for c in nb.cells if c.cell_type == "code" and _last_line(c).startswith(FIGURES)]
    assert len(cells) >= 4
    for c in cells:
        pngs = [o for o in c.outputs if "image/png" in o.get("data", {})]
        assert len(pngs) == 1, (c.source, [o.get("data", {}).keys() for o in c.outputs])


def test_tables_and_results_show_as_html(executed):
    nb, _ = executed
    cells = [c for c in nb.cells if c.cell_type == "code" and _last_line(c).startswith(HTML)]
    assert len(cells) >= 8
    for c in cells:
        html = [o["data"]["text/html"] for o in c.outputs if "text/html" in o.get("data", {})]
        assert len(html) == 1 and ("<table" in html[0] or "<pre>" in html[0]), c.source
        text = next(o["data"]["text/plain"] for o in c.outputs if "text/plain" in o.get("data", {}))
        assert len(text) < 5000, c.source  # readable text, never every mistake as a dict


def test_training_keeps_a_line_per_epoch_and_writes_its_run(executed):
    nb, work = executed
    cell = next(c for c in nb.cells if "tinycnn.train(" in c.source)
    out = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    assert [ln.split()[1] for ln in out.splitlines() if ln.startswith("epoch")] == [
        "1/3",
        "2/3",
        "3/3",
    ]
    reports = sorted((work / "runs").glob("mine-*/report.md"))  # the run, then the 3 seeds
    assert len(reports) == 4 and "Misclassified" in reports[0].read_text()


def test_no_warning_block_without_ipywidgets(executed):
    """Without ipywidgets the epoch lines show and nothing else: no TqdmWarning about IProgress
    (tqdm.auto warns on import in a notebook; tinycnn does not import it there)."""
    nb, _ = executed
    text = "".join(
        o.get("text", "") + str(o.get("data", ""))
        for c in nb.cells if c.cell_type == "code" for o in c.outputs
    )  # fmt: skip
    assert "TqdmWarning" not in text and "IProgress" not in text
    assert "epoch 3/3  train loss" in text  # the kept lines are there


def test_your_own_module_section_runs(executed):
    nb, _ = executed
    cells = {_last_line(c): c for c in nb.cells if c.cell_type == "code"}
    summary = next(c for k, c in cells.items() if k.startswith("tinycnn.summary(Net()"))
    html = summary.outputs[0]["data"]["text/html"]
    assert "6,104" in html and "r in→out" in html  # the traced table with its RF columns
