"""PyTorch side of the learnable-vs-PyTorch MLP benchmark (same workload as `bench_mlp`).

MLP 784-256-256-10, ReLU, float32, batch 128, AdamW(lr=1e-3), cross-entropy, random inputs
generated once (the data does not change the arithmetic), `torch.set_num_threads(THREADS)`.
Prints one JSON line: training steps/s, batch-1 latency (us), batch-1024 rows/s.
"""
import json
import os
import sys
import time

import torch

THREADS = int(os.environ.get("THREADS", "2"))
torch.set_num_threads(THREADS)
torch.manual_seed(0)

D_IN, H, D_OUT, BATCH = 784, 256, 10, 128
model = torch.nn.Sequential(
    torch.nn.Linear(D_IN, H), torch.nn.ReLU(), torch.nn.Linear(H, H), torch.nn.ReLU(), torch.nn.Linear(H, D_OUT)
)
opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
x = torch.rand(BATCH, D_IN)
y = torch.randint(0, D_OUT, (BATCH,))


def train_step():
    opt.zero_grad(set_to_none=False)
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss


def timed(fn, min_seconds=2.0, warmup=20):
    for _ in range(warmup):
        fn()
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        el = time.perf_counter() - t0
        if el >= min_seconds:
            return n / el


train_steps_per_s = timed(train_step)
model.eval()
x1 = torch.rand(1, D_IN)
x1024 = torch.rand(1024, D_IN)
with torch.inference_mode():
    lat_per_s = timed(lambda: model(x1))
    big_per_s = timed(lambda: model(x1024))
print(json.dumps({
    "tool": "pytorch",
    "version": torch.__version__,
    "threads": THREADS,
    "train_steps_per_s": train_steps_per_s,
    "batch1_latency_us": 1e6 / lat_per_s,
    "batch1024_rows_per_s": 1024 * big_per_s,
}))
