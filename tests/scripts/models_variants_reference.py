"""Writes tests/data/models_variants.json: transformers' logits for Llama-family configs whose RoPE is scaled
(yarn, llama3, linear, longrope), for tests/models_variants_test.ts.

No weights are stored: every tensor is filled by a formula both sides compute (weight_value below; the norms
are 1 + that), exactly representable in float64. transformers computes RoPE tables, RMSNorm and the eager
softmax in float32 even in a float64 model; this script keeps them in float64 (same formulas, float64
arithmetic) so the test can hold Tangent's float64 logits to 1e-9. Unpatched transformers differs from these
logits by ~2e-6 (float32 rounding) on these models.

Run from the repository root: python tests/scripts/models_variants_reference.py   (transformers 5.18, torch)
"""
import json
import torch
import torch.nn.functional as F
import transformers.modeling_rope_utils as rope_utils
from transformers import LlamaConfig, LlamaForCausalLM

BASE = dict(vocab_size=12, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
            head_dim=16, intermediate_size=8, max_position_embeddings=128, rms_norm_eps=1e-5,
            tie_word_embeddings=False, bos_token_id=None, eos_token_id=None, pad_token_id=None)
ROPES = {
    "yarn": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64, "rope_theta": 1000.0},
    "yarn_mscale_untruncated": {"rope_type": "yarn", "factor": 8.0, "original_max_position_embeddings": 64,
                                "rope_theta": 1000.0, "beta_fast": 16, "beta_slow": 2, "truncate": False,
                                "mscale": 1.0, "mscale_all_dim": 0.5},
    "llama3": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
               "original_max_position_embeddings": 32, "rope_theta": 1000.0},
    "linear": {"rope_type": "linear", "factor": 3.0, "rope_theta": 1000.0},
}
IDS = [[5, 3, 9, 1, 11, 2], [7, 7, 0, 10, 4, 6]]
# LongRoPE (Phi-3's): short_factor below original_max_position_embeddings, long_factor above it, chosen per
# forward call by its longest position (6 tokens > 4: long; 4 tokens: short); cos and sin times the attention
# factor at every length. One factor per frequency: head_dim / 2 = 8.
SHORT = [1.0, 1.02, 1.05, 1.1, 1.2, 1.35, 1.5, 1.7]
LONG = [1.0, 1.3, 1.8, 2.5, 4.0, 6.0, 9.0, 12.0]
LONGROPE = {"rope_type": "longrope", "short_factor": SHORT, "long_factor": LONG,
            "original_max_position_embeddings": 4, "rope_theta": 1000.0}
# name: (rope_parameters, other config.json fields, ids)
CASES = {name: (rope, {}, IDS) for name, rope in ROPES.items()}
CASES.update({
    "longrope": (LONGROPE, {}, IDS),  # factor = max_position_embeddings / 4 = 32 for the attention factor
    "longrope_short": (LONGROPE, {}, [row[:4] for row in IDS]),
    "longrope_factor": ({**LONGROPE, "factor": 2.0}, {}, IDS),
    "longrope_attention_factor": ({**LONGROPE, "attention_factor": 0.75}, {}, IDS),
    # a top-level original_max_position_embeddings (Phi-3's place for it) wins over rope_parameters' once the
    # model is built (transformers' standardize_rope_params): 6 tokens ≤ 8 run the short factors
    "longrope_toplevel_original": (LONGROPE, {"original_max_position_embeddings": 8}, IDS),
    "llama3_toplevel_original": (ROPES["llama3"], {"original_max_position_embeddings": 16}, IDS),
})


def weight_value(tensor_index: int, j: int) -> float:
    return ((((j + 1) * 7919 + (tensor_index + 1) * 104729) % 61) - 30) / 64


def fill(model):
    state = model.state_dict()
    names = sorted(n for n in state if not n.endswith("inv_freq"))
    with torch.no_grad():
        for k, n in enumerate(names):
            t = state[n]
            v = torch.tensor([weight_value(k, j) for j in range(t.numel())], dtype=torch.float64).reshape(t.shape)
            t.copy_(1 + v if "norm" in n else v)
    return [[n, list(state[n].shape)] for n in names]


def longrope_float64(model):
    """LongRoPE's two tables in float64 (transformers' formula; its `.float()` arange is float32 whatever
    torch.float says), checked against transformers' own at float32 precision."""
    rot, p = model.model.rotary_emb, model.config.rope_parameters
    orig, d, base = p["original_max_position_embeddings"], model.config.head_dim, p["rope_theta"]
    exps = torch.arange(0, d, 2, dtype=torch.float64) / d
    tables = {}
    for name, seq_len in (("short", None), ("long", orig + 1)):
        ext = torch.tensor(p[f"{name}_factor"], dtype=torch.float64)
        tables[name] = 1.0 / (ext * base ** exps)
        theirs, scale = rope_utils.ROPE_INIT_FUNCTIONS["longrope"](model.config, None, seq_len=seq_len)
        assert torch.allclose(tables[name], theirs.double(), rtol=1e-6, atol=0) and scale == rot.attention_scaling
    return tables, orig, rot.attention_scaling


def float64_everywhere(model):
    rot = model.model.rotary_emb
    if rot.rope_type == "longrope":
        tables, orig, scale = longrope_float64(model)

        def rope(x, position_ids, *a, **k):
            # transformers' longrope_frequency_update: long factors once the call's longest position passes orig
            inv = tables["long" if int(position_ids.max()) + 1 > orig else "short"]
            freqs = position_ids[..., None].double() * inv
            emb = torch.cat((freqs, freqs), dim=-1)
            return (emb.cos() * scale).to(x.dtype), (emb.sin() * scale).to(x.dtype)

        rot.forward = rope
        float64_norms(model)
        return
    f32 = torch.float
    # the rope init functions build their aranges with dtype=torch.float (YaRN's ramp with torch.float32)
    torch.float = torch.float32 = torch.float64
    try:
        inv, scale = rope_utils.ROPE_INIT_FUNCTIONS[rot.rope_type](model.config, None)
    finally:
        torch.float = torch.float32 = f32

    def rope(x, position_ids, *a, **k):
        freqs = position_ids[..., None].double() * inv.double()
        emb = torch.cat((freqs, freqs), dim=-1)
        return (emb.cos() * scale).to(x.dtype), (emb.sin() * scale).to(x.dtype)

    rot.forward = rope
    float64_norms(model)


def float64_norms(model):
    for mod in model.modules():
        if type(mod).__name__.endswith("RMSNorm"):
            mod.forward = lambda h, mod=mod: mod.weight * (
                h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + mod.variance_epsilon))


_softmax = F.softmax
F.softmax = lambda x, dim=None, dtype=None, **k: _softmax(
    x, dim=dim, dtype=torch.float64 if x.dtype == torch.float64 else dtype, **k)

out = {"ids": IDS, "base": {"model_type": "llama", **BASE}, "variants": {}}
for name, (rope, extra, ids) in CASES.items():
    # from_dict, as from_pretrained reads config.json (top-level fields become attributes)
    config = LlamaConfig.from_dict({**BASE, **extra, "rope_parameters": json.loads(json.dumps(rope))})
    model = LlamaForCausalLM(config).double().eval()
    out["names"] = fill(model)
    with torch.no_grad():
        unpatched = model(torch.tensor(ids)).logits
    float64_everywhere(model)
    with torch.no_grad():
        logits = model(torch.tensor(ids)).logits
    # the float64 tables and norms are transformers' own up to its float32 rounding
    assert (logits - unpatched).abs().max() < 1e-4, (name, (logits - unpatched).abs().max())
    entry = {"rope_parameters": rope}
    if extra:
        entry["config"] = extra
    if ids is not IDS:
        entry["ids"] = ids
    entry["logits"] = [float(f"{v:.10g}") for v in logits.flatten().tolist()]
    out["variants"][name] = entry
with open("tests/data/models_variants.json", "w") as f:
    json.dump(out, f, separators=(",", ":"))
    f.write("\n")
