"""PyTorch / NumPy peer of bench/cpu_peers.ts: the same CPU work, timed the same way.

Reads a JSON list of jobs (--spec) and prints one JSON object per line per job: {"job", "ms", "min", ...}, the
median and least milliseconds over the reps after a warm-up. Jobs:

- {"job": "matmul", "m", "k", "n", "dtype"}: torch.matmul of random operands (GFLOP/s in "gflops");
- {"job": "mlp", "warmup"}: one SGD step of the 784→256→10 MLP, batch 128 (forward, cross-entropy, backward,
  update), after "warmup" untimed steps (default 10);
- {"job": "lora"}: one Adam step of PEFT LoRA r=8 (alpha 16) on a frozen 1024² nn.Linear with bias,
  512 tokens, mean-squared error against a fixed target;
- {"job": "svd" | "qr", "m", "n", "dtype"}: numpy.linalg.svd (thin) / numpy.linalg.qr (reduced) of a
  uniform(-1/2, 1/2) matrix, with the reconstruction error max|A - USV| / max|A| ("err").

torch runs on --threads threads (torch.set_num_threads), NumPy's OpenBLAS on OPENBLAS_NUM_THREADS (set by the
caller). Run by cpu_peers.ts when python3 with torch, peft and numpy is installed; never a dependency of the
library or its tests.

    OMP_WAIT_POLICY=PASSIVE python3 bench/cpu_peer.py --spec '[{"job": "mlp"}]' [--threads 2] [--reps 20]
"""

import argparse
import json
import os
import statistics
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402


def timed(fn, reps, warmup):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), min(times)


def matmul_job(job, reps):
    import torch

    dt = torch.float32 if job.get("dtype", "float32") == "float32" else torch.float64
    m, k, n = job["m"], job["k"], job["n"]
    g = torch.Generator().manual_seed(0)
    # stored as in Tangent's case: op(a) = aᵀ when "ta", op(b) = bᵀ when "tb"
    a = torch.randn(k, m, generator=g, dtype=dt).t() if job.get("ta") else torch.randn(m, k, generator=g, dtype=dt)
    b = torch.randn(n, k, generator=g, dtype=dt).t() if job.get("tb") else torch.randn(k, n, generator=g, dtype=dt)
    reps = max(reps, int(min(200, 4e9 / (2 * m * n * k) + 1)))
    ms, best = timed(lambda: torch.matmul(a, b), reps, 3)
    return {"ms": ms, "min": best, "gflops": 2 * m * n * k / (best * 1e6)}


def mlp_job(job, reps):
    import torch
    import torch.nn.functional as F

    torch.manual_seed(0)
    batch, din, hidden, classes = job.get("batch", 128), 784, 256, 10
    model = torch.nn.Sequential(torch.nn.Linear(din, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, classes))
    x = torch.randn(batch, din)
    y = torch.randint(0, classes, (batch,))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    ms, best = timed(step, reps, job.get("warmup", 10))
    return {"ms": ms, "min": best}


def lora_job(job, reps):
    import torch
    import torch.nn.functional as F
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(0)
    d, tokens, r = job.get("d", 1024), job.get("tokens", 512), job.get("r", 8)

    class Layer(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = torch.nn.Linear(d, d, bias=True)

        def forward(self, x):
            return self.proj(x)

    cfg = LoraConfig(r=r, lora_alpha=2 * r, target_modules=["proj"], lora_dropout=0.0, bias="none")
    model = get_peft_model(Layer(), cfg)
    x = torch.randn(tokens, d)
    target = torch.randn(tokens, d)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.mse_loss(model(x), target)
        loss.backward()
        opt.step()

    ms, best = timed(step, reps, 5)
    return {"ms": ms, "min": best}


def uniform(m, n, dtype, seed):
    rng = np.random.default_rng(seed)
    return (rng.random((m, n)) - 0.5).astype(dtype)


def svd_job(job, reps):
    a = uniform(job["m"], job["n"], job["dtype"], 3)
    ms, best = timed(lambda: np.linalg.svd(a, full_matrices=False), reps, 1)
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    err = np.abs((u * s) @ vh - a).max() / np.abs(a).max()
    return {"ms": ms, "min": best, "err": float(err)}


def qr_job(job, reps):
    a = uniform(job["m"], job["n"], job["dtype"], 2)
    ms, best = timed(lambda: np.linalg.qr(a), reps, 2)
    q, r = np.linalg.qr(a)
    err = np.abs(q @ r - a).max() / np.abs(a).max()
    return {"ms": ms, "min": best, "err": float(err)}


JOBS = {"matmul": matmul_job, "mlp": mlp_job, "lora": lora_job, "svd": svd_job, "qr": qr_job}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", required=True, help="JSON list of jobs (written by cpu_peers.ts)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=20)
    a = ap.parse_args()
    try:
        import torch

        torch.set_num_threads(a.threads)
        versions = {"torch": torch.__version__, "threads": torch.get_num_threads()}
    except ImportError:
        versions = {"torch": None}
    versions["numpy"] = np.__version__
    for job in json.loads(a.spec):
        reps = job.get("reps", a.reps)
        try:
            out = JOBS[job["job"]](job, reps)
        except ImportError as e:
            out = {"skipped": str(e)}
        print(json.dumps({**job, **out}), flush=True)
    print(json.dumps(versions), flush=True)


if __name__ == "__main__":
    sys.exit(main())
