import os

import torch

# Small models: keep torch from oversubscribing CI's 2 cores (and keep runs deterministic).
torch.set_num_threads(int(os.environ.get("TINYCNN_TEST_THREADS", "1")))
