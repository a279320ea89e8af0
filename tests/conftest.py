import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
import torch

# Small models: keep torch from oversubscribing CI's 2 cores (and keep runs deterministic).
THREADS = int(os.environ.get("TINYCNN_TEST_THREADS", "1"))
torch.set_num_threads(THREADS)


@pytest.fixture(autouse=True)
def _threads_stay_pinned():
    """A Trainer sets torch's thread count for its process (tests run in one): put it back."""
    yield
    torch.set_num_threads(THREADS)


def pytest_terminal_summary(terminalreporter):
    """Which CPU family this pass computed as (shown under -q too): `make test` runs the exact
    tests again with oneDNN held to an older instruction set and bf16 detection overridden."""
    from tinycnn.training.fast.speed import CPU_BF16_ENV, native_bf16

    bf16 = native_bf16(torch.device("cpu"))
    terminalreporter.write_line(
        f"tinycnn: bf16 auto → {'on' if bf16 else 'off'} ({CPU_BF16_ENV}="
        f"{os.environ.get(CPU_BF16_ENV, 'unset')}), oneDNN ISA cap "
        f"{os.environ.get('ONEDNN_MAX_CPU_ISA', 'none')}, {torch.get_num_threads()} threads"
    )


@pytest.fixture
def kernels():
    """kernels.c built for this machine: its tests fail under CI (`.ci/run` installs a C
    compiler) and skip elsewhere when it cannot be built, with the reason."""
    from tinycnn.training.fast import native

    why = native.available()
    if why is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)


@pytest.fixture(scope="session")
def postgres_url():
    """A throw-away PostgreSQL server in a temp dir on a free loopback port (the real server,
    not a stand-in). Without the server package the test fails under CI (`.ci/run` installs
    it) and skips elsewhere."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    if not bins:
        msg = "PostgreSQL server not installed (apt-get install -y postgresql)"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    pg = Path(bins[-1])
    data = Path(tempfile.mkdtemp(prefix="tinycnn-pg-"))
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_postgres:
        shutil.chown(data, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    def run(*args):
        subprocess.run([*as_postgres, *args], check=True, capture_output=True, timeout=120)

    run(str(pg / "initdb"), "-D", str(data / "db"), "-U", "postgres", "--auth=trust", "--no-sync")
    opts = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off"
    run(
        str(pg / "pg_ctl"),
        "-D",
        str(data / "db"),
        "-w",
        "-l",
        str(data / "log"),
        "-o",
        opts,
        "start",
    )
    try:
        run(str(pg / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "tinycnn")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/tinycnn"
    finally:
        run(str(pg / "pg_ctl"), "-D", str(data / "db"), "-m", "fast", "stop")
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="session")
def digits_run(tmp_path_factory):
    """A run that reads digits well enough for hand-drawn strokes (≈ 98 % in 2 short epochs)."""
    import tinycnn
    from tinycnn.training import Recipe, Runtime, Target

    out = tmp_path_factory.mktemp("deploy") / "runs"
    recipe = Recipe(epochs=2, limit_train=20000, limit_test=2000)
    rt = Runtime(out=str(out), report=False, threads=1)
    r = tinycnn.train("fast7806", recipe, Target(target=95.0, consistent=1), rt)
    assert r.verdict.passed, r.verdict.line()
    return r.run_dir


@contextlib.contextmanager
def serving(run_dir, onnx=None):
    """`tinycnn serve`'s server for a run, on a free loopback port, in a thread: yields its URL."""
    import threading

    from tinycnn.deploy.predict import Predictor
    from tinycnn.deploy.server import make_server

    srv = make_server(Predictor(run_dir), onnx=onnx)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.fixture(scope="module")
def digits_server(digits_run):
    with serving(digits_run) as url:
        yield url
