"""PyTorch peer of bench/webgpu_library_matmul_bench.ts: float32 products (TF32 off) of the same
shapes and layouts on CUDA (else the CPU), timed as the bench times Tangent's: T(n) = n products then
one synchronisation; ms = median over reps of (T(3n) - T(n)) / 2n. Prints one JSON object per line:
{"case", "ms", "tflops", "device"}. Never a dependency of the library or its tests.

    python3 bench/cuda_matmul_peer.py --sizes 4096,8192 [--reps 5]
"""

import argparse
import json
import statistics
import time

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="4096,8192")
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.backends.cuda.matmul.allow_tf32 = False
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    for n in [int(s) for s in a.sizes.split(",")]:
        x = torch.rand(n, n, device=device) * 2 - 1
        w = torch.rand(n, n, device=device) * 2 - 1
        for layout, f in (("A·B", lambda: x @ w), ("A·Bᵀ", lambda: x @ w.T)):
            count = 10 if n <= 4096 else 4

            def run(m):
                sync()
                t0 = time.perf_counter()
                for _ in range(m):
                    f()
                sync()
                return time.perf_counter() - t0

            run(count)
            ests = [(run(3 * count) - run(count)) / (2 * count) * 1e3 for _ in range(a.reps)]
            ms = statistics.median(ests)
            print(json.dumps({"case": f"{layout} {n}", "ms": ms, "tflops": 2 * n**3 / ms / 1e9, "device": device}, ensure_ascii=False))


if __name__ == "__main__":
    main()
