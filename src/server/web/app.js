// StereoSpot web UI: a small single-page app over /api/v1 (docs/openapi.yaml).
// Pages by URL hash: #/ (new job), #/jobs, #/jobs/<id>, #/ops. Text from the server is always
// inserted as text (never as HTML), so job titles and error messages cannot inject markup.
"use strict";

const state = { session: null, events: null, timers: [], preview: null };

// ---------- small helpers ----------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (state.session && state.session.csrf_token) headers["X-CSRF-Token"] = state.session.csrf_token;
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  let data = null;
  try {
    data = await res.json();
  } catch (e) {
    data = null;
  }
  if (!res.ok) {
    if (res.status === 401 && state.session && state.session.auth_required) {
      location.href = "/login";
    }
    const err = (data && data.error) || {};
    throw new ApiError(res.status, err.code || "error", err.message || res.statusText);
  }
  return data;
}

function formatBytes(n) {
  if (!n) return "0 B";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

function formatSeconds(s) {
  if (s === null || s === undefined) return "unknown";
  s = Math.round(s);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

function statusBadge(job) {
  const label = (job.stage || job.status).replace(/_/g, " ");
  return h("span", { class: `badge ${job.status}` }, label);
}

function errorBox(message) {
  return h("p", { class: "error", role: "alert" }, message);
}

function setMain(title, ...content) {
  stopLiveUpdates();
  const main = document.getElementById("main");
  main.replaceChildren(h("h1", {}, title), ...content);
  document.title = `${title} - StereoSpot`;
}

function stopLiveUpdates() {
  if (state.events) state.events.close();
  state.events = null;
  for (const t of state.timers) clearInterval(t);
  state.timers = [];
  if (state.preview) state.preview.stop();
  state.preview = null;
}

// ---------- new job (dashboard) ----------

const PRESETS = {
  fast: { crf: 23, preset: "veryfast" },
  balanced: { crf: 20, preset: "medium" },
  best: { crf: 18, preset: "slow" },
};

function field(id, label, control, hint) {
  return h("div", {}, h("label", { for: id }, label, hint ? h("span", { class: "hint" }, ` ${hint}`) : null), control);
}

function select(id, options, value) {
  return h(
    "select",
    { id, name: id },
    options.map(([v, text]) => h("option", { value: v, selected: v === value }, text)),
  );
}

function renderDashboard() {
  const maxBytes = state.session ? state.session.max_upload_bytes : 0;
  const form = h(
    "form",
    { class: "card", id: "create-form", novalidate: true },
    h(
      "div",
      { class: "grid" },
      field("file", "Video file", h("input", { id: "file", name: "file", type: "file", accept: "video/*", required: true }),
        maxBytes ? `(up to ${formatBytes(maxBytes)})` : ""),
      field("title", "Title", h("input", { id: "title", name: "title", type: "text", maxlength: 200, placeholder: "from the file name" })),
      field("layout", "Layout", select("layout", [
        ["sbs", "Side-by-side, full (sbs)"],
        ["half-sbs", "Side-by-side, half (half-sbs)"],
        ["tb", "Top-bottom, full (tb)"],
        ["half-tb", "Top-bottom, half (half-tb)"],
        ["cross", "Cross-eyed (cross)"],
        ["anaglyph", "Red-cyan anaglyph"],
        ["rgbd", "Colour + depth (rgbd)"],
      ], "sbs")),
      field("divergence", "Divergence", h("input", { id: "divergence", name: "divergence", type: "number", min: 0.1, max: 10, step: 0.1, value: 2.0, required: true }), "% of width, 0.1-10"),
      field("convergence", "Convergence", h("input", { id: "convergence", name: "convergence", type: "number", min: 0, max: 1, step: 0.05, value: 0.5, required: true }), "0 = all in front, 1 = all behind"),
      field("depth", "Depth backend", select("depth", [["builtin", "Built-in (fast, CPU)"], ["onnx", "ONNX model..."]], "builtin")),
      field("model", "ONNX model path", h("input", { id: "model", name: "model", type: "text", placeholder: "/models/depth.onnx", disabled: true })),
      field("quality", "Quality preset", select("quality", [["fast", "Fast (crf 23)"], ["balanced", "Balanced (crf 20)"], ["best", "Best (crf 18, slow)"]], "balanced")),
    ),
    h("div", { class: "actions" }, h("button", { type: "submit", id: "create-button" }, "Create job and upload")),
    h("div", { id: "upload-status", "aria-live": "polite" }),
  );
  form.querySelector("#depth").addEventListener("change", (e) => {
    form.querySelector("#model").disabled = e.target.value !== "onnx";
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    createAndUpload(form);
  });
  setMain("New 3D conversion", form, h("p", { class: "muted" }, "Jobs and their progress are on the ", h("a", { href: "#/jobs" }, "jobs page"), "."));
}

function collectParams(form) {
  const value = (name) => form.querySelector(`#${name}`).value;
  const divergence = Number(value("divergence"));
  const convergence = Number(value("convergence"));
  if (!Number.isFinite(divergence) || divergence <= 0 || divergence > 10) {
    throw new Error("Divergence must be a number above 0 and at most 10.");
  }
  if (!Number.isFinite(convergence) || convergence < 0 || convergence > 1) {
    throw new Error("Convergence must be a number from 0 to 1.");
  }
  let depth = "builtin";
  if (value("depth") === "onnx") {
    if (!value("model").trim()) throw new Error("Give the path of the ONNX model on the server.");
    depth = `onnx:${value("model").trim()}`;
  }
  const preset = PRESETS[value("quality")] || PRESETS.balanced;
  return { layout: value("layout"), divergence, convergence, depth, crf: preset.crf, preset: preset.preset };
}

// PUT the file to `url` with progress; resolves with the parsed JSON answer (or null), rejects
// with an ApiError. `toApi`: the URL is this server's (send the CSRF token), not the store's.
function putFile(url, file, toApi, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", url);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    if (toApi && state.session && state.session.csrf_token) xhr.setRequestHeader("X-CSRF-Token", state.session.csrf_token);
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) onProgress(e.loaded, e.total);
    });
    xhr.addEventListener("load", () => {
      let data = null;
      try {
        data = JSON.parse(xhr.responseText);
      } catch (e) {
        data = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else {
        const err = (data && data.error) || {};
        reject(new ApiError(xhr.status, err.code || "error", err.message || `upload failed (HTTP ${xhr.status})`));
      }
    });
    xhr.addEventListener("error", () =>
      reject(new ApiError(0, "network", toApi ? "The upload was interrupted (network error)." : "The upload to the object store failed (network error, or the bucket does not allow this site by CORS).")),
    );
    xhr.send(file);
  });
}

// S3 takes at most 5 GiB in one PUT; larger files go through the server, which stores them with
// multipart uploads.
const MAX_SINGLE_PUT_BYTES = 5 * 1024 ** 3;

// Uploads the job's source: straight to the object store through a signed URL when the server
// offers one (its bytes never pass through the API server), else to the server itself.
async function uploadFile(job, file, onProgress) {
  if (!job.upload.direct_url || file.size > MAX_SINGLE_PUT_BYTES) return putFile(job.upload.url, file, true, onProgress);
  const signed = await api("POST", job.upload.direct_url);
  await putFile(signed.url, file, false, onProgress);
  return api("POST", signed.complete_url);
}

async function createAndUpload(form) {
  const status = form.querySelector("#upload-status");
  const button = form.querySelector("#create-button");
  const file = form.querySelector("#file").files[0];
  status.replaceChildren();
  if (!file) {
    status.append(errorBox("Choose a video file to convert."));
    form.querySelector("#file").focus();
    return;
  }
  const maxBytes = state.session ? state.session.max_upload_bytes : 0;
  if (maxBytes && file.size > maxBytes) {
    status.append(errorBox(`${file.name} is ${formatBytes(file.size)}; the limit is ${formatBytes(maxBytes)}.`));
    return;
  }
  let params;
  try {
    params = collectParams(form);
  } catch (e) {
    status.append(errorBox(e.message));
    return;
  }
  button.disabled = true;
  let job = null;
  try {
    job = await api("POST", "/api/v1/jobs", { title: form.querySelector("#title").value.trim(), filename: file.name, params });
    const bar = h("progress", { id: "upload-progress", max: 100, value: 0, "aria-label": "Upload progress" });
    const text = h("span", { id: "upload-text" }, `Uploading ${file.name}...`);
    status.replaceChildren(h("p", {}, text), bar);
    await uploadFile(job, file, (loaded, total) => {
      bar.value = Math.round((100 * loaded) / total);
      text.textContent = `Uploading ${file.name}: ${formatBytes(loaded)} of ${formatBytes(total)}`;
    });
    text.textContent = "Uploaded. Conversion is starting...";
    location.hash = `#/jobs/${job.job_id}`;
  } catch (e) {
    let message = e.message;
    if (e.code === "not_a_video") message = `${file.name} is not a video we can convert: ${e.message.replace(/^not a video: /, "")}`;
    status.replaceChildren(errorBox(message));
    // A job whose upload was refused would wait forever; cancel it so it does not linger.
    if (job) api("POST", `/api/v1/jobs/${job.job_id}/cancel`).catch(() => {});
  } finally {
    button.disabled = false;
  }
}

// ---------- jobs list ----------

const GROUPS = [
  ["In progress", (j) => ["created", "chunking_in_progress", "chunking_complete", "reassembling"].includes(j.status), "in-progress"],
  ["Completed", (j) => j.status === "completed", "completed"],
  ["Failed", (j) => j.status === "failed", "failed"],
  ["Cancelled", (j) => j.status === "cancelled", "cancelled"],
];

async function renderJobs() {
  setMain("Jobs", h("p", { class: "muted" }, "Loading..."));
  let jobs = [];
  try {
    let cursor = "";
    for (let page = 0; page < 10; page++) {
      const data = await api("GET", `/api/v1/jobs?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      jobs = jobs.concat(data.jobs);
      cursor = data.next_cursor;
      if (!cursor) break;
    }
  } catch (e) {
    setMain("Jobs", errorBox(`Cannot load the jobs: ${e.message}`));
    return;
  }
  const sections = GROUPS.map(([title, test, id]) => {
    const list = jobs.filter(test);
    return h(
      "section",
      { class: "card", id: `jobs-${id}`, "aria-labelledby": `h-${id}` },
      h("h2", { id: `h-${id}` }, `${title} (${list.length})`),
      list.length === 0
        ? h("p", { class: "muted" }, "None.")
        : h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            {},
            h("thead", {}, h("tr", {}, h("th", {}, "Title"), h("th", {}, "Status"), h("th", { class: "hide-small" }, "Created"), id === "failed" ? h("th", {}, "Reason") : null)),
            h(
              "tbody",
              {},
              list.map((j) =>
                h(
                  "tr",
                  { "data-job-id": j.job_id },
                  h("td", {}, h("a", { href: `#/jobs/${j.job_id}` }, j.title || j.job_id)),
                  h("td", {}, statusBadge(j)),
                  h("td", { class: "hide-small" }, new Date(j.created_at).toLocaleString()),
                  id === "failed" ? h("td", { class: "reason" }, j.error ? `${j.error.stage}: ${j.error.message}` : "unknown") : null,
                ),
              ),
            ),
          ),
        ),
    );
  });
  setMain("Jobs", ...sections);
  state.timers.push(setInterval(() => {
    if (location.hash === "#/jobs" && !document.hidden) renderJobsQuietly();
  }, 5000));
}

async function renderJobsQuietly() {
  // Refresh without losing focus when nothing changed.
  const focused = document.activeElement && document.activeElement.getAttribute("href");
  await renderJobs();
  if (focused) {
    const again = document.querySelector(`a[href="${focused}"]`);
    if (again) again.focus();
  }
}

// ---------- one job ----------

function renderJobView(job, container) {
  const p = job.progress;
  const done = p.segments_completed;
  const total = p.total_segments;
  const facts = h(
    "dl",
    { class: "facts" },
    h("dt", {}, "Status"), h("dd", { id: "job-status", "data-status": job.status }, statusBadge(job), p.stalled ? h("span", { class: "badge stalled", id: "stalled" }, ` stalled for ${formatSeconds(p.idle_seconds)}`) : null),
    h("dt", {}, "Segments"), h("dd", { id: "job-segments" }, total ? `${done} of ${total} done` : done ? `${done} done, cut not finished` : "not cut yet"),
    h("dt", {}, "Progress"), h("dd", {}, h("progress", { id: "job-progress", max: 100, value: Math.round(p.percent), "aria-label": "Conversion progress" }), ` ${Math.round(p.percent)}%`),
    h("dt", {}, "Time left"), h("dd", { id: "job-eta" }, p.eta_seconds === null ? (job.status === "completed" ? "done" : "unknown") : formatSeconds(p.eta_seconds)),
    h("dt", {}, "Layout"), h("dd", {}, job.params.layout, job.params.layout === "anaglyph" ? ` (${job.params.anaglyph})` : ""),
    h("dt", {}, "Divergence / convergence"), h("dd", {}, `${job.params.divergence} / ${job.params.convergence}`),
    h("dt", {}, "Depth"), h("dd", {}, job.params.depth),
    h("dt", {}, "Source"), h("dd", {}, job.source_bytes ? formatBytes(job.source_bytes) : "not uploaded"),
    h("dt", {}, "Attempts"), h("dd", {}, String(job.attempts + 1)),
    h("dt", {}, "Job id"), h("dd", {}, h("code", {}, job.job_id)),
  );
  const segments = total
    ? h("ol", { class: "segments", id: "segment-states", "aria-label": `Segments: ${done} of ${total} done` },
      p.segments.map((s, i) => h("li", { class: s, title: `segment ${i + 1}: ${s}` }, `segment ${i + 1}: ${s}`)))
    : null;
  const actions = h(
    "div",
    { class: "actions" },
    ["created", "chunking_in_progress", "chunking_complete", "reassembling"].includes(job.status)
      ? h("button", { type: "button", id: "cancel-button", class: "secondary", onclick: () => jobAction(job, "cancel") }, "Cancel")
      : null,
    ["failed", "cancelled"].includes(job.status)
      ? h("button", { type: "button", id: "retry-button", onclick: () => jobAction(job, "retry") }, "Retry")
      : null,
    ["completed", "failed", "cancelled"].includes(job.status)
      ? h("button", { type: "button", id: "delete-button", class: "danger", onclick: () => jobAction(job, "delete") }, "Delete")
      : null,
  );
  container.replaceChildren(
    h("section", { class: "card", "aria-live": "polite" }, facts, segments,
      job.error ? errorBox(`Failed during ${job.error.stage}: ${job.error.message}`) : null, actions,
      h("div", { id: "action-status" })),
  );
}

async function jobAction(job, action) {
  const status = document.getElementById("action-status");
  if (action === "delete" && !confirm(`Delete "${job.title || job.job_id}" and its files?`)) return;
  try {
    if (action === "delete") {
      await api("DELETE", `/api/v1/jobs/${job.job_id}`);
      location.hash = "#/jobs";
      return;
    }
    await api("POST", `/api/v1/jobs/${job.job_id}/${action}`);
    renderJob(job.job_id);
  } catch (e) {
    if (status) status.replaceChildren(errorBox(e.message));
  }
}

function renderResult(job, container) {
  const url = job.links.output;
  // With direct transfers the output redirects to the object store: ask for it by CORS, so the
  // anaglyph preview may read its pixels (the bucket's CORS rule must allow this site).
  const direct = Boolean(job.links.direct_upload);
  const video = h("video", { id: "result-video", controls: true, preload: "metadata", src: url, playsinline: true, crossorigin: direct ? "anonymous" : null });
  const download = h("a", { class: "button", id: "download-link", href: job.links.download, download: job.download_name }, `Download ${job.download_name}`);
  const parts = [h("h2", {}, "Result"), video, h("div", { class: "actions" }, download)];
  const layout = job.params.layout;
  if (["sbs", "half-sbs", "tb", "half-tb", "cross"].includes(layout)) {
    const canvas = h("canvas", { id: "anaglyph-canvas", width: 640, height: 360, "aria-label": "Red-cyan anaglyph preview" });
    const toggle = h("button", { type: "button", class: "secondary", id: "anaglyph-button" }, "Show red-cyan preview");
    const wrap = h("div", { hidden: true, id: "anaglyph-wrap" }, h("p", { class: "muted" }, "Red-cyan anaglyph computed in your browser, for red-cyan glasses. It follows the player above."), canvas);
    toggle.addEventListener("click", () => {
      const on = wrap.hidden;
      wrap.hidden = !on;
      toggle.textContent = on ? "Hide red-cyan preview" : "Show red-cyan preview";
      if (on) {
        state.preview = startAnaglyph(video, canvas, layout);
      } else if (state.preview) {
        state.preview.stop();
        state.preview = null;
      }
    });
    parts.push(h("div", { class: "actions" }, toggle), wrap);
  }
  container.replaceChildren(h("section", { class: "card" }, ...parts));
}

// Draws the video's two eyes as one red-cyan image: red from the left eye, green and blue from
// the right (cross layouts have the right eye first).
function startAnaglyph(video, canvas, layout) {
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const scratch = document.createElement("canvas");
  const sctx = scratch.getContext("2d", { willReadFrequently: true });
  let running = true;
  let handle = 0;
  const draw = () => {
    if (!running) return;
    if (video.readyState >= 2 && video.videoWidth > 0) {
      const vw = video.videoWidth;
      const vh = video.videoHeight;
      const horizontal = layout === "sbs" || layout === "half-sbs" || layout === "cross";
      const eyeW = horizontal ? vw / 2 : vw;
      const eyeH = horizontal ? vh : vh / 2;
      // Half layouts squeeze each eye; show it at the full frame's aspect.
      const aspect = layout === "half-sbs" || layout === "half-tb" ? vw / vh : eyeW / eyeH;
      const w = Math.min(960, Math.round(eyeW));
      const hgt = Math.round(w / aspect);
      if (canvas.width !== w || canvas.height !== hgt) {
        canvas.width = w;
        canvas.height = hgt;
        scratch.width = w;
        scratch.height = hgt;
      }
      const first = [0, 0];
      const second = horizontal ? [eyeW, 0] : [0, eyeH];
      const [left, right] = layout === "cross" ? [second, first] : [first, second];
      sctx.drawImage(video, left[0], left[1], eyeW, eyeH, 0, 0, w, hgt);
      const l = sctx.getImageData(0, 0, w, hgt);
      sctx.drawImage(video, right[0], right[1], eyeW, eyeH, 0, 0, w, hgt);
      const r = sctx.getImageData(0, 0, w, hgt);
      const out = l.data;
      const rd = r.data;
      for (let i = 0; i < out.length; i += 4) {
        out[i + 1] = rd[i + 1];
        out[i + 2] = rd[i + 2];
      }
      ctx.putImageData(l, 0, 0);
      canvas.dataset.frames = String(Number(canvas.dataset.frames || 0) + 1);
    }
    handle = requestAnimationFrame(draw);
  };
  handle = requestAnimationFrame(draw);
  return {
    stop() {
      running = false;
      cancelAnimationFrame(handle);
    },
  };
}

async function renderJob(id) {
  let job;
  try {
    job = await api("GET", `/api/v1/jobs/${encodeURIComponent(id)}`);
  } catch (e) {
    setMain("Job", errorBox(e.status === 404 ? "There is no such job." : e.message), h("p", {}, h("a", { href: "#/jobs" }, "All jobs")));
    return;
  }
  const view = h("div", { id: "job-view" });
  const result = h("div", { id: "job-result" });
  setMain(job.title || "Job", view, result);
  renderJobView(job, view);
  if (job.status === "completed") renderResult(job, result);
  const terminal = ["completed", "failed", "cancelled", "deleted"];
  if (terminal.includes(job.status)) return;

  let lastStatus = job.status;
  const update = (next) => {
    renderJobView(next, view);
    if (next.status === "completed" && lastStatus !== "completed") renderResult(next, result);
    lastStatus = next.status;
  };
  if (window.EventSource) {
    const events = new EventSource(`/api/v1/jobs/${id}/events`);
    state.events = events;
    events.addEventListener("progress", (e) => update(JSON.parse(e.data)));
    events.addEventListener("error", () => {
      // The stream ends when the job does; fall back to polling if it broke earlier.
      events.close();
      if (state.events === events) {
        state.events = null;
        if (!terminal.includes(lastStatus)) pollJob(id, update, terminal);
      }
    });
  } else {
    pollJob(id, update, terminal);
  }
}

function pollJob(id, update, terminal) {
  const timer = setInterval(async () => {
    try {
      const next = await api("GET", `/api/v1/jobs/${id}`);
      update(next);
      if (terminal.includes(next.status)) clearInterval(timer);
    } catch (e) {
      clearInterval(timer);
    }
  }, 2000);
  state.timers.push(timer);
}

// ---------- operator ----------

async function renderOps() {
  let queues;
  try {
    queues = (await api("GET", "/api/v1/queues")).queues;
  } catch (e) {
    setMain("Operator", errorBox(`Cannot read the queues: ${e.message}`));
    return;
  }
  const table = h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { id: "queue-table" },
      h("thead", {}, h("tr", {}, ["Queue", "Visible", "In flight", "Delayed", "Dead letters"].map((t) => h("th", {}, t)))),
      h("tbody", {}, queues.map((q) => h("tr", { "data-queue": q.name }, h("td", {}, q.name), h("td", {}, q.visible), h("td", {}, q.in_flight), h("td", {}, q.delayed), h("td", {}, q.dead_letter)))),
    ),
  );
  const dlqs = [];
  for (const q of queues) {
    if (!q.dead_letter) continue;
    let messages = [];
    try {
      messages = (await api("GET", `/api/v1/queues/${q.name}/dlq?limit=100`)).messages;
    } catch (e) {
      dlqs.push(errorBox(e.message));
      continue;
    }
    dlqs.push(
      h(
        "section",
        { class: "card", "aria-labelledby": `dlq-${q.name}` },
        h("h2", { id: `dlq-${q.name}` }, `Dead letters of ${q.name} (${q.dead_letter})`),
        h("div", { class: "actions" },
          h("button", { type: "button", onclick: () => dlqAction(q.name, "replay", "") }, "Replay all"),
          h("button", { type: "button", class: "danger", onclick: () => dlqAction(q.name, "purge", "") }, "Purge all")),
        h("div", { class: "table-wrap" }, h("table", {},
          h("thead", {}, h("tr", {}, h("th", {}, "Job"), h("th", {}, "Reason"), h("th", { class: "hide-small" }, "Deliveries"), h("th", {}, "Actions"))),
          h("tbody", {}, messages.map((m) => h("tr", {},
            h("td", {}, m.job_id === "?" ? m.body : h("a", { href: `#/jobs/${m.job_id}` }, m.job_id.slice(0, 8))),
            h("td", {}, m.reason || ""),
            h("td", { class: "hide-small" }, m.receive_count),
            h("td", {}, h("div", { class: "actions" },
              h("button", { type: "button", class: "secondary", onclick: () => dlqAction(q.name, "replay", m.message_id) }, "Replay"),
              h("button", { type: "button", class: "secondary", onclick: () => dlqAction(q.name, "purge", m.message_id) }, "Purge")))))))),
      ),
    );
  }
  setMain("Operator", h("section", { class: "card" }, h("h2", {}, "Queues"), table, h("p", { class: "muted" }, "Metrics: ", h("a", { href: "/metrics" }, "/metrics"), ". Health: ", h("a", { href: "/readyz" }, "/readyz"), ".")), ...dlqs, h("div", { id: "ops-status", "aria-live": "polite" }));
}

async function dlqAction(queue, action, messageId) {
  const what = messageId ? "this message" : "every dead letter";
  if (action === "purge" && !confirm(`Delete ${what} of ${queue} for good?`)) return;
  try {
    const result = await api("POST", `/api/v1/queues/${queue}/dlq/${action}`, messageId ? { message_id: messageId } : {});
    await renderOps();
    const status = document.getElementById("ops-status");
    if (status) status.replaceChildren(h("p", { class: "notice" }, `${action === "replay" ? "Replayed" : "Purged"} ${result.replayed ?? result.purged} message(s).`));
  } catch (e) {
    const status = document.getElementById("ops-status");
    if (status) status.replaceChildren(errorBox(e.message));
  }
}

// ---------- routing ----------

function route() {
  const hash = location.hash || "#/";
  let page = "dashboard";
  if (hash === "#/jobs") page = "jobs";
  else if (hash.startsWith("#/jobs/")) page = "job";
  else if (hash === "#/ops") page = "ops";
  for (const a of document.querySelectorAll("nav a[data-nav]")) {
    if (a.dataset.nav === page || (page === "job" && a.dataset.nav === "jobs")) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (page === "jobs") renderJobs();
  else if (page === "job") renderJob(decodeURIComponent(hash.slice("#/jobs/".length)));
  else if (page === "ops") renderOps();
  else renderDashboard();
  document.getElementById("main").focus({ preventScroll: true });
}

async function start() {
  try {
    state.session = await api("GET", "/api/v1/session");
  } catch (e) {
    document.getElementById("main").replaceChildren(errorBox(`The server did not answer: ${e.message}`));
    return;
  }
  if (state.session.auth_required && !state.session.authenticated) {
    location.href = "/login";
    return;
  }
  const logout = document.getElementById("logout");
  if (state.session.auth_required) {
    logout.hidden = false;
    logout.addEventListener("click", async () => {
      await api("DELETE", "/api/v1/session").catch(() => {});
      location.href = "/login";
    });
  }
  window.addEventListener("hashchange", route);
  route();
}

start();
