"""PyTorch side of the GPT training benchmark: nanoGPT's model (model.py, same architecture as
learnable's models/gpt: learned positions, pre-LayerNorm, tanh GELU, tied head, biases) at its
CPU config for tiny Shakespeare (4 layers, 4 heads, 128 wide, context 64, batch 12), AdamW lr 1e-3
with weight decay 0.1 on matrices, gradient clipping 1.0, random windows of the character ids.
Prints one JSON line: tokens/s over STEPS steps after WARMUP steps.
Usage: THREADS=2 python bench/torch_gpt.py [STEPS]"""
import json, math, os, sys, time

import torch
import torch.nn as nn
import torch.nn.functional as F

threads = int(os.environ.get("THREADS", "2"))
torch.set_num_threads(threads)
torch.manual_seed(0)
STEPS = int(sys.argv[1]) if len(sys.argv) > 1 else 200
WARMUP = 20
L, H, C, T, B = 4, 4, 128, 64, 12

text = open(os.path.join(os.path.dirname(__file__), "..", "data", "tiny_shakespeare", "input.txt")).read()
chars = sorted(set(text))
V = len(chars)
stoi = {c: i for i, c in enumerate(chars)}
data = torch.tensor([stoi[c] for c in text], dtype=torch.long)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = nn.LayerNorm(C)
        self.c_attn = nn.Linear(C, 3 * C)
        self.c_proj = nn.Linear(C, C)
        self.ln_2 = nn.LayerNorm(C)
        self.c_fc = nn.Linear(C, 4 * C)
        self.mlp_proj = nn.Linear(4 * C, C)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (z.view(b, t, H, c // H).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.c_proj(y.transpose(1, 2).contiguous().view(b, t, c))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(V, C)
        self.wpe = nn.Embedding(T, C)
        self.h = nn.ModuleList([Block() for _ in range(L)])
        self.ln_f = nn.LayerNorm(C)

    def forward(self, idx, targets):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        for blk in self.h:
            x = blk(x)
        logits = self.ln_f(x) @ self.wte.weight.t()
        return F.cross_entropy(logits.view(-1, V), targets.view(-1))


model = GPT()
decay = [p for p in model.parameters() if p.dim() >= 2]
no_decay = [p for p in model.parameters() if p.dim() < 2]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}], lr=1e-3)
n_train = int(0.9 * len(data))


def batch():
    ix = torch.randint(n_train - T - 1, (B,))
    return torch.stack([data[i:i + T] for i in ix]), torch.stack([data[i + 1:i + T + 1] for i in ix])


def step():
    x, y = batch()
    loss = model(x, y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    return loss.item()


for _ in range(WARMUP):
    step()
t0 = time.perf_counter()
for _ in range(STEPS):
    loss = step()
dt = time.perf_counter() - t0
print(json.dumps({"tool": "pytorch", "version": torch.__version__, "threads": threads,
                  "tokens_per_s": STEPS * B * T / dt, "final_loss": loss}))
