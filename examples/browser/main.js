// The page's program: trains LoRA, then HRA, on one frozen linear layer toward a target the
// library makes itself (the layer's weight turned by 8 random Householder reflections: a rank-8
// change both adapters can reach), on WebGPU where the browser has it, else on the CPU backend;
// plots each step's loss as it comes. `?steps=N` shortens the run (the headless test uses it).
// When it ends, `globalThis.tangentResult` holds the losses and the title says "done" (or "error").
import {
  adapters,
  getBackend,
  key,
  manifolds,
  matmul,
  mean,
  mul,
  normal,
  scope,
  split,
  square,
  sub,
  transpose,
  useBackend,
  valueAndGrad,
  webgpuAvailable,
} from "@tangent/tangent";

const D = 256, N = 512, R = 8;
const STEPS = Number(new URLSearchParams(location.search).get("steps")) || 200;
const RUNS = [
  { name: "LoRA", color: "#2563eb", adapter: adapters.lora({ r: R, alpha: 2 * R }), lr: 0.01 },
  { name: "HRA", color: "#d9480f", adapter: adapters.hra({ r: R }), lr: 0.01 },
];

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const status = (text) => ($("status").textContent = text);

/** Draws every run's losses so far on a log-scale plot. */
function plot(runs) {
  const svg = $("plot");
  const W = 880, H = 380, L = 70, Rm = 130, T = 18, B = 44;
  const all = runs.flatMap((r) => r.losses).filter((v) => v > 0);
  svg.replaceChildren();
  if (!all.length) return;
  const lo = Math.floor(Math.log10(Math.min(...all))), hi = Math.ceil(Math.log10(Math.max(...all)));
  const x = (i) => L + (i / Math.max(1, STEPS - 1)) * (W - L - Rm);
  const y = (v) => T + ((hi - Math.log10(v)) / Math.max(1, hi - lo)) * (H - T - B);
  const el = (name, attrs, text) => {
    const e = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    svg.append(e);
    return e;
  };
  for (let p = lo; p <= hi; p++) {
    el("line", { x1: L, x2: W - Rm, y1: y(10 ** p), y2: y(10 ** p), stroke: "#e3e7ef" });
    el("text", { x: L - 8, y: y(10 ** p) + 4, "text-anchor": "end", "font-size": 12, fill: "#556" }, `1e${p}`);
  }
  for (let s = 0; s <= STEPS; s += Math.max(1, Math.round(STEPS / 5 / 10) * 10)) {
    el(
      "text",
      { x: x(Math.min(s, STEPS - 1)), y: H - B + 18, "text-anchor": "middle", "font-size": 12, fill: "#556" },
      s,
    );
  }
  el("text", { x: (L + W - Rm) / 2, y: H - 8, "text-anchor": "middle", "font-size": 13, fill: "#334" }, "step");
  el("text", {
    x: 16,
    y: (T + H - B) / 2,
    "text-anchor": "middle",
    "font-size": 13,
    fill: "#334",
    transform: `rotate(-90 16 ${(T + H - B) / 2})`,
  }, "mean squared error");
  runs.forEach((r, k) => {
    if (!r.losses.length) return;
    const pts = r.losses.map((v, i) => `${x(i).toFixed(1)},${y(Math.max(v, 10 ** lo)).toFixed(1)}`).join(" ");
    el("polyline", { points: pts, fill: "none", stroke: r.color, "stroke-width": 2 });
    el("line", {
      x1: W - Rm + 16,
      x2: W - Rm + 40,
      y1: T + 14 + 22 * k,
      y2: T + 14 + 22 * k,
      stroke: r.color,
      "stroke-width": 3,
    });
    el("text", { x: W - Rm + 46, y: T + 18 + 22 * k, "font-size": 13, fill: "#223" }, `${r.name} r=${R}`);
  });
}

function table(runs) {
  $("stats").replaceChildren(
    ...runs.filter((r) => r.losses.length).map((r) => {
      const tr = document.createElement("tr");
      const cells = [
        r.name,
        r.trainable.toLocaleString("en"),
        r.losses.length,
        r.losses[0].toExponential(3),
        r.losses.at(-1).toExponential(3),
        r.msPerStep.toFixed(1),
      ];
      cells.forEach((c, i) => {
        const td = document.createElement("td");
        td.textContent = c;
        if (i > 0) td.className = "num";
        tr.append(td);
      });
      return tr;
    }),
  );
}

async function main() {
  status("looking for WebGPU…");
  if (await webgpuAvailable()) await useBackend("webgpu");
  const backend = getBackend().name;
  const [kw, kx, kt, ka] = split(key(0), 4);
  const weight = mul(normal(kw, [D, D]), 1 / Math.sqrt(D));
  const x = normal(kx, [N, D]);
  // the target: W turned by 8 random Householder reflections (HRA's merge with random vectors)
  const base = RUNS[1].adapter.init(kt, { weight });
  const target = RUNS[1].adapter.merge({ U: normal(split(kt)[1], base.params.U.shape) }, base.frozen);
  const y = matmul(x, transpose(target));
  const runs = RUNS.map((r) => ({ ...r, losses: [], trainable: 0, msPerStep: 0 }));
  const keys = split(ka, runs.length);
  for (const [k, run] of runs.entries()) {
    const { params: p0, frozen } = run.adapter.init(keys[k], { weight });
    run.trainable = run.adapter.trainableCount(p0);
    const loss = (p) => mean(square(sub(run.adapter.apply(p, frozen, x), y)));
    const opt = manifolds.adam({ lr: run.lr });
    let params = p0, state = opt.init(p0);
    const t0 = performance.now();
    for (let s = 0; s < STEPS; s++) {
      let value;
      // one training step; the previous step's parameters and optimizer state go back at once
      ({ params, state, value } = scope(() => {
        const [l, g] = valueAndGrad(loss)(params);
        return { ...opt.update(g, state, params), value: l };
      }, { release: { params, state } }));
      run.losses.push((await value.data())[0]);
      run.msPerStep = (performance.now() - t0) / (s + 1);
      status(`${backend}: training ${run.name}, step ${s + 1} of ${STEPS}, loss ${run.losses.at(-1).toExponential(3)}`);
      plot(runs);
      table(runs);
    }
  }
  status(
    `done on the ${backend} backend: ${
      runs.map((r) => `${r.name} ${r.losses[0].toExponential(2)} → ${r.losses.at(-1).toExponential(2)}`).join(", ")
    }`,
  );
  globalThis.tangentResult = {
    backend,
    steps: STEPS,
    runs: runs.map(({ name, losses, trainable, msPerStep }) => ({ name, losses, trainable, msPerStep })),
  };
  document.title = "done";
}

main().catch((e) => {
  console.error(e);
  status(`error: ${e?.message ?? e}`);
  globalThis.tangentResult = { error: String(e?.stack ?? e) };
  document.title = "error";
});
