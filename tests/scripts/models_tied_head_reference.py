"""Writes tests/data/models_tied_head.json: PEFT 0.21's LoRA on c_attn and the tied lm_head of the tiny GPT-2
(../shared/fixtures/models/tiny_gpt2, whose lm_head is its token embedding wte), for
tests/models_tied_head_test.ts.

PEFT wraps the lm_head nn.Linear whose weight *is* wte's parameter: logits = h·wteᵀ + s·h·Aᵀ·Bᵀ, while the token
lookup wte[ids] is not adapted. Stored: the adapter's tensors under the names PEFT saves them (lora_B drawn
nonzero), the adapter_config.json PEFT writes, the names of adapter_model.safetensors (PEFT also saves
lm_head.base_layer.weight, wte's values, which the test takes from the model rather than this file), PEFT's
float64 logits of the adapted model (12 digits), and how far from them those of its merge_and_unload are: it adds
ΔW to the shared parameter and so changes the lookup too (another model: why Tangent refuses that merge).
Also a PiSSA LoRA on the tied head alone (saved without the head's base weight): PEFT's init writes the residual
into the shared parameter, so the lookup reads it too; its tensors, config and float32 logits (PEFT runs PiSSA's
SVD in float32 only).

Run from the repository root: python tests/scripts/models_tied_head_reference.py   (peft 0.21, transformers 5.18)
"""
import json
import tempfile
import warnings

import torch
from peft import LoraConfig, get_peft_model
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

MODEL = "../shared/fixtures/models/tiny_gpt2"
IDS = [[1, 5, 9, 3, 7, 2, 40, 63], [0, 62, 17, 17, 8, 31, 4, 50]]
warnings.simplefilter("ignore")

torch.manual_seed(0)
model = AutoModelForCausalLM.from_pretrained(MODEL).double().eval()
config = LoraConfig(r=2, lora_alpha=4, target_modules=["c_attn", "lm_head"], fan_in_fan_out=True, lora_dropout=0.0)
peft = get_peft_model(model, config).eval()
head = peft.base_model.model.lm_head
assert head.base_layer.weight is peft.base_model.model.transformer.wte.weight, "lm_head is tied to wte"
with torch.no_grad():
    for name, p in peft.named_parameters():
        if "lora_B" in name:
            p.copy_(torch.randn_like(p) * 0.5)
        if "lora_" in name:  # 10 significant digits, so the JSON holds the very values PEFT ran with
            p.copy_(torch.tensor([float(f"{v:.10g}") for v in p.flatten().tolist()], dtype=p.dtype).reshape(p.shape))
ids = torch.tensor(IDS)
with torch.no_grad():
    adapted = peft(ids).logits
with tempfile.TemporaryDirectory() as d:
    peft.save_pretrained(d)
    saved = load_file(f"{d}/adapter_model.safetensors")
    with open(f"{d}/adapter_config.json") as f:
        adapter_config = json.load(f)
wte = peft.base_model.model.transformer.wte.weight.detach()
assert torch.equal(saved["base_model.model.lm_head.base_layer.weight"], wte)
tensors = {k: {"shape": list(v.shape), "data": v.flatten().tolist()} for k, v in saved.items()
           if not k.endswith("base_layer.weight")}
with torch.no_grad():
    merged = peft.merge_and_unload()(ids).logits
out = {
    "ids": IDS,
    "adapter_config": adapter_config,
    "saved_names": sorted(saved),
    "tensors": tensors,
    "logits": [float(f"{v:.12g}") for v in adapted.flatten().tolist()],
    "merged_minus_adapted_max_abs": (merged - adapted).abs().max().item(),
}

# PiSSA on the tied head: PEFT's init writes the residual W − s·B₀A₀ into the shared parameter, so the token
# lookup reads the residual too (the model at init is not the base); saved without the head's base weight, so
# a reader rebuilds that residual from the base as PEFT does
torch.manual_seed(1)
model = AutoModelForCausalLM.from_pretrained(MODEL).eval()
with torch.no_grad():
    base_logits = model(ids).logits.clone()
config = LoraConfig(r=2, lora_alpha=4, target_modules=["lm_head"], init_lora_weights="pissa", lora_dropout=0.0)
peft = get_peft_model(model, config).eval()
with torch.no_grad():
    at_init = peft(ids).logits
    for name, p in peft.named_parameters():
        if "lora_B" in name:
            p.add_(torch.randn_like(p) * 0.3)
        if "lora_" in name:
            p.copy_(torch.tensor([float(f"{v:.10g}") for v in p.flatten().tolist()], dtype=p.dtype).reshape(p.shape))
    pissa = peft(ids).logits
with tempfile.TemporaryDirectory() as d:
    peft.save_pretrained(d, save_embedding_layers=False)
    saved = load_file(f"{d}/adapter_model.safetensors")
    with open(f"{d}/adapter_config.json") as f:
        pissa_config = json.load(f)
out["pissa"] = {
    "adapter_config": pissa_config,
    "tensors": {k: {"shape": list(v.shape), "data": v.flatten().tolist()} for k, v in saved.items()},
    "logits": [float(f"{v:.9g}") for v in pissa.flatten().tolist()],
    "init_minus_base_max_abs": (at_init - base_logits).abs().max().item(),
}
with open("tests/data/models_tied_head.json", "w") as f:
    json.dump(out, f, separators=(",", ":"))
    f.write("\n")
print("adapted logits max |.|", adapted.abs().max().item(), "merged − adapted", out["merged_minus_adapted_max_abs"])
