"""Writes tests/data/models_variants.json: transformers' logits for Llama-family configs whose RoPE is scaled
(yarn, llama3, linear), for tests/models_variants_test.ts.

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


def float64_everywhere(model):
    rot = model.model.rotary_emb
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
    for mod in model.modules():
        if type(mod).__name__.endswith("RMSNorm"):
            mod.forward = lambda h, mod=mod: mod.weight * (
                h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + mod.variance_epsilon))


_softmax = F.softmax
F.softmax = lambda x, dim=None, dtype=None, **k: _softmax(
    x, dim=dim, dtype=torch.float64 if x.dtype == torch.float64 else dtype, **k)

out = {"ids": IDS, "base": {"model_type": "llama", **BASE}, "variants": {}}
for name, rope in ROPES.items():
    model = LlamaForCausalLM(LlamaConfig(**BASE, rope_parameters=dict(rope))).double().eval()
    out["names"] = fill(model)
    float64_everywhere(model)
    with torch.no_grad():
        logits = model(torch.tensor(IDS)).logits
    out["variants"][name] = {"rope_parameters": rope,
                             "logits": [float(f"{v:.10g}") for v in logits.flatten().tolist()]}
with open("tests/data/models_variants.json", "w") as f:
    json.dump(out, f, separators=(",", ":"))
    f.write("\n")
