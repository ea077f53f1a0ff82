// StereoSpot web UI in a real browser: playwright-core drives Debian's headless chromium against
// a `stereospot serve` this script starts on 127.0.0.1 with a fresh data directory.
//
//   node run.mjs --binary <stereospot> --artifacts <dir> [--clip <video>]
//                [--config <toml> --cors-port <port> --cors-upstream <host:port>]
//
// With --config (a distributed backend whose S3 endpoint is http://127.0.0.1:<cors-port>), the
// server hands out signed URLs, and the run also checks that the page uploads to and plays from
// the store directly, never through the API server. The test store (s3rver behind the SigV4
// proxy, at <cors-upstream>) has no CORS; this script puts in front of it what a bucket's CORS
// rule does (docs/distributed.md): preflights answered, and Access-Control-Allow-Origin for the
// UI's origin only. Requests are forwarded unchanged, Host included, so signatures still hold.
//
// Scenarios: create a job from the dashboard and upload a clip from ../shared/media, watch the
// job page reach completed, play the result (playable, right duration), show the red-cyan
// preview, download it (layout suffix in the name, right size); cancel and retry from the job
// page; uploads of text files show clear errors; the jobs and operator pages; phone-sized
// screen and keyboard. A screenshot of each page goes to the artifacts folder.
//
// A missing chromium or node_modules fails the run with how to install it; nothing is skipped.
import { spawn, execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const CHROMIUM = "/usr/bin/chromium";

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

function fail(message) {
  console.error(`browser tests: FAILED: ${message}`);
  process.exit(1);
}

const binary = arg("binary");
const artifacts = path.resolve(arg("artifacts", path.join(here, "artifacts")));
const clip = path.resolve(arg("clip", path.join(here, "../../../shared/media/video/mdn_flower.mp4")));
const conversionTimeoutMs = Number(arg("timeout-ms", "420000"));
const config = arg("config");
const corsPort = arg("cors-port");
const corsUpstream = arg("cors-upstream");
if (Boolean(config) !== Boolean(corsPort) || Boolean(corsPort) !== Boolean(corsUpstream)) {
  fail("--config, --cors-port and --cors-upstream go together");
}
const store = corsPort ? `http://127.0.0.1:${corsPort}` : null;

if (!fs.existsSync(CHROMIUM)) {
  fail(`${CHROMIUM} is missing. Install Debian's chromium: 'sudo apt-get install chromium' (or run scripts/install-deps.sh). npx playwright install does not work here.`);
}
let chromium;
try {
  ({ chromium } = await import("playwright-core"));
} catch (e) {
  fail(`playwright-core is not installed in ${here}/node_modules. Run 'npm ci' in tests/browser (scripts/install-deps.sh does it). (${e.message})`);
}
if (!binary || !fs.existsSync(binary)) fail(`the stereospot binary '${binary}' does not exist; build it first (pass --binary)`);
if (!fs.existsSync(clip)) fail(`the test clip ${clip} is missing (../shared/media/video)`);
fs.mkdirSync(artifacts, { recursive: true });

function probeDuration(file) {
  try {
    return Number(execFileSync("ffprobe", ["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", file]).toString().trim());
  } catch (e) {
    fail(`ffprobe failed on ${file} (install ffmpeg: scripts/install-deps.sh): ${e.message}`);
  }
  return 0;
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

async function waitForHealth(base, server, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) fail(`stereospot serve exited with ${server.exitCode}; see ${artifacts}/server.log`);
    try {
      const res = await fetch(`${base}/healthz`);
      if (res.ok) return;
    } catch (e) {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  fail(`the server did not answer /healthz within ${ms} ms`);
}

// The CORS rule of a bucket that allows `origin` to GET, HEAD and PUT, in front of `upstream`.
function startCorsFront(port, upstream, origin) {
  const [upstreamHost, upstreamPort] = upstream.split(":");
  const front = http.createServer((req, res) => {
    const allowed = req.headers.origin === origin;
    const cors = allowed
      ? { "access-control-allow-origin": origin, "access-control-expose-headers": "ETag, Content-Length, Content-Range, Accept-Ranges", vary: "Origin" }
      : {};
    if (req.method === "OPTIONS") {
      const method = req.headers["access-control-request-method"] || "";
      if (!allowed || !["GET", "HEAD", "PUT"].includes(method)) {
        res.writeHead(403);
        return res.end();
      }
      res.writeHead(204, { ...cors, "access-control-allow-methods": "GET, HEAD, PUT", "access-control-allow-headers": req.headers["access-control-request-headers"] || "", "access-control-max-age": "600" });
      return res.end();
    }
    const forward = http.request({ host: upstreamHost, port: Number(upstreamPort), method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode, { ...up.headers, ...cors });
      up.pipe(res);
    });
    forward.on("error", (e) => {
      res.writeHead(502);
      res.end(String(e));
    });
    req.pipe(forward);
  });
  return new Promise((resolve, reject) => {
    front.on("error", reject);
    front.listen(Number(port), "127.0.0.1", () => resolve(front));
  });
}

const results = [];
async function scenario(name, body) {
  const started = Date.now();
  try {
    await body();
    results.push({ name, ok: true });
    console.log(`ok   ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  } catch (e) {
    results.push({ name, ok: false, error: e });
    console.log(`FAIL ${name}: ${e.stack || e}`);
  }
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

// ---------- start the server and the browser ----------

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "stereospot-browser-"));
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const log = fs.openSync(path.join(artifacts, "server.log"), "w");
const globalArgs = config ? ["--config", config] : [];
const corsFront = store ? await startCorsFront(corsPort, corsUpstream, base) : null;
const server = spawn(binary, [...globalArgs, "--data-dir", dataDir, "serve", "--listen", `127.0.0.1:${port}`], {
  stdio: ["ignore", log, log],
  env: { ...process.env, ASAN_OPTIONS: process.env.ASAN_OPTIONS || "detect_leaks=0" },
});
let browser = null;
let userDataDir = null;
const cleanup = async () => {
  if (browser) await browser.close().catch(() => {});
  if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
  if (server.exitCode === null) {
    server.kill("SIGTERM");
    await new Promise((r) => {
      const t = setTimeout(() => {
        server.kill("SIGKILL");
        r();
      }, 15000);
      server.on("exit", () => {
        clearTimeout(t);
        r();
      });
    });
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
  if (corsFront) corsFront.close();
};

try {
  await waitForHealth(base, server, 60000);
  // A fresh profile per run (playwright passes it to chromium as --user-data-dir).
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "stereospot-chromium-"));
  browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--autoplay-policy=no-user-gesture-required"],
    acceptDownloads: true,
    viewport: { width: 1200, height: 900 },
  });
  const context = browser;
  const page = await context.newPage();
  const consoleErrors = [];
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  const requests = [];
  page.on("request", (r) => requests.push(`${r.method()} ${r.url()}`));
  const failedRequests = [];
  page.on("requestfailed", (r) => failedRequests.push(`${r.method()} ${r.url()}: ${r.failure() && r.failure().errorText}`));
  const shot = (name) => page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });

  let jobId = null;
  const sourceDuration = probeDuration(clip);

  await scenario("dashboard: create a job and upload a clip with a progress bar", async () => {
    await page.goto(`${base}/`);
    await page.waitForSelector("#create-form");
    await shot("01-dashboard");
    await page.setInputFiles("#file", clip);
    await page.fill("#title", "Flower test");
    await page.selectOption("#layout", "sbs");
    await page.fill("#divergence", "2.5");
    await page.fill("#convergence", "0.4");
    await page.selectOption("#quality", "fast");
    await page.click("#create-button");
    // The job page, or the upload's error (reported instead of a bare timeout).
    await page.waitForFunction(() => /#\/jobs\/[0-9a-f-]{36}$/.test(location.href) || document.querySelector("#upload-status .error"), null, { timeout: 120000 });
    const uploadError = await page.$("#upload-status .error");
    check(!uploadError, `the upload failed: ${uploadError && (await uploadError.textContent())}; failed requests: ${failedRequests.join("; ")}`);
    jobId = page.url().split("/").pop();
    const job = await (await fetch(`${base}/api/v1/jobs/${jobId}`)).json();
    check(job.params.divergence === 2.5 && job.params.convergence === 0.4, `params not kept: ${JSON.stringify(job.params)}`);
    check(job.params.crf === 23 && job.params.preset === "veryfast", "quality preset not applied");
    check(job.source_bytes === fs.statSync(clip).size, "uploaded size differs from the clip");
    const viaApi = requests.filter((r) => /^(PUT|PATCH) .*\/api\/v1\/jobs\/[^/]+\/(source|upload)$/.test(r));
    const viaStore = requests.filter((r) => store && r.startsWith(`PUT ${store}/`));
    if (store) {
      check(viaStore.length === 1 && viaApi.length === 0, `direct upload expected; requests: ${requests.join(", ")}`);
    } else {
      check(viaApi.length === 1, `upload to the API expected; requests: ${requests.join(", ")}`);
    }
  });

  await scenario("job page: live progress reaches completed", async () => {
    check(jobId, "no job from the previous scenario");
    await page.waitForSelector("#job-status");
    await shot("02-job-in-progress");
    await page.waitForSelector('#job-status[data-status="completed"]', { timeout: conversionTimeoutMs });
    const segments = await page.textContent("#job-segments");
    check(/(\d+) of \1 done/.test(segments), `segments line: ${segments}`);
    check((await page.getAttribute("#job-progress", "value")) === "100", "progress bar not at 100");
  });

  await scenario("result: the video element plays the output with the right duration", async () => {
    await page.waitForSelector("#result-video", { timeout: 30000 });
    const info = await page.evaluate(async () => {
      const v = document.getElementById("result-video");
      v.muted = true;
      if (v.readyState < 1) await new Promise((r, j) => { v.onloadedmetadata = r; v.onerror = () => j(new Error(`video error ${v.error && v.error.code}`)); });
      await v.play();
      await new Promise((r) => setTimeout(r, 800));
      return { duration: v.duration, time: v.currentTime, width: v.videoWidth, height: v.videoHeight, error: v.error && v.error.code, readyState: v.readyState };
    });
    check(!info.error, `video error ${info.error}`);
    check(Math.abs(info.duration - sourceDuration) < 0.5, `duration ${info.duration} s, source ${sourceDuration} s`);
    check(info.time > 0, `playback did not advance (currentTime ${info.time})`);
    check(info.width > 0 && info.height > 0 && info.width / info.height > 2.5, `not a full side-by-side frame: ${info.width}x${info.height}`);
    if (store) check(requests.some((r) => r.startsWith(`GET ${store}/`)), `the player did not read from the store: ${requests.join(", ")}`);
    await shot("03-job-completed");
  });

  await scenario("result: red-cyan anaglyph preview is computed in the page", async () => {
    await page.click("#anaglyph-button");
    await page.waitForFunction(() => Number(document.getElementById("anaglyph-canvas").dataset.frames || 0) > 2, null, { timeout: 20000 });
    const colours = await page.evaluate(() => {
      const c = document.getElementById("anaglyph-canvas");
      const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      let nonBlack = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] > 30) nonBlack++;
      return { w: c.width, h: c.height, nonBlack };
    });
    check(colours.w > 0 && colours.nonBlack > colours.w * colours.h * 0.1, `anaglyph canvas empty: ${JSON.stringify(colours)}`);
    await shot("04-anaglyph-preview");
  });

  await scenario("result: download with the layout suffix in the file name", async () => {
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download-link")]);
    const name = download.suggestedFilename();
    check(name === "Flower_test_LRF_Full_SBS.mp4", `download name ${name}`);
    const saved = path.join(artifacts, name);
    await download.saveAs(saved);
    // GET, not HEAD: with direct transfers the output redirects to a URL signed for GET only.
    const output = await (await fetch(`${base}/api/v1/jobs/${jobId}/output`)).arrayBuffer();
    check(fs.statSync(saved).size === output.byteLength, "downloaded size differs");
    check(Math.abs(probeDuration(saved) - sourceDuration) < 0.5, "downloaded file has the wrong duration");
    fs.rmSync(saved);
  });

  await scenario("job page: cancel and retry", async () => {
    // A job that waits for its upload stays in progress however fast the workers are.
    const created = await (await fetch(`${base}/api/v1/jobs`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ title: "Cancel me", filename: "x.mp4" }) })).json();
    await page.goto(`${base}/#/jobs/${created.job_id}`);
    await page.waitForSelector("#cancel-button");
    await shot("05-job-waiting");
    await page.click("#cancel-button");
    await page.waitForSelector('#job-status[data-status="cancelled"]');
    await page.waitForSelector("#retry-button");
    await shot("06-job-cancelled");
    await page.focus("#retry-button");
    await page.keyboard.press("Enter"); // by keyboard
    await page.waitForSelector('#job-status[data-status="created"]');
    const job = await (await fetch(`${base}/api/v1/jobs/${created.job_id}`)).json();
    check(job.status === "created" && job.attempts === 1, `after retry: ${job.status}, attempts ${job.attempts}`);
  });

  await scenario("dashboard: uploading a text file shows a clear error", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stereospot-text-"));
    const txt = path.join(dir, "notes.txt");
    const fake = path.join(dir, "notes.mp4");
    fs.writeFileSync(txt, "This is a shopping list, not a video.\n");
    fs.writeFileSync(fake, "This is a shopping list named like a video.\n");
    await page.goto(`${base}/#/`);
    await page.waitForSelector("#create-form");
    await page.setInputFiles("#file", txt);
    await page.click("#create-button");
    const first = await (await page.waitForSelector("#upload-status .error")).textContent();
    check(/extension must be one of/.test(first), `error for notes.txt: ${first}`);
    await page.setInputFiles("#file", fake);
    await page.click("#create-button");
    await page.waitForFunction(() => /not a video/.test((document.querySelector("#upload-status .error") || {}).textContent || ""), null, { timeout: 30000 });
    const second = await page.textContent("#upload-status .error");
    check(/notes\.mp4 is not a video we can convert/.test(second), `error for notes.mp4: ${second}`);
    check(page.url().endsWith("#/"), "stayed on the dashboard");
    await shot("07-not-a-video");
    fs.rmSync(dir, { recursive: true, force: true });
  });

  await scenario("jobs page lists in progress, completed, failed and cancelled jobs", async () => {
    await page.goto(`${base}/#/jobs`);
    await page.waitForSelector("#jobs-completed");
    check(await page.isVisible(`#jobs-completed tr[data-job-id="${jobId}"]`), "the converted job is not under Completed");
    check((await page.textContent("#jobs-cancelled h2")).includes("("), "no cancelled section");
    await shot("08-jobs");
  });

  await scenario("operator page shows queue depths", async () => {
    await page.goto(`${base}/#/ops`);
    await page.waitForSelector("#queue-table");
    for (const q of ["chunking", "segments", "reassembly", "deletion"]) {
      check(await page.isVisible(`#queue-table tr[data-queue="${q}"]`), `queue ${q} missing`);
    }
    await shot("09-operator");
  });

  await scenario("phone-sized screen: no horizontal scrolling, form usable by keyboard", async () => {
    const phone = await context.newPage();
    await phone.setViewportSize({ width: 375, height: 740 });
    await phone.goto(`${base}/`);
    await phone.waitForSelector("#create-form");
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 1, `page is ${overflow}px wider than the screen`);
    // Tab from the top reaches the file input and the submit button.
    const reached = new Set();
    for (let i = 0; i < 30; i++) {
      await phone.keyboard.press("Tab");
      reached.add(await phone.evaluate(() => document.activeElement && (document.activeElement.id || document.activeElement.tagName)));
    }
    check(reached.has("file") && reached.has("create-button") && reached.has("layout"), `keyboard did not reach the form: ${[...reached].join(",")}`);
    await phone.screenshot({ path: path.join(artifacts, "10-phone-dashboard.png"), fullPage: true });
    await phone.goto(`${base}/#/jobs/${jobId}`);
    await phone.waitForSelector("#result-video");
    const jobOverflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(jobOverflow <= 1, `job page is ${jobOverflow}px wider than the screen`);
    await phone.screenshot({ path: path.join(artifacts, "11-phone-job.png"), fullPage: true });
    await phone.close();
  });

  await scenario("no script errors in the page", async () => {
    check(consoleErrors.length === 0, consoleErrors.join("\n"));
  });
} finally {
  await cleanup();
}

const failed = results.filter((r) => !r.ok);
console.log(`browser tests: ${results.length - failed.length} passed, ${failed.length} failed; screenshots in ${artifacts}`);
if (results.length === 0 || failed.length > 0) process.exit(1);
