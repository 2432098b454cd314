"""PyTorch + PEFT peer of bench/webgpu_adapters_bench.ts: the same layer, data and training step for
every adapter PEFT has, float32 (TF32 off), on CUDA when available (else the CPU).

Reads the cases as JSON on stdin: {"dim", "tokens", "steps", "reps", "cases": [{"case", "peft"}],
"linalg": [{"case", "op", "shape"}]}, where "peft" is the adapter's own PEFT config (Tangent's
`adapter.peftConfig()`); cases whose peft_type PEFT does not know are skipped. The "linalg" cases time
torch.linalg on the same factorizations (cayley = solve(I + S, I - S)). Prints one JSON object per line: {"case", "ms", "min", "device"}: the
median and least milliseconds per step of (T(3n) - T(n)) / 2n, n = steps, each T ending with a
synchronisation (a step is forward, mean-squared error, backward, AdamW update, zero_grad). Run by
webgpu_adapters_bench.ts when python3 with torch and peft is installed; never a dependency of the
library or its tests.

    echo '{"dim": 256, ...}' | python3 bench/webgpu_adapters_peer.py
"""

import json
import statistics
import sys
import time

import torch
from peft import get_peft_config, get_peft_model
from peft.utils.peft_types import PeftType


class Layer(torch.nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.proj = torch.nn.Linear(dim, dim, bias=False)

    def forward(self, x):
        return self.proj(x)


def main():
    spec = json.load(sys.stdin)
    dim, tokens, steps, reps = spec["dim"], spec["tokens"], spec["steps"], spec.get("reps", 5)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    known = {t.value for t in PeftType}
    g = torch.Generator().manual_seed(0)
    x = torch.randn(tokens, dim, generator=g).to(device)
    target = torch.randn(tokens, dim, generator=g).to(device)
    for c in spec["cases"]:
        cfg = dict(c["peft"])
        if cfg.get("peft_type") not in known:
            continue
        cfg.pop("tangent", None)
        cfg["target_modules"] = ["proj"]
        torch.manual_seed(0)
        base = Layer(dim)
        with torch.no_grad():
            base.proj.weight.mul_(1 / dim**0.5)
        model = get_peft_model(base, get_peft_config(cfg)).to(device)
        opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3, weight_decay=0.01)

        def step():
            loss = torch.nn.functional.mse_loss(model(x), target)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)

        def run(n):
            t0 = time.perf_counter()
            for _ in range(n):
                step()
            if device == "cuda":
                torch.cuda.synchronize()
            return (time.perf_counter() - t0) * 1e3

        run(3)  # warm-up: kernels, allocator
        ests = []
        for _ in range(reps):
            t1 = run(steps)
            t3 = run(3 * steps)
            ests.append((t3 - t1) / (2 * steps))
        print(json.dumps({"case": c["case"], "ms": statistics.median(ests), "min": min(ests), "device": device}))
        sys.stdout.flush()
        del model, opt, base
        if device == "cuda":
            torch.cuda.empty_cache()
    linalg_cases(spec, device)


def linalg_input(op, shape, device):
    g = torch.Generator().manual_seed(5)
    a = torch.randn(*shape, generator=g).to(device)
    n = shape[-1]
    eye = torch.eye(n, device=device)
    if op == "cholesky":
        return a @ a.mT + n * eye
    if op == "eigh":
        return a + a.mT
    if op == "cayley":
        return 0.1 * (a - a.mT)
    if op == "solve":
        return a + n**0.5 * eye
    return a


def linalg_cases(spec, device):
    steps, reps = spec["steps"], spec.get("reps", 5)
    for c in spec.get("linalg", []):
        op, shape = c["op"], c["shape"]
        a = linalg_input(op, shape, device)
        n = shape[-1]
        b = torch.randn(n, 4, device=device)
        eye = torch.eye(n, device=device)
        run_op = {
            "cayley": lambda: torch.linalg.solve(eye + a, eye - a),
            "solve": lambda: torch.linalg.solve(a, b),
            "qr": lambda: torch.linalg.qr(a).Q,
            "svd": lambda: torch.linalg.svd(a, full_matrices=False).S,
            "cholesky": lambda: torch.linalg.cholesky(a),
            "eigh": lambda: torch.linalg.eigh(a).eigenvalues,
        }[op]
        k = max(1, steps // 10) if len(shape) == 2 and shape[0] == spec["dim"] and shape[1] == spec["dim"] else steps

        def run(m):
            t0 = time.perf_counter()
            for _ in range(m):
                run_op()
            if device == "cuda":
                torch.cuda.synchronize()
            return (time.perf_counter() - t0) * 1e3

        run(1)
        ests = []
        for _ in range(reps):
            t1 = run(k)
            t3 = run(3 * k)
            ests.append((t3 - t1) / (2 * k))
        print(json.dumps({"case": c["case"], "ms": statistics.median(ests), "min": min(ests), "device": device}))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
