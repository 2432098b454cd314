// Drives examples/browser/ in headless Chromium and reports what the page did, as one JSON line on
// stdout: { title, result (the page's window.tangentResult), errors (console errors, uncaught
// exceptions, failed loads), webgpu (whether navigator.gpu gave an adapter) }; the exit status is 2
// when the page did not finish (its title is not "done" by --timeout seconds). Node only, no
// dependencies: a small HTTP server for the page and the bundle, and the DevTools protocol over
// --remote-debugging-pipe.
//
//   deno task build && node examples/browser/drive.mjs [--dist dist] [--steps 200]
//     [--screenshot examples/browser/screenshot.png] [--chromium /usr/bin/chromium] [--timeout 900]
//     [--no-webgpu (the CPU fallback)] [--verbose (the page's status line on stderr)]
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const { values: opts } = parseArgs({
  options: {
    dist: { type: "string", default: join(ROOT, "dist") },
    steps: { type: "string", default: "" },
    screenshot: { type: "string" },
    chromium: { type: "string", default: "/usr/bin/chromium" },
    // the full page (2 × 200 steps) takes about 6 minutes on SwiftShader's software WebGPU
    timeout: { type: "string", default: "900" },
    verbose: { type: "boolean", default: false },
    "no-webgpu": { type: "boolean", default: false },
  },
});

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".map": "application/json" };

/** Serves the repository at /, with /dist/ from --dist (so the page's import map finds the bundle). */
function serve() {
  const roots = [["/dist/", resolve(opts.dist)], ["/", ROOT]];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    const [prefix, dir] = roots.find(([p]) => path.startsWith(p));
    const file = normalize(join(dir, path.slice(prefix.length)));
    if (!file.startsWith(dir.endsWith(sep) ? dir : dir + sep)) return void res.writeHead(403).end();
    try {
      const body = readFileSync(file);
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server)));
}

/** A DevTools-protocol client over the pipe (fd 3 to the browser, fd 4 from it; messages end in NUL). */
function devtools(proc) {
  const pending = new Map();
  const handlers = [];
  let id = 0, buf = Buffer.alloc(0);
  proc.stdio[4].on("data", (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    for (let end; (end = buf.indexOf(0)) >= 0;) {
      const msg = JSON.parse(buf.subarray(0, end).toString("utf8"));
      buf = buf.subarray(end + 1);
      if (msg.id && pending.has(msg.id)) {
        const { ok, fail } = pending.get(msg.id);
        pending.delete(msg.id);
        if (msg.error) fail(new Error(`${msg.error.message} (${msg.error.code})`));
        else ok(msg.result);
      } else if (msg.method) { for (const h of handlers) h(msg); }
    }
  });
  return {
    send(method, params = {}, sessionId) {
      const msg = { id: ++id, method, params, ...(sessionId ? { sessionId } : {}) };
      proc.stdio[3].write(JSON.stringify(msg) + "\0");
      return new Promise((ok, fail) => pending.set(msg.id, { ok, fail }));
    },
    on(handler) {
      handlers.push(handler);
    },
  };
}

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

async function main() {
  const server = await serve();
  const profile = mkdtempSync(join(tmpdir(), "tangent-chromium-"));
  const proc = spawn(opts.chromium, [
    "--headless=new",
    "--no-sandbox",
    ...(opts["no-webgpu"] ? [] : ["--enable-unsafe-webgpu"]), // without it requestAdapter() gives null
    "--no-first-run",
    "--no-default-browser-check",
    "--hide-scrollbars",
    `--user-data-dir=${profile}`,
    "--remote-debugging-pipe",
    "about:blank",
  ], { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] });
  let stderr = "";
  proc.stderr.on("data", (d) => (stderr = (stderr + d).slice(-4000)));
  const exited = new Promise((ok) => proc.on("exit", ok));
  const cdp = devtools(proc);
  const errors = [];
  try {
    const { targetId } = await cdp.send("Target.createTarget", { url: "about:blank" });
    const { sessionId } = await cdp.send("Target.attachToTarget", { targetId, flatten: true });
    cdp.on((m) => {
      if (m.sessionId !== sessionId) return;
      if (m.method === "Runtime.consoleAPICalled" && (m.params.type === "error" || m.params.type === "assert")) {
        errors.push(`console.${m.params.type}: ${m.params.args.map((a) => a.value ?? a.description).join(" ")}`);
      } else if (m.method === "Runtime.exceptionThrown") {
        const d = m.params.exceptionDetails;
        errors.push(`uncaught: ${d.exception?.description ?? d.text}`);
      } else if (m.method === "Log.entryAdded" && m.params.entry.level === "error") {
        errors.push(`log: ${m.params.entry.text} ${m.params.entry.url ?? ""}`.trim());
      }
    });
    for (const domain of ["Runtime", "Log", "Page"]) await cdp.send(`${domain}.enable`, {}, sessionId);
    await cdp.send("Emulation.setDeviceMetricsOverride", {
      width: 1000,
      height: 700,
      deviceScaleFactor: 1,
      mobile: false,
    }, sessionId);
    const query = opts.steps ? `?steps=${opts.steps}` : "";
    const url = `http://127.0.0.1:${server.address().port}/examples/browser/index.html${query}`;
    await cdp.send("Page.navigate", { url }, sessionId);
    const evaluate = async (expression) =>
      (await cdp.send("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true }, sessionId)).result
        .value;
    const deadline = Date.now() + Number(opts.timeout) * 1000;
    let title = "", said = "";
    const t0 = Date.now();
    while (Date.now() < deadline) {
      title = await evaluate("document.title");
      if (opts.verbose) {
        const now = await evaluate(`document.getElementById("status")?.textContent ?? ""`);
        if (now !== said) console.error(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${said = now}`);
      }
      if (title === "done" || title === "error") break;
      await sleep(250);
    }
    const result = await evaluate("JSON.stringify(window.tangentResult ?? null)");
    const webgpu = await evaluate("(async () => !!(await navigator.gpu?.requestAdapter()))()");
    if (opts.screenshot) {
      const { data } = await cdp.send("Page.captureScreenshot", { format: "png" }, sessionId);
      writeFileSync(opts.screenshot, Buffer.from(data, "base64"));
    }
    console.log(JSON.stringify({ title, result: JSON.parse(result), errors, webgpu }));
    if (title !== "done") {
      console.error(`drive.mjs: the page did not finish within ${opts.timeout} s (title "${title}")`);
      process.exitCode = 2;
    }
    await cdp.send("Browser.close").catch(() => {});
  } catch (e) {
    console.log(JSON.stringify({ title: "driver-error", result: null, errors: [...errors, String(e)], stderr }));
    process.exitCode = 2;
    proc.kill();
  } finally {
    await Promise.race([exited, sleep(5000)]);
    proc.kill();
    server.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

await main();
