import os

import torch

# Small models: keep torch from oversubscribing CI's 2 cores (and keep runs deterministic).
torch.set_num_threads(int(os.environ.get("TINYCNN_TEST_THREADS", "1")))


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
