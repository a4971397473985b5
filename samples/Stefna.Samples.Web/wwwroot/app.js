// Stefna web sample: plain JavaScript, no build step, nothing loaded from the internet.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { key: localStorage.getItem("stefna.apiKey") || "", types: [], job: null, retry: null, watch: null, cursor: null, gallery: null };
const RETRY_MS = 1000;
const FINAL = ["completed", "failed", "canceled"];

async function api(path, options = {}) {
  const headers = new Headers(options.headers || {});
  headers.set("X-Api-Key", state.key);
  const response = await fetch(path, { ...options, headers });
  const isJson = (response.headers.get("content-type") || "").includes("json");
  const body = isJson ? await response.json() : null;
  if (!response.ok) {
    const message = body && (body.detail || body.title) ? (body.detail || body.title) : `HTTP ${response.status}`;
    const error = new Error(message);
    error.status = response.status;
    error.problem = body;
    throw error;
  }
  return { response, body };
}

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children);
  return node;
}

function showError(node, message) {
  node.textContent = message || "";
  node.hidden = !message;
}

// --- API key -----------------------------------------------------------------------------------------------
async function loadDevKeys() {
  // Only a Development host serves this; elsewhere the input box is the way.
  try {
    const response = await fetch("/dev/api-keys");
    if (!response.ok) return;
    const keys = await response.json();
    $("dev-keys").replaceChildren(...keys.map((k) => el("option", { value: k.key, label: `${k.key} (${k.userId})` })));
    if (!state.key && keys.length > 0) {
      state.key = keys[0].key;
      $("api-key").value = state.key;
      await connect();
    }
  } catch { /* not available */ }
}

async function connect() {
  state.key = $("api-key").value.trim();
  localStorage.setItem("stefna.apiKey", state.key);
  $("who").textContent = "";
  try {
    const { body } = await api("/api/types");
    state.types = body;
    $("who").textContent = "Connected";
    renderTypes();
    await loadGallery(true);
  } catch (error) {
    $("who").textContent = error.status === 401 ? "Unknown API key" : error.message;
    $("type").disabled = true;
    $("submit").disabled = true;
  }
}

// --- Types and their fields ------------------------------------------------------------------------------------
function renderTypes() {
  const select = $("type");
  const previous = select.value;
  select.replaceChildren(...state.types.map((t) => el("option", { value: t.name, text: t.displayName })));
  if (state.types.some((t) => t.name === previous)) select.value = previous;
  select.disabled = false;
  $("submit").disabled = false;
  $("filter-type").replaceChildren(el("option", { value: "", text: "All types" }),
    ...state.types.map((t) => el("option", { value: t.name, text: t.displayName })));
  renderFields();
}

function currentType() {
  return state.types.find((t) => t.name === $("type").value);
}

function renderFields() {
  const type = currentType();
  const container = $("type-fields");
  container.replaceChildren();
  if (!type) return;
  $("type-description").textContent = type.description;
  $("image-required").textContent = type.requiresImage ? "(required)" : "(optional)";
  for (const field of type.fields) {
    const id = `field-${field.name}`;
    const label = el("label", { for: id, text: field.label });
    let input;
    if (field.kind === "choice") {
      input = el("select", { id, name: field.name, required: field.required });
      if (!field.required || !field.default) {
        input.append(el("option", { value: "", text: field.required ? "Choose…" : `Default (${field.default ?? "none"})` }));
      }
      for (const choice of field.choices) {
        input.append(el("option", { value: choice.value, text: choice.label, title: choice.description || undefined }));
      }
    } else {
      input = el("textarea", { id, name: field.name, required: field.required, maxlength: field.maxLength || undefined,
        placeholder: field.required ? "Describe the image you want" : "Add detail (optional)" });
    }
    container.append(el("div", { class: "field" }, label, input));
  }
}

// --- Submit and watch -----------------------------------------------------------------------------------------
async function submit(event) {
  event.preventDefault();
  showError($("form-error"), "");
  const type = currentType();
  if (!type) return;
  const data = new FormData();
  const file = $("image").files[0];
  if (file) data.append("image", file);
  for (const field of type.fields) {
    const value = $(`field-${field.name}`).value.trim();
    if (value) data.append(field.name, value);
  }
  const tags = $("tags").value.trim();
  if (tags) data.append("tags", tags);

  $("submit").disabled = true;
  try {
    const { response, body } = await api(`/api/generations/${encodeURIComponent(type.name)}`, { method: "POST", body: data });
    watch(response.headers.get("Location"), { id: body.id, type: body.type, status: body.status });
  } catch (error) {
    const field = error.problem && error.problem.field ? ` (${error.problem.field})` : "";
    showError($("form-error"), error.message + field);
  } finally {
    $("submit").disabled = false;
  }
}

// One job is watched at a time, through its event stream (GET …/events, server-sent events). EventSource cannot send
// the API key header, and a key never goes into a URL, so the stream is read with fetch. Each watch() owns an
// AbortController: starting another aborts the previous one's stream and pending retry, and an event that arrives after
// its watch was replaced does nothing, so the panel never flips between jobs.
function stopWatching() {
  clearTimeout(state.retry);
  state.retry = null;
  if (state.watch) state.watch.abort();
  state.watch = null;
}

// A 4xx answer (401 wrong key, 404 gone or another user's job, …) will not change by asking again, so watching stops;
// only 408/429 and network/5xx errors, or a stream that ended before the final state, are retried.
function isFinalError(error) {
  return error.status >= 400 && error.status < 500 && error.status !== 408 && error.status !== 429;
}

// Reads a text/event-stream response, calling onEvent(name, data) for each event; comments (heartbeats) are skipped.
async function readEvents(response, signal, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  while (!signal.aborted) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") name = text;
        else if (field === "data") data.push(text);
      }
      if (data.length > 0) onEvent(name, data.join("\n"));
    }
  }
}

function watch(location, job) {
  stopWatching();
  const controller = new AbortController();
  const { signal } = controller;
  state.watch = controller;
  state.job = { location, ...job };
  renderJob(state.job);
  const follow = async () => {
    if (signal.aborted) return;
    let finished = false;
    try {
      const response = await fetch(`${location}/events`, { headers: { "X-Api-Key": state.key, Accept: "text/event-stream" }, signal });
      if (!response.ok) {
        const problem = (response.headers.get("content-type") || "").includes("json") ? await response.json() : null;
        const error = new Error(problem && (problem.detail || problem.title) ? (problem.detail || problem.title) : `HTTP ${response.status}`);
        error.status = response.status;
        throw error;
      }
      await readEvents(response, signal, (name, data) => {
        if (name !== "status" || signal.aborted) return;
        const body = JSON.parse(data);
        state.job = { location, ...body };
        renderJob(state.job);
        finished = FINAL.includes(body.status);
      });
    } catch (error) {
      if (signal.aborted) return;
      showError($("job-error"), error.message);
      if (isFinalError(error)) {
        $("job-progress").hidden = true;
        $("cancel").hidden = true;
        if (state.watch === controller) state.watch = null;
        return;
      }
    }
    if (signal.aborted) return;
    if (finished) {
      if (state.watch === controller) state.watch = null;
      await loadGallery(true);
      return;
    }
    // The stream broke or ended early (a restart, a proxy): follow again; it starts with the current state.
    state.retry = setTimeout(follow, RETRY_MS);
  };
  follow();
}

function renderJob(job) {
  $("job-empty").hidden = true;
  $("job-details").hidden = false;
  const status = $("job-status");
  status.textContent = job.status;
  status.className = `badge ${job.status}`;
  $("job-type").textContent = typeName(job.type);
  $("job-id").textContent = job.id;
  const running = job.status === "queued" || job.status === "processing";
  $("job-progress").hidden = !running;
  $("cancel").hidden = !running;
  const details = [job.preset && `preset ${job.preset}`,
    ...Object.entries(job.columns || {}).filter(([, v]) => v).map(([k, v]) => `${k} ${v}`),
    job.prompt && `“${job.prompt}”`, job.tags && job.tags.length && `tags: ${job.tags.join(", ")}`].filter(Boolean);
  $("job-summary").textContent = details.join(" · ");
  setImage($("source"), $("source-figure"), job.sourceImageUrl);
  const result = $("result");
  setImage(result, $("result-figure"), job.imageUrl);
  result.hidden = !job.imageUrl;
  if (job.imageUrl) result.alt = `Generated ${typeName(job.type)} image`;
  showError($("job-error"), job.error ? `${job.error.category}: ${job.error.message}` : "");
}

function setImage(img, figure, url) {
  if (url && img.getAttribute("src") !== url) img.src = url;
  figure.hidden = !url;
}

function typeName(name) {
  const type = state.types.find((t) => t.name === name);
  return type ? type.displayName : name;
}

async function cancel() {
  if (!state.job) return;
  try {
    const { body } = await api(state.job.location, { method: "DELETE" });
    renderJob({ location: state.job.location, ...body });
  } catch (error) {
    showError($("job-error"), error.message);
  }
}

// --- Gallery -------------------------------------------------------------------------------------------------
async function loadGallery(reset) {
  const params = new URLSearchParams({ limit: "12" });
  const tag = $("filter-tag").value.trim();
  const type = $("filter-type").value;
  if (tag) params.set("tag", tag);
  if (type) params.set("type", type);
  if (!reset && state.cursor) params.set("cursor", state.cursor);
  // The newest load wins: a load still in flight (an earlier filter, a job's completion) is aborted, so its late
  // answer can neither refill the gallery nor hide this load's error.
  if (state.gallery) state.gallery.abort();
  const controller = new AbortController();
  state.gallery = controller;
  try {
    const { body } = await api(`/api/feed?${params}`, { signal: controller.signal });
    if (controller.signal.aborted) return;
    const items = body.items.map(galleryItem);
    if (reset) $("gallery").replaceChildren(...items); else $("gallery").append(...items);
    state.cursor = body.nextCursor;
    $("more").hidden = !body.nextCursor;
    $("gallery-empty").hidden = $("gallery").children.length > 0;
    showError($("gallery-error"), "");
  } catch (error) {
    if (controller.signal.aborted) return;
    // Its own line: the "Nothing here yet." text stays for when the gallery is really empty.
    showError($("gallery-error"), error.message);
  }
}

function galleryItem(job) {
  const picture = job.imageUrl
    ? el("img", { class: "thumb", src: job.imageUrl, alt: `${typeName(job.type)} ${job.preset || ""} image`.trim(), loading: "lazy" })
    : el("div", { class: "placeholder", text: job.status });
  const tags = el("div", { class: "tags" }, ...job.tags.map((t) =>
    el("button", { type: "button", class: "tag", text: t, title: `Show only “${t}”`, onclick: () => { $("filter-tag").value = t; loadGallery(true); } })));
  const when = new Date(job.createdAt).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
  return el("li", { "data-id": job.id },
    picture,
    el("div", { class: "meta" },
      el("span", { class: `badge ${job.status}`, text: job.status }),
      el("strong", { text: typeName(job.type) }),
      el("div", { class: "muted", text: when }),
      tags));
}

// --- Wiring ------------------------------------------------------------------------------------------------------
$("key-form").addEventListener("submit", (event) => { event.preventDefault(); connect(); });
$("type").addEventListener("change", renderFields);
$("generate-form").addEventListener("submit", submit);
$("cancel").addEventListener("click", cancel);
$("filter-form").addEventListener("submit", (event) => { event.preventDefault(); loadGallery(true); });
$("more").addEventListener("click", () => loadGallery(false));
$("image").addEventListener("change", () => {
  const file = $("image").files[0];
  const preview = $("preview");
  if (preview.src) URL.revokeObjectURL(preview.src);
  preview.hidden = !file;
  if (file) preview.src = URL.createObjectURL(file);
});

$("api-key").value = state.key;
if (state.key) connect();
loadDevKeys();
