/**
 * Transformer forward passes and training steps on the CPU, float32, beside PyTorch (+ PEFT) on the
 * same shapes (`bench/models_peer.py`, run in the same invocation when python3 with torch and peft is
 * installed; `--no-peer` skips it):
 *
 * - the tiny fixture models (`../shared/fixtures/models/tiny_gpt2`, `tiny_llama`): forward, and a
 *   LoRA r=8 step (GPT-2 `c_attn`, Llama `q_proj,v_proj`) with AdamW, batch 8 × 32 tokens;
 * - a GPT-2-small-shaped model (12 layers, width 768, 12 heads, vocab 50257, random weights):
 *   forward and a LoRA r=8 `c_attn` AdamW step at 1 × 128 tokens;
 * - the adapter study's tiny GPT-2 (width 64, 2 layers, 4 heads, vocab 24, batch 32 × 24): forward,
 *   full fine-tuning with Adam, and LoRA r=4 on `c_attn,c_proj,c_fc` with Adam.
 *
 * A step is forward, next-token cross-entropy, backward and the optimizer update, inside `scope`
 * (the previous step's parameters and state released). Figures are medians of timed runs after a
 * warm-up, in ms, with tokens/s = batch·tokens / time; the least time and its ratio are printed beside the median
 * (on a shared machine the least is the figure load disturbs least).
 *
 * - `deno run -A bench/models_bench.ts [--reps N] [--rounds 2] [--cases a,b] [--no-peer] [--threads 2]
 *   [--backend cpu|webgpu] [--jit]` (`--jit`: Tangent's forward and whole steps under `jit`; on WebGPU,
 *   GPT-2 small runs at 8 × 512 tokens and the peer on CUDA)
 *   prints the table (Tangent vs PyTorch, ratio = Tangent time / PyTorch time). Per case, rounds
 *   alternate the peer and Tangent; each figure is the lowest over the rounds;
 * - `deno bench -A bench/models_bench.ts` runs the fixture and study cases under `Deno.bench`.
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  adapters,
  adaptModel,
  createModel,
  initModel,
  jit,
  key,
  loadModel,
  manifolds,
  parseConfig,
  scope,
  slice,
  sum,
  type Tensor,
  tensor,
  useBackend,
  valueAndGrad,
} from "../mod.ts";
import { crossEntropy } from "../models/nn.ts";
import { commandLine } from "../examples/cli.ts";
import type { CausalLM } from "../models/model.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const FIXTURES = join(HERE, "..", "..", "shared", "fixtures", "models");

/** One benchmark case; the same object (JSON) tells the Python peer what to build. */
interface Case {
  case: string;
  source: "fixture" | "config";
  /** Fixture folder name, or the GPT-2 config (transformers' names). */
  name?: string;
  config?: Record<string, number>;
  vocab: number;
  batch: number;
  tokens: number;
  what: ("forward" | "lora" | "full")[];
  r?: number;
  targets?: string[];
  reps?: number;
  warmup?: number;
}

const noDropout = { resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0, bos_token_id: 0, eos_token_id: 0 };

const CASES: Case[] = [
  {
    case: "tiny_gpt2",
    source: "fixture",
    name: "tiny_gpt2",
    vocab: 64,
    batch: 8,
    tokens: 32,
    what: ["forward", "lora"],
    r: 8,
    targets: ["c_attn"],
    reps: 30,
    warmup: 10,
  },
  {
    case: "tiny_llama",
    source: "fixture",
    name: "tiny_llama",
    vocab: 64,
    batch: 8,
    tokens: 32,
    what: ["forward", "lora"],
    r: 8,
    targets: ["q_proj", "v_proj"],
    reps: 30,
    warmup: 10,
  },
  {
    case: "study",
    source: "config",
    config: { n_embd: 64, n_layer: 2, n_head: 4, vocab_size: 24, n_positions: 64, ...noDropout },
    vocab: 24,
    batch: 32,
    tokens: 24,
    what: ["forward", "full", "lora"],
    r: 4,
    targets: ["c_attn", "c_proj", "c_fc"],
    reps: 20,
    warmup: 5,
  },
  {
    case: "gpt2_small",
    source: "config",
    config: { n_embd: 768, n_layer: 12, n_head: 12, vocab_size: 50257, n_positions: 1024, ...noDropout },
    vocab: 50257,
    batch: 1,
    tokens: 128,
    what: ["forward", "lora"],
    r: 8,
    targets: ["c_attn"],
    reps: 5,
    warmup: 2,
  },
];

/** Token ids `[batch, tokens + 1]` (inputs and next-token labels), the same for every run. */
function tokenIds(c: Case): Tensor {
  const n = c.batch * (c.tokens + 1);
  const ids = new Int32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) | 0;
    ids[i] = (s >>> 8) % c.vocab;
  }
  return tensor(ids, { shape: [c.batch, c.tokens + 1], dtype: "int32" });
}

async function makeModel(c: Case, backend: "cpu" | "webgpu"): Promise<CausalLM> {
  if (c.source === "fixture") return await loadModel(join(FIXTURES, c.name!), { backend });
  const config = parseConfig({ model_type: "gpt2", ...c.config });
  return createModel(config, initModel(config, key(0)));
}

/**
 * A function running one forward pass or one training step. On the CPU it waits for the result;
 * on WebGPU it only encodes (`wait` reads the last result back, once per timed batch of steps).
 */
function runner(c: Case, model: CausalLM, what: "forward" | "lora" | "full", jitted = false): Runner {
  const ids = tokenIds(c);
  const x = slice(ids, [null, [0, c.tokens]]), y = slice(ids, [null, [1, c.tokens + 1]]);
  const cpu = x.backend.name === "cpu";
  let last: Tensor | undefined;
  const wait = async () => void (last && await last.data());
  if (what === "forward") {
    const forward = (p: unknown, xb: Tensor) => sum(model.apply(p as typeof model.params, xb));
    const fwd = jitted ? jit(forward) : forward;
    const step = () => {
      last = scope(() => fwd(model.params, x));
      if (cpu) last.dataSync();
    };
    return { step, wait };
  }
  // deno-lint-ignore no-explicit-any
  const m: CausalLM<any> = what === "full"
    ? createModel(model.config, scope(() => copyTree(model.params)))
    : adaptModel(model, { target: c.targets!.join(","), adapter: adapters.lora({ r: c.r!, alpha: 2 * c.r! }) });
  const opt = what === "full" || c.case === "study" ? manifolds.adam({ lr: 1e-3 }) : manifolds.adamw({ lr: 1e-3 });
  const loss = valueAndGrad((p: unknown, xb: Tensor, yb: Tensor) => crossEntropy(m.apply(p, xb), yb));
  let params = m.params, state = opt.init(params);
  // the whole step (loss, gradient, update); the tokens are arguments, so jit does not fold the frozen products
  const update = (p: typeof params, s: typeof state, xb: Tensor, yb: Tensor) => {
    const [l, g] = loss(p, xb, yb);
    return { ...opt.update(g, s, p), l };
  };
  const run = jitted ? jit(update) : update;
  const step = () => {
    ({ params, state, l: last } = scope(() => {
      const out = run(params, state, x, y);
      if (cpu) out.l.dataSync();
      return out;
    }, { release: { params, state } }));
  };
  return { step, wait };
}

/** One step, and a wait for the device to finish the steps run so far. */
interface Runner {
  step: () => void;
  wait: () => Promise<void>;
}

/** A copy of every tensor of a pytree (so releasing the copy leaves the original alone). */
function copyTree<T>(t: T): T {
  if (t && typeof t === "object" && "dataSync" in (t as object)) {
    const x = t as unknown as Tensor;
    return x.add(0) as unknown as T;
  }
  if (Array.isArray(t)) return t.map(copyTree) as unknown as T;
  if (t && typeof t === "object") {
    return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, copyTree(v)])) as T;
  }
  return t;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/**
 * Median and least milliseconds per step. On the CPU: `reps` timed steps after `warmup` untimed
 * ones. On WebGPU (steps only encode; a read waits ~11 ms): five samples of (T(3n) − T(n)) / 2n
 * with n = reps steps and one read each, so the read's fixed cost cancels.
 */
async function time(r: Runner, reps: number, warmup: number, cpu: boolean): Promise<[number, number]> {
  for (let i = 0; i < warmup; i++) r.step();
  await r.wait();
  const ts: number[] = [];
  if (cpu) {
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      r.step();
      ts.push(performance.now() - t0);
    }
    return [median(ts), Math.min(...ts)];
  }
  const run = async (n: number) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) r.step();
    await r.wait();
    return performance.now() - t0;
  };
  for (let s = 0; s < 5; s++) {
    const one = await run(reps), three = await run(3 * reps);
    ts.push((three - one) / (2 * reps));
  }
  return [median(ts), Math.min(...ts)];
}

interface Row {
  case: string;
  what: string;
  /** Median ms. */
  ms: number;
  /** Least ms. */
  min: number;
  tokens: number;
}

/** Runs the Python peer; rows it printed, or an explanation of why there are none. */
async function runPeer(
  cases: Case[],
  reps: number | undefined,
  threads: number,
  device: "cpu" | "cuda",
): Promise<Row[] | string> {
  const args = [
    join(HERE, "models_peer.py"),
    ...["--spec", JSON.stringify(cases), "--threads", String(threads), "--device", device],
  ];
  if (reps) args.push("--reps", String(reps));
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("python3", {
      args,
      env: { OMP_WAIT_POLICY: "PASSIVE", TRANSFORMERS_VERBOSITY: "error", PYTHONWARNINGS: "ignore" },
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (e) {
    return `python3 not runnable (${(e as Error).message})`;
  }
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join(" | ");
    return `the peer failed (${err})`;
  }
  return text.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l)).filter((r) => "ms" in r);
}

async function main(): Promise<void> {
  const values = commandLine(
    Deno.args,
    "deno run -A bench/models_bench.ts [options]",
    "Transformer forward passes and training steps (tiny fixtures, the study's GPT-2, a GPT-2-small shape)\n" +
      "beside PyTorch + PEFT on the same shapes, rounds alternating; prints a table of medians and ratios.",
    {
      cases: { type: "string", value: "<a,b>", help: "only these cases (tiny_gpt2, tiny_llama, study, gpt2_small)" },
      reps: { type: "string", value: "<n>", help: "timed runs per round (default: per case)" },
      rounds: { type: "string", value: "<n>", help: "rounds, each running the peer then Tangent", default: "2" },
      threads: { type: "string", value: "<n>", help: "PyTorch's threads", default: "2" },
      backend: {
        type: "string",
        value: "cpu|webgpu",
        help: "Tangent's backend (webgpu: the peer on CUDA)",
        default: "cpu",
      },
      jit: { type: "boolean", help: "Tangent's forward and whole steps under jit" },
      "no-peer": { type: "boolean", help: "skip PyTorch" },
    },
  );
  const backend = values.backend === "webgpu" ? "webgpu" : "cpu";
  if (backend === "webgpu") await useBackend("webgpu");
  const only = new Set(String(values.cases ?? "").split(",").filter(Boolean));
  const reps = values.reps ? Number(values.reps) : undefined;
  const rounds = Number(values.rounds);
  // on a GPU, GPT-2 small runs at issue 9's shape (8 × 512 tokens)
  const sized = backend === "webgpu"
    ? CASES.map((c) => (c.case === "gpt2_small" ? { ...c, batch: 8, tokens: 512, reps: 10, warmup: 3 } : c))
    : CASES;
  const cases = sized.filter((c) => !only.size || only.has(c.case)).map((c) => (reps ? { ...c, reps } : c));
  // per case, rounds alternate the peer and Tangent, so load from other work hits both alike;
  // each entry keeps its lowest median and lowest least over the rounds
  const rows: Row[] = [], peerRows: Row[] = [];
  let peerNote = values["no-peer"] ? "skipped (--no-peer)" : "";
  const keep = (list: Row[], r: Row) => {
    const old = list.find((q) => q.case === r.case && q.what === r.what);
    if (!old) list.push(r);
    else {
      old.ms = Math.min(old.ms, r.ms);
      old.min = Math.min(old.min, r.min);
    }
  };
  for (const c of cases) {
    const model = await makeModel(c, backend);
    const fns = c.what.map((what) => [what, runner(c, model, what, values.jit === true)] as const);
    for (let round = 0; round < rounds; round++) {
      if (!peerNote) {
        const got = await runPeer([c], reps, Number(values.threads), backend === "webgpu" ? "cuda" : "cpu");
        if (typeof got === "string") peerNote = got;
        else got.forEach((r) => keep(peerRows, r));
      }
      for (const [what, fn] of fns) {
        const [ms, min] = await time(fn, c.reps ?? 10, c.warmup ?? 3, backend === "cpu");
        keep(rows, { case: c.case, what, ms, min, tokens: c.batch * c.tokens });
        console.error(`round ${round + 1}: tangent ${c.case} ${what}: ${ms.toFixed(1)} ms (least ${min.toFixed(1)})`);
      }
    }
  }
  const peer = peerNote ||
    (backend === "cpu" ? `torch + peft, ${values.threads} threads` : "torch + peft on CUDA, float32, TF32 off");
  const shape = (c: string) => {
    const k = CASES.find((x) => x.case === c)!;
    return `${k.batch}×${k.tokens}`;
  };
  console.log(
    `${backend === "cpu" ? "CPU" : "WebGPU"} float32${
      values.jit ? ", Tangent's forward and steps under jit" : ""
    }, best of ${rounds} rounds: ` +
      `median ms (least in parentheses), tokens/s from the median, ` +
      `ratio of medians (of leasts); PyTorch: ${peer}`,
  );
  console.log(
    `| case | tokens | step | Tangent ms | Tangent tok/s | PyTorch ms | PyTorch tok/s | Tangent / PyTorch |\n` +
      `| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |`,
  );
  const f = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));
  for (const r of rows) {
    const p = peerRows.find((q) => q.case === r.case && q.what === r.what);
    const tps = (ms: number) => Math.round((r.tokens / ms) * 1000).toLocaleString("en-US");
    const cells = [
      r.case,
      shape(r.case),
      r.what,
      `${f(r.ms)} (${f(r.min)})`,
      tps(r.ms),
      p ? `${f(p.ms)} (${f(p.min)})` : "–",
      p ? tps(p.ms) : "–",
      p ? `${(r.ms / p.ms).toFixed(2)}× (${(r.min / p.min).toFixed(2)}×)` : "–",
    ];
    console.log(`| ${cells.join(" | ")} |`);
  }
}

if (import.meta.main) {
  await main();
} else {
  for (const c of CASES.filter((c) => c.case !== "gpt2_small")) {
    const model = await makeModel(c, "cpu");
    for (const what of c.what) {
      Deno.bench({ name: `${c.case} ${what}`, group: "models", n: 10, warmup: 3 }, runner(c, model, what).step);
    }
  }
}
