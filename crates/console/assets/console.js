// IProduction console: the home page (submit, jobs, pipelines) and a job's page (state,
// callbacks, input beside output). It talks to the public API (POST / with Action=…) and to
// the object endpoints (/objects/…), nothing else. No framework and no build step: the server
// embeds this file as it is.
"use strict";

const TOKEN_KEY = "iprod.console.token";
const TERMINAL = ["Success", "Fail", "Cancelled"];
const STATES = ["Queuing", "Analysing", "Success", "Fail", "Cancelled"];
const PAGE_SIZE = 10;
const SUBMIT_FIELDS = ["FunctionName", "Input", "Output", "JobParams", "ModelId", "PipelineId", "UserData", "NotifyUrl"];

// ---------------------------------------------------------------- small helpers

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }

function authHeaders() {
  const t = token();
  return t ? { Authorization: "Bearer " + t } : {};
}

class ApiError extends Error {
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

let tokenWaiters = null;

// Shows the token dialog once, however many requests are waiting for it.
function askToken(why) {
  if (!tokenWaiters) {
    tokenWaiters = [];
    const dialog = document.getElementById("token-dialog");
    document.getElementById("token-error").textContent = why || "";
    dialog.showModal();
    document.getElementById("token-input").focus();
  }
  return new Promise((resolve) => tokenWaiters.push(resolve));
}

function setupTokenDialog() {
  const form = document.getElementById("token-form");
  form.addEventListener("submit", () => {
    const value = document.getElementById("token-input").value.trim();
    if (!value) return;
    sessionStorage.setItem(TOKEN_KEY, value);
    document.getElementById("token-input").value = "";
    document.getElementById("forget-token").hidden = false;
    const waiters = tokenWaiters || [];
    tokenWaiters = null;
    waiters.forEach((w) => w());
  });
  const forget = document.getElementById("forget-token");
  forget.hidden = !token();
  forget.addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    location.reload();
  });
}

// Runs fetch; when the server asks for a token (or refuses the one given), asks once and retries.
async function authorizedFetch(url, init) {
  for (;;) {
    const response = await fetch(url, { ...init, headers: { ...(init && init.headers), ...authHeaders() } });
    if (response.status === 403) {
      const body = await response.clone().json().catch(() => ({}));
      if (body.Code === "Forbidden.Token") {
        await askToken(token() ? "That token was not accepted." : "");
        continue;
      }
    }
    return response;
  }
}

async function readAnswer(response) {
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(body.Code || "HTTP" + response.status, body.Message || response.statusText, response.status);
  return body;
}

// One API action: a form-encoded POST to /, as the cloud's SDKs send it.
async function api(action, params) {
  const form = new URLSearchParams({ Action: action });
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== "") form.set(k, v);
  }
  const response = await authorizedFetch("/", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: form.toString(),
  });
  return readAnswer(response);
}

// oss://bucket/key, oss://bucket.oss-region.aliyuncs.com/key or s3://bucket/key → its parts.
function parseObjectUrl(raw) {
  const m = /^(?:oss|s3):\/\/([^/]+)\/(.+)$/.exec(raw || "");
  if (!m) return null;
  return { bucket: m[1].split(".")[0], key: m[2] };
}

function objectPath(raw) {
  const o = parseObjectUrl(raw);
  if (!o) return null;
  return "/objects/" + encodeURIComponent(o.bucket) + "/" + o.key.split("/").map(encodeURIComponent).join("/");
}

const blobs = new Map();

// The src for an object: its path when the server takes requests without a token (players
// then seek with range requests); with a token, fetched with the header into a blob URL.
async function mediaSrc(raw) {
  const path = objectPath(raw);
  if (!path) throw new Error("not an object URL: " + raw);
  if (!token()) return path;
  if (!blobs.has(path)) {
    blobs.set(path, (async () => {
      const response = await authorizedFetch(path);
      if (!response.ok) throw new Error("cannot read " + raw + ": HTTP " + response.status);
      return URL.createObjectURL(await response.blob());
    })());
  }
  return blobs.get(path);
}

function fmtTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString();
}

// Today's times as the time of day, older ones with their date.
function fmtShortTime(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return iso || "";
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString() : d.toLocaleDateString([], { month: "short", day: "numeric" }) + " " + d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function seconds(from, to) {
  if (!from || !to) return "";
  const s = (new Date(to) - new Date(from)) / 1000;
  return s.toFixed(1) + " s";
}

function fmtBytes(n) {
  if (n < 1024) return n + " B";
  if (n < 1 << 20) return (n / 1024).toFixed(1) + " KiB";
  if (n < 1 << 30) return (n / (1 << 20)).toFixed(1) + " MiB";
  return (n / (1 << 30)).toFixed(2) + " GiB";
}

function stateBadge(state) {
  return el("span", { class: "state state-" + state.toLowerCase(), text: state });
}

function progressBar(job) {
  const value = job.State === "Success" ? 100 : job.Progress || 0;
  return el("span", { class: "progress" },
    el("progress", { max: "100", value: String(value), "aria-label": "Progress" }),
    el("span", { class: "pct", text: value + " %" }));
}

function parseResult(job) {
  if (!job.Result) return null;
  try { return JSON.parse(job.Result); } catch (_) { return null; }
}

let catalogPromise = null;
function catalog() {
  if (!catalogPromise) catalogPromise = fetch("/console/catalog.json").then((r) => r.json());
  return catalogPromise;
}

// Timers of the page shown; a new page stops the old one's.
const timers = [];
function every(ms, fn) {
  timers.push(setInterval(fn, ms));
}

// ---------------------------------------------------------------- home: submit form

function paramField(spec) {
  const id = "param-" + spec.Key;
  const help = el("p", { class: "help", id: id + "-help", text: spec.Help + defaultNote(spec) });
  const error = el("p", { class: "field-error", id: id + "-error", role: "alert" });
  let control;
  const described = id + "-help " + id + "-error";
  if (spec.Type === "Choice") {
    control = el("select", { id, name: spec.Key, "aria-describedby": described },
      spec.Options.map((o) => el("option", { value: o.Value, text: o.Label + (o.Value ? " (" + o.Value + ")" : "") })));
  } else if (spec.Type === "Integer" || spec.Type === "Number") {
    control = el("input", {
      id, name: spec.Key, type: "number", min: String(spec.Min), max: String(spec.Max),
      step: spec.Type === "Integer" ? "1" : "any", placeholder: spec.Default == null ? "" : String(spec.Default),
      "aria-describedby": described,
    });
  } else if (spec.Type === "Aspect") {
    control = el("input", { id, name: spec.Key, type: "text", placeholder: spec.Default, "aria-describedby": described });
  } else {
    control = el("input", { id, name: spec.Key, type: "text", placeholder: "[[0.8, 0.05, 0.15, 0.1]]", "aria-describedby": described });
  }
  return el("div", { class: "field", "data-key": spec.Key, "data-type": spec.Type },
    el("label", { for: id, text: spec.Key }), control, help, error);
}

function defaultNote(spec) {
  if (spec.Type === "Integer" || spec.Type === "Number") {
    const d = spec.Default == null ? "" : " Default " + spec.Default + ".";
    return " " + spec.Min + " to " + spec.Max + "." + d;
  }
  if (spec.Type === "Aspect") return " Default " + spec.Default + ".";
  if (spec.Type === "Boxes") return " At most " + spec.Max + ".";
  return "";
}

// JobParams from the generated fields: numbers as numbers, lists as lists; anything that does
// not parse goes as typed, so the API (the one judge) names what is wrong with it.
function jobParams(container) {
  const out = {};
  for (const field of container.querySelectorAll(".field[data-key]")) {
    const control = field.querySelector("input, select");
    const raw = control.value.trim();
    const key = field.dataset.key;
    const type = field.dataset.type;
    if (type === "Choice") {
      if (raw !== "") out[key] = raw;
      continue;
    }
    if (raw === "") continue;
    if (type === "Integer" || type === "Number") {
      const n = Number(raw);
      out[key] = Number.isFinite(n) ? n : raw;
    } else if (type === "Boxes") {
      try { out[key] = JSON.parse(raw); } catch (_) { out[key] = raw; }
    } else {
      out[key] = raw;
    }
  }
  return Object.keys(out).length ? JSON.stringify(out) : "";
}

function labelled(id, label, control, help) {
  control.id = id;
  const error = el("p", { class: "field-error", id: id + "-error", role: "alert" });
  const helpNode = help ? el("p", { class: "help", id: id + "-help", text: help }) : null;
  control.setAttribute("aria-describedby", (help ? id + "-help " : "") + id + "-error");
  return el("div", { class: "field" }, el("label", { for: id, text: label }), control, helpNode, error);
}

function clearErrors(form) {
  for (const p of form.querySelectorAll(".field-error")) p.textContent = "";
  for (const c of form.querySelectorAll("[aria-invalid]")) c.removeAttribute("aria-invalid");
}

// Puts an API error next to the field it is about: InvalidParameter.<Field> or
// MissingParameter.<Field>, and for JobParams the key the message names.
function showSubmitError(form, error) {
  const m = /^(?:InvalidParameter|MissingParameter)\.(\w+)$/.exec(error.code || "");
  let target = null;
  if (m && m[1] === "JobParams") {
    const key = /JobParams\.(\w+)/.exec(error.message);
    if (key) target = form.querySelector("#param-" + key[1]);
    if (!target) target = form.querySelector("#params-error-anchor");
  } else if (m && SUBMIT_FIELDS.includes(m[1])) {
    target = form.querySelector("#submit-" + m[1]);
  }
  const text = error.message + " (" + error.code + ")";
  if (target) {
    const slot = document.getElementById(target.id + "-error");
    slot.textContent = text;
    target.setAttribute("aria-invalid", "true");
    target.focus();
  } else {
    form.querySelector("#submit-error").textContent = text;
  }
}

function submitSection(cat, buckets, state) {
  const functions = cat.Functions;
  const bucket = buckets.Buckets[0] || "media";
  const fnSelect = el("select", { name: "FunctionName" }, functions.map((f) => el("option", { value: f.Name, text: f.Name })));
  const input = el("input", { type: "text", name: "Input", placeholder: "oss://" + bucket + "/in/photo.jpg", autocomplete: "off" });
  const output = el("input", { type: "text", name: "Output", autocomplete: "off" });
  const model = el("select", { name: "ModelId" });
  const pipeline = el("select", { name: "PipelineId" }, el("option", { value: "", text: "default pipeline" }));
  const userData = el("input", { type: "text", name: "UserData", autocomplete: "off" });
  const notifyUrl = el("input", { type: "text", name: "NotifyUrl", placeholder: "https://… or mns://…/queues/name", autocomplete: "off" });
  const params = el("fieldset", { class: "params" }, el("legend", { text: "JobParams" }));
  const status = el("p", { class: "status", role: "status", "aria-live": "polite" });
  let outputEdited = false;
  output.addEventListener("input", () => { outputEdited = true; });

  const form = el("form", { id: "submit-form", novalidate: true },
    labelled("submit-FunctionName", "Function", fnSelect),
    labelled("submit-Input", "Input", input, "An object URL in an allowed bucket; browse or upload below."),
    browser(buckets, (url) => { input.value = url; }),
    labelled("submit-Output", "Output", output, "Where results go. Placeholders: " + cat.Placeholders.join(" ") + "."),
    params,
    labelled("submit-ModelId", "ModelId", model, "The model the function runs with."),
    labelled("submit-PipelineId", "Pipeline", pipeline),
    labelled("submit-UserData", "UserData", userData, "Returned with the job and its callback (up to 1 KiB)."),
    labelled("submit-NotifyUrl", "NotifyUrl", notifyUrl, "Optional: where the callback goes, besides the pipeline's."),
    el("p", { class: "field-error", id: "submit-error", role: "alert" }),
    el("div", { class: "actions" }, el("button", { type: "submit", text: "Submit job" }), status));

  function chooseFunction() {
    const f = functions.find((x) => x.Name === fnSelect.value);
    params.replaceChildren(el("legend", { text: "JobParams" }));
    if (f.Params.length === 0) params.append(el("p", { class: "help", text: f.Name + " takes no JobParams." }));
    f.Params.forEach((spec) => params.append(paramField(spec)));
    params.append(el("p", { class: "field-error", id: "params-error-anchor-error", role: "alert" }));
    params.id = "params-error-anchor";
    model.replaceChildren(el("option", { value: "", text: "default (" + (f.Models[0] ? f.Models[0].Id : "none") + ")" }),
      f.Models.map((m) => el("option", { value: m.Id, text: m.Id + " — " + m.Description })));
    if (!outputEdited) output.value = "oss://" + bucket + "/" + f.DefaultOutput;
  }
  fnSelect.addEventListener("change", chooseFunction);
  chooseFunction();

  state.fillPipelines = (pipelines) => {
    const chosen = pipeline.value;
    pipeline.replaceChildren(el("option", { value: "", text: "default pipeline" }),
      pipelines.map((p) => el("option", { value: p.PipelineId, text: p.Name + " (" + p.State + ")" })));
    pipeline.value = chosen;
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    status.textContent = "Submitting…";
    try {
      const answer = await api("SubmitIProductionJob", {
        FunctionName: fnSelect.value,
        Input: input.value.trim(),
        Output: output.value.trim(),
        JobParams: jobParams(params),
        ModelId: model.value,
        PipelineId: pipeline.value,
        UserData: userData.value,
        NotifyUrl: notifyUrl.value.trim(),
      });
      status.replaceChildren("Submitted ", el("a", { href: "/console/jobs/" + answer.JobId, text: answer.JobId }), ".");
      state.refreshJobs();
    } catch (error) {
      status.textContent = "";
      if (error instanceof ApiError) showSubmitError(form, error);
      else form.querySelector("#submit-error").textContent = String(error);
    }
  });
  return el("section", { class: "card", "aria-labelledby": "submit-title" }, el("h2", { id: "submit-title", text: "Submit a job" }), form);
}

// Browse an allowed bucket by prefix, and upload into it.
function browser(buckets, pick) {
  const bucketSelect = el("select", {}, buckets.Buckets.map((b) => el("option", { value: b, text: b })));
  const prefix = el("input", { type: "text", value: "in/", autocomplete: "off" });
  const list = el("ul", { class: "objects" });
  const file = el("input", { type: "file" });
  const note = el("p", { class: "status", role: "status", "aria-live": "polite" });
  async function show() {
    list.replaceChildren(el("li", { class: "help", text: "Loading…" }));
    try {
      const query = new URLSearchParams({ Prefix: prefix.value, MaxKeys: "200" });
      const listing = await readAnswer(await authorizedFetch("/objects/" + encodeURIComponent(bucketSelect.value) + "?" + query));
      const items = [];
      if (prefix.value.includes("/")) {
        const up = prefix.value.replace(/[^/]*\/?$/, "").replace(/[^/]*$/, "");
        items.push(el("li", {}, el("button", { type: "button", class: "link", text: "↑ " + (up || "(top)"), onclick: () => { prefix.value = up; show(); } })));
      }
      for (const p of listing.CommonPrefixes) {
        items.push(el("li", {}, el("button", { type: "button", class: "link", text: "📁 " + p, onclick: () => { prefix.value = p; show(); } })));
      }
      for (const o of listing.Objects) {
        const url = "oss://" + bucketSelect.value + "/" + o.Key;
        items.push(el("li", {}, el("button", { type: "button", class: "link", text: o.Key, onclick: () => pick(url), "aria-label": "Use " + o.Key + " as the input" }),
          el("span", { class: "size", text: fmtBytes(o.Size) })));
      }
      if (!items.length) items.push(el("li", { class: "help", text: "Nothing under this prefix." }));
      list.replaceChildren(...items);
    } catch (error) {
      list.replaceChildren(el("li", { class: "field-error", text: error.message }));
    }
  }
  async function upload() {
    const chosen = file.files[0];
    if (!chosen) { note.textContent = "Choose a file first."; return; }
    if (chosen.size > buckets.MaxUploadBytes) {
      note.textContent = chosen.name + " is " + fmtBytes(chosen.size) + "; uploads are at most " + fmtBytes(buckets.MaxUploadBytes) + ".";
      return;
    }
    const folder = prefix.value.endsWith("/") || !prefix.value ? prefix.value : prefix.value.replace(/[^/]*$/, "");
    const key = folder + chosen.name;
    note.textContent = "Uploading " + chosen.name + "…";
    try {
      const path = "/objects/" + encodeURIComponent(bucketSelect.value) + "/" + key.split("/").map(encodeURIComponent).join("/");
      const stored = await readAnswer(await authorizedFetch(path, { method: "PUT", body: chosen, headers: { "Content-Type": chosen.type || "application/octet-stream" } }));
      note.textContent = "Uploaded " + stored.Url + ".";
      pick(stored.Url);
      show();
    } catch (error) {
      note.textContent = "Upload failed: " + error.message;
    }
  }
  bucketSelect.addEventListener("change", show);
  prefix.addEventListener("change", show);
  show();
  return el("details", { class: "browser" }, el("summary", { text: "Browse or upload" }),
    el("div", { class: "row" },
      labelled("browse-bucket", "Bucket", bucketSelect),
      labelled("browse-prefix", "Prefix", prefix)),
    list,
    el("div", { class: "row" },
      labelled("upload-file", "Upload a file under this prefix", file),
      el("button", { type: "button", text: "Upload", onclick: upload })),
    note);
}

// ---------------------------------------------------------------- home: jobs list

function jobsSection(state) {
  const pipelineFilter = el("select", {}, el("option", { value: "", text: "all pipelines" }));
  const stateFilter = el("select", {}, el("option", { value: "", text: "all states" }), STATES.map((s) => el("option", { value: s, text: s })));
  const body = el("tbody", {});
  const pageNote = el("span", { class: "help" });
  const newer = el("button", { type: "button", text: "← Newer", disabled: true });
  const older = el("button", { type: "button", text: "Older →", disabled: true });
  const error = el("p", { class: "field-error", role: "alert" });
  // The tokens of the pages before this one; "" is the first page.
  const tokens = [""];
  let next = null;

  function row(job) {
    const tr = el("tr", { "data-job": job.JobId },
      el("td", {}, el("a", { href: "/console/jobs/" + job.JobId, text: job.JobId.slice(0, 8) + "…", title: job.JobId, "aria-label": "Job " + job.JobId })),
      el("td", { text: job.FunctionName }),
      el("td", { class: "pipeline", text: job.PipelineId }),
      el("td", { class: "state-cell" }),
      el("td", { class: "progress-cell" }),
      el("td", { class: "time", text: fmtShortTime(job.CreateTime), title: fmtTime(job.CreateTime) }));
    update(tr, job);
    return tr;
  }
  function update(tr, job) {
    if (tr.dataset.state !== job.State) {
      tr.dataset.state = job.State;
      tr.querySelector(".state-cell").replaceChildren(stateBadge(job.State));
    }
    const cell = tr.querySelector(".progress-cell");
    const bar = cell.querySelector("progress");
    const value = job.State === "Success" ? 100 : job.Progress || 0;
    if (!bar) cell.replaceChildren(progressBar(job));
    else { bar.value = value; cell.querySelector(".pct").textContent = value + " %"; }
  }

  async function refresh() {
    try {
      const answer = await api("ListIProductionJobs", {
        PipelineId: pipelineFilter.value, State: stateFilter.value, MaxResults: String(PAGE_SIZE),
        NextPageToken: tokens[tokens.length - 1],
      });
      error.textContent = "";
      const ids = answer.Jobs.map((j) => j.JobId).join(",");
      const shown = [...body.children].map((tr) => tr.dataset.job).join(",");
      if (ids === shown && ids !== "") {
        // The same jobs: update their cells in place (no reflow of the table).
        answer.Jobs.forEach((job, i) => update(body.children[i], job));
      } else {
        body.replaceChildren(...answer.Jobs.map(row));
        if (!answer.Jobs.length) body.append(el("tr", { class: "empty" }, el("td", { colspan: "6", text: "No jobs yet." })));
      }
      next = answer.NextPageToken || null;
      older.disabled = !next;
      newer.disabled = tokens.length === 1;
      pageNote.textContent = "Page " + tokens.length;
    } catch (e) {
      error.textContent = e.message;
    }
  }
  newer.addEventListener("click", () => { tokens.pop(); refresh(); });
  older.addEventListener("click", () => { if (next) { tokens.push(next); refresh(); } });
  const refilter = () => { tokens.length = 1; refresh(); };
  pipelineFilter.addEventListener("change", refilter);
  stateFilter.addEventListener("change", refilter);
  state.refreshJobs = refresh;
  state.fillJobFilter = (pipelines) => {
    const chosen = pipelineFilter.value;
    pipelineFilter.replaceChildren(el("option", { value: "", text: "all pipelines" }),
      pipelines.map((p) => el("option", { value: p.PipelineId, text: p.Name })));
    pipelineFilter.value = chosen;
  };
  refresh();
  every(2000, refresh);
  return el("section", { class: "card", "aria-labelledby": "jobs-title" },
    el("h2", { id: "jobs-title", text: "Jobs" }),
    el("div", { class: "row filters" }, labelled("filter-pipeline", "Pipeline", pipelineFilter), labelled("filter-state", "State", stateFilter)),
    el("div", { class: "table-wrap jobs-wrap" },
      el("table", { class: "jobs", id: "jobs-table" },
        el("caption", { class: "visually-hidden", text: "Jobs, newest first" }),
        el("thead", {}, el("tr", {}, ["Job", "Function", "Pipeline", "State", "Progress", "Created"].map((h) => el("th", { scope: "col", text: h })))),
        body)),
    el("div", { class: "row pager" }, newer, pageNote, older),
    error);
}

// ---------------------------------------------------------------- home: pipelines

function pipelinesSection(state) {
  const body = el("tbody", {});
  const error = el("p", { class: "field-error", role: "alert" });
  const name = el("input", { type: "text", required: true, autocomplete: "off" });
  const concurrency = el("input", { type: "number", min: "1", value: "2" });
  const notify = el("input", { type: "text", autocomplete: "off", placeholder: "mns://…/queues/name or https://…" });

  async function refresh() {
    try {
      const answer = await api("QueryPipelineList", { MaxResults: "100" });
      const pipelines = answer.PipelineList;
      body.replaceChildren(...pipelines.map(row));
      state.fillPipelines(pipelines);
      state.fillJobFilter(pipelines);
      error.textContent = "";
    } catch (e) {
      error.textContent = e.message;
    }
  }
  async function change(params) {
    try {
      await api("UpdatePipeline", params);
      refresh();
    } catch (e) {
      error.textContent = e.message + " (" + e.code + ")";
    }
  }
  function row(p) {
    const conc = el("input", { type: "number", min: "1", value: String(p.Concurrency), "aria-label": "Concurrency of " + p.Name, class: "narrow" });
    const paused = p.State === "Paused";
    return el("tr", {},
      el("td", { text: p.Name }),
      el("td", { class: "mono", text: p.PipelineId }),
      el("td", {}, stateBadge(p.State)),
      el("td", {}, conc, el("button", { type: "button", class: "quiet", text: "Save", "aria-label": "Save concurrency of " + p.Name, onclick: () => change({ PipelineId: p.PipelineId, Concurrency: conc.value }) })),
      el("td", { class: "mono", text: p.NotifyUrl || "" }),
      el("td", {}, el("button", { type: "button", text: paused ? "Resume" : "Pause", "aria-label": (paused ? "Resume " : "Pause ") + p.Name,
        onclick: () => change({ PipelineId: p.PipelineId, State: paused ? "Active" : "Paused" }) })));
  }
  const form = el("form", { class: "row add-pipeline", novalidate: true },
    labelled("pipeline-name", "Name", name),
    labelled("pipeline-concurrency", "Concurrency", concurrency),
    labelled("pipeline-notify", "NotifyUrl", notify),
    el("button", { type: "submit", text: "Add pipeline" }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("AddPipeline", { Name: name.value.trim(), Concurrency: concurrency.value, NotifyUrl: notify.value.trim() });
      name.value = "";
      refresh();
    } catch (e) {
      error.textContent = e.message + " (" + e.code + ")";
    }
  });
  refresh();
  every(10000, refresh);
  return el("section", { class: "card", "aria-labelledby": "pipelines-title" },
    el("h2", { id: "pipelines-title", text: "Pipelines" }),
    el("div", { class: "table-wrap" }, el("table", {},
      el("thead", {}, el("tr", {}, ["Name", "Id", "State", "Concurrency", "NotifyUrl", ""].map((h) => el("th", { scope: "col", text: h })))),
      body)),
    form, error);
}

async function home(main) {
  document.getElementById("where").textContent = "console";
  document.title = "IProduction console";
  const [cat, buckets] = await Promise.all([catalog(), readAnswer(await authorizedFetch("/objects"))]);
  const state = { refreshJobs: () => {}, fillPipelines: () => {}, fillJobFilter: () => {} };
  const submit = submitSection(cat, buckets, state);
  const jobs = jobsSection(state);
  const pipelines = pipelinesSection(state);
  main.replaceChildren(el("div", { class: "home" }, el("div", { class: "col" }, submit), el("div", { class: "col" }, jobs, pipelines)));
}

// ---------------------------------------------------------------- job page

function dl(pairs) {
  return el("dl", { class: "facts" }, pairs.filter(([, v]) => v !== "" && v !== undefined && v !== null)
    .map(([k, v]) => [el("dt", { text: k }), el("dd", {}, v)]));
}

async function jobPage(main, jobId) {
  document.getElementById("where").textContent = "job " + jobId;
  document.title = "Job " + jobId + " · IProduction";
  const summary = el("div", { id: "job-summary" });
  const callbacks = el("div", { id: "job-callbacks" });
  const compare = el("section", { class: "card compare", id: "compare", "aria-labelledby": "compare-title" },
    el("h2", { id: "compare-title", text: "Input and output" }),
    el("p", { class: "help", text: "Shown when the job succeeds." }));
  const error = el("p", { class: "field-error", role: "alert" });
  const cancel = el("button", { type: "button", class: "quiet", id: "cancel-job", text: "Cancel job", hidden: true });
  cancel.addEventListener("click", async () => {
    try {
      await api("CancelIProductionJob", { JobId: jobId });
      refresh();
    } catch (e) {
      error.textContent = e.message + " (" + e.code + ")";
    }
  });
  main.replaceChildren(
    el("p", {}, el("a", { href: "/console", text: "← All jobs" })),
    el("section", { class: "card", "aria-labelledby": "job-title" }, el("h1", { id: "job-title", text: "Job " + jobId }), summary, cancel, error),
    compare,
    el("section", { class: "card", "aria-labelledby": "callbacks-title" }, el("h2", { id: "callbacks-title", text: "Callbacks" }), callbacks));
  let compared = false;
  let timer = null;
  let shown = "";
  async function refresh() {
    let job;
    try {
      job = await api("QueryIProductionJob", { JobId: jobId });
      error.textContent = "";
    } catch (e) {
      error.textContent = e.message + " (" + e.code + ")";
      return;
    }
    // Redrawn only when something changed: an opened Result stays open.
    const snapshot = JSON.stringify(job);
    if (snapshot === shown) return;
    shown = snapshot;
    summary.replaceChildren(dl([
      ["Function", job.FunctionName],
      ["State", el("span", { id: "job-state" }, stateBadge(job.State))],
      ["Progress", progressBar(job)],
      ["Pipeline", job.PipelineId],
      ["Model", job.ModelId],
      ["Input", el("code", { text: job.Input })],
      ["Output", el("code", { text: job.Output })],
      ["Output files", job.OutputFiles.length ? el("ul", { class: "plain" }, job.OutputFiles.map((f) => el("li", {}, el("code", { text: f })))) : ""],
      ["JobParams", job.JobParams ? el("code", { text: job.JobParams }) : "none"],
      ["UserData", job.UserData],
      ["Created", fmtTime(job.CreateTime)],
      ["Started", job.StartTime ? fmtTime(job.StartTime) + " (queued " + seconds(job.CreateTime, job.StartTime) + ")" : ""],
      ["Finished", job.FinishTime ? fmtTime(job.FinishTime) + " (ran " + seconds(job.StartTime || job.CreateTime, job.FinishTime) + ")" : ""],
      ["Attempts", String(job.Attempts)],
      ["Error", job.Code ? el("span", { class: "error-text", id: "job-error" }, el("code", { text: job.Code }), " " + (job.Message || "")) : ""],
      ["Result", job.Result ? el("details", {}, el("summary", { text: "JSON" }), el("pre", { text: JSON.stringify(parseResult(job), null, 2) })) : ""],
    ]));
    cancel.hidden = TERMINAL.includes(job.State);
    const cbs = job.Callbacks || [];
    callbacks.replaceChildren(cbs.length
      ? el("table", {}, el("thead", {}, el("tr", {}, ["Target", "State", "Attempts", "Last error"].map((h) => el("th", { scope: "col", text: h })))),
        el("tbody", {}, cbs.map((c) => el("tr", {}, el("td", { class: "mono", text: c.Target }), el("td", { text: c.State }), el("td", { text: String(c.Attempts) }), el("td", { text: c.LastError || "" })))))
      : el("p", { class: "help", text: "No callbacks for this job (its pipeline has no NotifyUrl, and it gave none)." }));
    if (job.State === "Success" && !compared) {
      compared = true;
      renderCompare(compare, job).catch((e) => compare.append(el("p", { class: "field-error", text: e.message })));
    }
    // Callbacks keep being delivered after the job ends: keep polling, slower.
    if (TERMINAL.includes(job.State) && timer === 1000) { timer = 5000; restart(); }
  }
  function restart() {
    timers.forEach(clearInterval);
    timers.length = 0;
    every(timer, refresh);
  }
  timer = 1000;
  restart();
  await refresh();
}

// ---------------------------------------------------------------- job page: compare

function figure(caption, node) {
  return el("figure", {}, node, el("figcaption", { text: caption }));
}

async function image(raw, alt) {
  const img = el("img", { alt, src: await mediaSrc(raw) });
  return img;
}

async function video(raw, label) {
  return el("video", { controls: true, preload: "auto", src: await mediaSrc(raw), "aria-label": label, playsinline: true, muted: true });
}

// Boxes (pixel rectangles of a `width` × `height` picture) drawn over a picture or a player.
function overlay(width, height, boxes) {
  const layer = el("div", { class: "overlay" });
  for (const b of boxes) {
    const box = el("div", { class: "box" + (b.kind ? " box-" + b.kind : ""), title: b.label || "" }, b.label ? el("span", { text: b.label }) : null);
    box.style.left = (100 * b.x / width) + "%";
    box.style.top = (100 * b.y / height) + "%";
    box.style.width = (100 * b.w / width) + "%";
    box.style.height = (100 * b.h / height) + "%";
    layer.append(box);
  }
  return layer;
}

function beforeAfter(before, after, checker) {
  const range = el("input", { type: "range", min: "0", max: "100", value: "50", "aria-label": "Before and after: move to compare", id: "slider" });
  const afterWrap = el("div", { class: "after" + (checker ? " checker" : "") }, after);
  const stage = el("div", { class: "slider-stage" }, el("div", { class: "before" }, before), afterWrap);
  const apply = () => { afterWrap.style.clipPath = "inset(0 0 0 " + range.value + "%)"; };
  range.addEventListener("input", apply);
  apply();
  return el("div", { class: "before-after" }, stage, range, el("p", { class: "help", text: "Left of the line: the input. Right: the output." }));
}

function logoBoxes(result) {
  return (result.Logos || []).map((l) => ({
    x: l.X, y: l.Y, w: l.Width, h: l.Height,
    label: (l.Evidence || l.Source || "logo") + (l.Shown ? " " + l.Shown.map((r) => r[0] + "–" + r[1] + " s").join(", ") : "") + (l.Removed === false ? " (kept)" : ""),
    shown: l.Shown,
  }));
}

async function renderCompare(section, job) {
  const result = parseResult(job) || {};
  const outputs = job.OutputFiles;
  const parts = [];
  const fn = job.FunctionName;
  if (fn === "ImageMatting" || fn === "ImageDelogo") {
    const before = await image(job.Input, "Input");
    const after = await image(outputs[0], "Output");
    after.id = "output-image";
    const slider = figure("Before and after", beforeAfter(before, after, fn === "ImageMatting"));
    if (fn === "ImageDelogo") {
      const boxes = logoBoxes(result);
      const marked = el("div", { class: "stage", id: "marks" }, await image(job.Input, "Input with the marks found"), overlay(result.Width, result.Height, boxes));
      parts.push(el("div", { class: "side" }, slider, figure(boxes.length ? "Marks: " + boxes.map((b) => b.label).join("; ") : "No marks found", marked)));
    } else {
      parts.push(slider);
    }
  } else if (fn === "ImageH2V") {
    const crop = result.Crop || { X: 0, Y: 0, Width: 0, Height: 0 };
    const src = await image(job.Input, "Input with the window chosen");
    const stage = el("div", { class: "stage" }, src);
    src.addEventListener("load", () => stage.append(overlay(src.naturalWidth, src.naturalHeight, [{ x: crop.X, y: crop.Y, w: crop.Width, h: crop.Height, label: result.Mode || "crop", kind: "crop" }])));
    const out = await image(outputs[0], "Output");
    out.id = "output-image";
    parts.push(el("div", { class: "side" }, figure("Input, the window drawn", stage), figure("Output", out)));
  } else if (fn === "Cover") {
    const list = Array.isArray(result) ? result : [];
    const items = [];
    for (const [i, file] of outputs.entries()) {
      const entry = list.find((c) => c.Url === file) || list[i] || {};
      const img = await image(file, "Cover " + (i + 1));
      if (i === 0) img.id = "output-image";
      const time = entry.Time ? (Number(entry.Time) / 1000).toFixed(2) + " s" : "";
      items.push(figure("#" + (i + 1) + (entry.Score !== undefined ? " · score " + entry.Score : "") + (time ? " · at " + time : ""), img));
    }
    parts.push(el("div", { class: "gallery", id: "covers" }, items));
  } else {
    // The video functions: two players, with what the function decided drawn on the source.
    const source = await video(job.Input, "Input video");
    const output = await video(outputs[0], "Output video");
    output.id = "output-video";
    const stage = el("div", { class: "stage" }, source);
    const caption = [];
    if (fn === "VideoH2V" && Array.isArray(result.CropPath)) {
      const windowBox = el("div", { class: "box box-crop" }, el("span", { text: "window" }));
      const layer = el("div", { class: "overlay" }, windowBox);
      stage.append(layer);
      const path = result.CropPath;
      const place = () => {
        if (!source.videoWidth) return;
        const t = source.currentTime;
        let i = path.findIndex((p) => p[0] > t);
        if (i === -1) i = path.length;
        const a = path[Math.max(0, i - 1)], b = path[Math.min(path.length - 1, i)];
        const f = b[0] > a[0] ? Math.min(1, Math.max(0, (t - a[0]) / (b[0] - a[0]))) : 0;
        const lerp = (k) => a[k] + (b[k] - a[k]) * f;
        windowBox.style.left = (100 * lerp(1) / source.videoWidth) + "%";
        windowBox.style.top = (100 * lerp(2) / source.videoHeight) + "%";
        windowBox.style.width = (100 * lerp(3) / source.videoWidth) + "%";
        windowBox.style.height = (100 * lerp(4) / source.videoHeight) + "%";
      };
      ["loadedmetadata", "timeupdate", "seeked"].forEach((e) => source.addEventListener(e, place));
      caption.push("the window follows the crop path (" + path.length + " points, " + (result.Shots || []).length + " shots)");
    }
    if (fn === "VideoDelogo") {
      const boxes = logoBoxes(result);
      const layer = overlay(result.Width || 1, result.Height || 1, boxes);
      stage.append(layer);
      const show = () => {
        const t = source.currentTime;
        [...layer.children].forEach((node, i) => {
          const ranges = boxes[i].shown;
          node.hidden = !!ranges && !ranges.some((r) => t >= r[0] && t <= r[1]);
        });
      };
      ["timeupdate", "seeked", "loadedmetadata"].forEach((e) => source.addEventListener(e, show));
      caption.push(boxes.length ? "logos: " + boxes.map((b) => b.label).join("; ") : "no logo found");
    }
    parts.push(el("div", { class: "side" }, figure("Input" + (caption.length ? ": " + caption.join("; ") : ""), stage), figure("Output", output)));
    if (fn === "VideoClip") parts.push(timeline(source, result.VideoSummaryList || []));
  }
  section.replaceChildren(el("h2", { id: "compare-title", text: "Input and output" }), ...parts);
}

// The chosen segments of a VideoClip on a bar as long as the source.
function timeline(source, segments) {
  const bar = el("div", { class: "timeline", id: "timeline", role: "img", "aria-label": "Segments kept: " + segments.map((s) => s.StartTime + "–" + s.EndTime + " s").join(", ") });
  const draw = () => {
    const d = source.duration;
    if (!Number.isFinite(d) || d <= 0) return;
    bar.replaceChildren(...segments.map((s, i) => {
      const seg = el("button", { type: "button", class: "segment", title: s.StartTime + "–" + s.EndTime + " s", "aria-label": "Play segment " + (i + 1) + " from " + s.StartTime + " s" });
      seg.style.left = (100 * Number(s.StartTime) / d) + "%";
      seg.style.width = (100 * (Number(s.EndTime) - Number(s.StartTime)) / d) + "%";
      seg.addEventListener("click", () => { source.currentTime = Number(s.StartTime); source.play(); });
      return seg;
    }));
  };
  source.addEventListener("loadedmetadata", draw);
  if (source.readyState >= 1) draw();
  return figure("The summary's segments on the source's timeline", bar);
}

// ---------------------------------------------------------------- start

async function start() {
  setupTokenDialog();
  const main = document.getElementById("main");
  const m = /^\/console\/jobs\/([^/]+)\/?$/.exec(location.pathname);
  try {
    if (m) await jobPage(main, decodeURIComponent(m[1]));
    else await home(main);
  } catch (error) {
    main.replaceChildren(el("p", { class: "field-error", role: "alert", text: "The console could not start: " + error.message }));
  }
}

document.addEventListener("DOMContentLoaded", start);
