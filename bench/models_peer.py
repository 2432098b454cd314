"""PyTorch (+ PEFT) peer of bench/models_bench.ts: the same models, shapes and steps, float32 on the CPU
(or with --device cuda on a GPU, TF32 off, synchronising after each timed run).

Prints one JSON object per line: {"case", "what", "ms", "min", "tokens"}: the median and least milliseconds of a
forward pass ("forward", under torch.no_grad) or of a training step ("lora" / "full": forward,
cross-entropy on the next tokens, backward, optimizer update). Run by models_bench.ts when python and
torch are installed; never a dependency of the library or its tests.

    OMP_WAIT_POLICY=PASSIVE python3 bench/models_peer.py [--reps 10] [--threads 2] [--cases a,b]
"""

import argparse
import json
import os
import statistics
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from peft import LoraConfig, get_peft_model  # noqa: E402
from transformers import AutoModelForCausalLM, GPT2Config, GPT2LMHeadModel  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "..", "shared", "fixtures", "models")


DEVICE = "cpu"


def ids_for(vocab, batch, tokens, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, vocab, (batch, tokens + 1), generator=g).to(DEVICE)


def sync():
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def timed(fn, reps, warmup):
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), min(times)


def make_model(case):
    if case["source"] == "fixture":
        m = AutoModelForCausalLM.from_pretrained(os.path.join(FIXTURES, case["name"]), dtype=torch.float32)
    else:
        torch.manual_seed(0)
        m = GPT2LMHeadModel(GPT2Config(**case["config"]))
    return m.float().to(DEVICE).eval()


def step_fn(model, ids, mode, r, targets):
    x, y = ids[:, :-1], ids[:, 1:]
    if mode == "lora":
        cfg = LoraConfig(r=r, lora_alpha=2 * r, target_modules=targets, lora_dropout=0.0, bias="none")
        model = get_peft_model(model, cfg)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-3) if mode == "lora" else torch.optim.Adam(params, lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        logits = model(input_ids=x).logits
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        loss.backward()
        opt.step()

    return step


def forward_fn(model, ids):
    x = ids[:, :-1]

    def fwd():
        with torch.no_grad():
            model(input_ids=x)

    return fwd


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cases", default="")
    ap.add_argument("--spec", required=True, help="JSON list of cases (written by models_bench.ts)")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    a = ap.parse_args()
    global DEVICE
    DEVICE = a.device
    torch.set_num_threads(a.threads)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    cases = json.loads(a.spec)
    only = set(filter(None, a.cases.split(",")))
    for case in cases:
        if only and case["case"] not in only:
            continue
        vocab = case["vocab"]
        ids = ids_for(vocab, case["batch"], case["tokens"], 1)
        tokens = case["batch"] * case["tokens"]
        reps = case.get("reps", a.reps)
        for what in case["what"]:
            model = make_model(case)
            if what == "forward":
                fn = forward_fn(model, ids)
            else:
                model.train()
                fn = step_fn(model, ids, what, case.get("r", 8), case.get("targets", ["c_attn"]))
            ms, best = timed(fn, reps, case.get("warmup", 2))
            print(json.dumps({"case": case["case"], "what": what, "ms": ms, "min": best, "tokens": tokens}), flush=True)
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
