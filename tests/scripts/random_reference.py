"""Reference bits of JAX's partitionable Threefry layout for tests/core_random_partitionable_test.ts.

Run from the repository root: `python tests/scripts/random_reference.py` (jax 0.10.2, CPU). Writes
tests/data/random_partitionable.json (through a temporary name in the same folder). Keys, random
bits and float32 uniforms are stored as uint32 words (float32 values as their bit patterns); float64
uniforms (x64) as numbers, which JSON round-trips exactly.
"""
import json
import os

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)  # seeds of 2**32 and beyond, float64 uniforms
jax.config.update("jax_threefry_partitionable", True)
import jax.random as jr  # noqa: E402

SEEDS = [0, 42, 2**33 + 5]
SHAPES = [[], [1], [7], [3, 5]]
FOLDS = [0, 7, 2**31 + 3]


def words(k):
    return [int(v) for v in np.asarray(k, dtype=np.uint32).reshape(-1)]


def draws(k):
    out = {"bits": {}, "uniform32": {}, "uniform64": {}}
    for s in SHAPES:
        name = json.dumps(s, separators=(",", ":"))  # "[3,5]", as JSON.stringify writes it
        out["bits"][name] = words(jr.bits(k, tuple(s), dtype=np.uint32))
        u32 = np.asarray(jr.uniform(k, tuple(s), dtype=np.float32)).reshape(-1)
        out["uniform32"][name] = [int(v) for v in u32.view(np.uint32)]
        out["uniform64"][name] = [float(v) for v in np.asarray(jr.uniform(k, tuple(s), dtype=np.float64)).reshape(-1)]
    return out


cases = []
for seed in SEEDS:
    k = jr.PRNGKey(seed)
    splits = {str(n): [words(c) for c in jr.split(k, n)] for n in (1, 2, 5)}
    nested = [words(c) for c in jr.split(jr.split(k, 2)[1], 3)]
    folds = {str(d): words(jr.fold_in(k, d)) for d in FOLDS}
    per_key = [draws(c) for c in jr.split(k, 5)]
    cases.append({
        "seed": seed,
        "key": words(k),
        "split": splits,
        "nestedSplit": nested,  # split(split(k, 2)[1], 3)
        "foldIn": folds,
        "draws": draws(k),
        "splitDraws": per_key,  # draws(split(k, 5)[i])
    })

doc = {
    "about": "jax.random under jax_threefry_partitionable=True, jax_enable_x64=True; see tests/data/README.md",
    "jax": jax.__version__,
    "cases": cases,
}
path = os.path.join("tests", "data", "random_partitionable.json")
tmp = path + ".tmp"
with open(tmp, "w") as f:
    json.dump(doc, f, separators=(",", ":"))
    f.write("\n")
os.replace(tmp, path)
print("wrote", path, os.path.getsize(path), "bytes")
