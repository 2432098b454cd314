#!/usr/bin/env bash
# Every GPU figure issues 9 and 13 still wait for, in one call on the device machine (H200), each
# bench beside PyTorch/PEFT where it has a peer, each under its own time limit so that one slow part
# cannot eat the others' time. Logs go to $OUT (the run tool brings them back).
#
#   run tool: command "bash bench/gpu_session.sh", carry [".gl", ".dev", ".denodir"], timeout_s 600
#   here (llvmpipe, small shapes, a check of the script itself): GPU_SESSION_QUICK=1 bash bench/gpu_session.sh
#
# Order is priority: issue 13's products and adapter steps first, then float16, issue 9's model
# steps, the ordering kernels. About 9 minutes at most in all.
set -uo pipefail
cd "$(dirname "$0")/.."
if command -v nvidia-smi >/dev/null 2>&1; then
  source bench/gpu_env.sh
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  deno=(deno run -A --cached-only)
else
  deno=(deno run -A)
fi
out=${OUT:-/tmp/gpu_session}
mkdir -p "$out"
quick=${GPU_SESSION_QUICK:-}
# step <name> <seconds> <command...>: runs it under timeout, its output in $out/<name>.log, the tail shown
step() {
  local name=$1 limit=$2
  shift 2
  echo "== $name (at most ${limit} s): $*"
  local t0=$SECONDS
  timeout --kill-after=5 "$limit" "$@" >"$out/$name.log" 2>&1
  local rc=$?
  echo "rc $rc after $((SECONDS - t0)) s" | tee -a "$out/$name.log"
  tail -n 40 "$out/$name.log" | grep -v '^rc '
}
if [ -n "$quick" ]; then
  step matmul 120 "${deno[@]}" bench/webgpu_library_matmul_bench.ts --sizes 128 --reps 2
  step adapters 300 "${deno[@]}" bench/webgpu_adapters_bench.ts --quick --only lora,hra
  step step_f32 120 "${deno[@]}" bench/webgpu_step_bench.ts --quick --only lora,matmul
  step step_f16 120 "${deno[@]}" bench/webgpu_step_bench.ts --quick --only lora,matmul --base float16
  step sorting 120 "${deno[@]}" bench/webgpu_sorting_bench.ts --rows 2 --n 1024 --reps 2
  exit 0
fi
step matmul 70 "${deno[@]}" bench/webgpu_library_matmul_bench.ts --sizes 4096,8192 --reps 5
step adapters 210 "${deno[@]}" bench/webgpu_adapters_bench.ts --steps 10 --reps 3
step step_f32 40 "${deno[@]}" bench/webgpu_step_bench.ts --only lora,matmul --steps 20
step step_f16 40 "${deno[@]}" bench/webgpu_step_bench.ts --only lora,matmul --steps 20 --base float16
step models 120 "${deno[@]}" bench/models_bench.ts --backend webgpu --cases gpt2_small,tiny_llama --rounds 1
step sorting 30 "${deno[@]}" bench/webgpu_sorting_bench.ts
