/* Heron dashboard shell: key, URL state (page, range, filters), navigation, API, refresh.
   Plain JS, no build step; charts by uPlot (vendor/). Each page lives in pages/<name>.js and
   registers itself with Heron.page(name, {title, fetch(ctx), render(data, ctx)}); this file routes between them.

   URL: /?page=<name>&since=<range>[&end=<epoch or ISO>][&model=|app_version=|prompt_version=|response_model=|
   environment=|tag.<key>=<segment>]
   &<page filters>  (no page = overview). Every query parameter
   except `page` is carried over when moving between pages, so the range and filters follow. */
"use strict";
(function () {
  const RANGES = { "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400 };
  const DEFAULT_RANGE = "7d";
  const DEFAULT_PAGE = "overview";
  const REFRESH_MS = 60000;
  const KEY_STORE = "heron.readKey";
  const HOUR = 3600;

  const fmt = {
    int: (v) => (v == null ? "–" : Math.round(v).toLocaleString("en-US")),
    pct: (v) => (v == null ? "–" : (100 * v).toFixed(v < 0.1 ? 2 : 1) + "%"),
    percent: (v) => (v == null ? "–" : v.toFixed(v < 10 ? 1 : 0) + "%"),  // already 0–100
    ms: (v) => (v == null ? "–" : v >= 1000 ? (v / 1000).toFixed(2) + " s" : Math.round(v) + " ms"),
    usd: (v) => (v == null ? "–" : "$" + (v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toFixed(4))),
    score: (v) => (v == null ? "–" : v.toFixed(2)),
    rate: (v) => (v == null ? "–" : v.toFixed(v >= 100 ? 0 : 1)),
    bytes: (v) => {
      if (v == null) return "–";
      const units = ["B", "KiB", "MiB", "GiB", "TiB"];
      let i = 0;
      while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
      return (i === 0 ? Math.round(v) : v.toFixed(v >= 100 ? 0 : 1)) + " " + units[i];
    },
    compact: (v) => (v == null ? "–" : Math.abs(v) >= 1e6 ? (v / 1e6).toFixed(1) + "M" : Math.abs(v) >= 1e3 ? (v / 1e3).toFixed(1) + "k" : String(Math.round(v * 100) / 100)),
  };
  const PALETTE = ["#2f6fde", "#e0752d", "#1a8a4a", "#9b59b6", "#c7362f", "#16a5a5", "#8a6d1a", "#d6489b", "#5a6b80", "#7fb800"];

  const $ = (sel) => document.querySelector(sel);
  const pages = {};
  const state = { page: DEFAULT_PAGE, since: DEFAULT_RANGE, params: new URLSearchParams(), key: null, verified: false,
                  timer: null, plots: {}, loading: false, seq: 0 };

  // The global segment: at most one of these in the URL (?model=gpt-4o, ?tag.app.team=support), applied by
  // every page whose data can be sliced by it; a page that cannot says so (Users, for a tag).
  const SEGMENT_DIMS = ["model", "app_version", "prompt_version", "response_model", "environment"];
  const TAG = "tag.";
  const isTag = (dim) => dim.startsWith(TAG) && dim.length > TAG.length;
  function segmentOf(params) {
    for (const dim of SEGMENT_DIMS) { const value = params.get(dim); if (value != null) return { dim, value }; }
    for (const [dim, value] of params) if (isTag(dim)) return { dim, value };
    return null;
  }
  function sliceQuery(ctx) {
    return ctx.segment ? "&" + encodeURIComponent(ctx.segment.dim) + "=" + encodeURIComponent(ctx.segment.value) : "";
  }
  function segmentLabel(dim) { return isTag(dim) ? "tag " + dim.slice(TAG.length) : dim.replace("_", " "); }
  // URL changes that make (dim, value) the segment: every other segment parameter removed; no dim or value: none.
  function segmentChanges(dim, value) {
    const changes = Object.fromEntries(SEGMENT_DIMS.map((d) => [d, null]));
    for (const [k] of state.params) if (isTag(k)) changes[k] = null;
    if (dim && value) changes[dim] = value;
    return changes;
  }

  // ---- the segment picker: a dimension or tag key, then one of its values seen in the range --------
  const segmentValues = new Map();  // "dim|since|hour of the end" -> Promise of the values, busiest first
  const TOP_TAGS = 50;  // keys offered, and values per key (GET /v1/tags)

  function cachedHourly(key, load) {  // per range and hour of its end: a new value shows up within the hour
    const { end } = window_();
    const k = key + "|" + state.since + "|" + Math.floor(end / HOUR);
    if (!segmentValues.has(k)) segmentValues.set(k, load().catch(() => { segmentValues.delete(k); return []; }));
    return segmentValues.get(k);
  }

  function tagsOf() {  // [{key, count, values: [{value, count}]}], busiest keys first
    const { start, end } = window_();
    return cachedHourly("/tags", () => api("/v1/tags?keys=" + TOP_TAGS + "&values=" + TOP_TAGS + "&start=" + start + "&end=" + end)
      .then((r) => r.keys));
  }

  function valuesOf(dim) {
    if (isTag(dim)) {
      const key = dim.slice(TAG.length);
      return tagsOf().then((keys) => { const k = keys.find((x) => x.key === key); return k ? k.values.map((v) => v.value) : []; });
    }
    const { start, end } = window_();
    return cachedHourly(dim, () => api("/v1/metrics?bucket=all&metrics=count&group_by=" + dim + "&start=" + start + "&end=" + end)
      .then((r) => r.series.filter((row) => row.group != null).sort((a, b) => b.count - a.count).map((row) => String(row.group))));
  }

  function option(value, text) {
    const o = document.createElement("option");
    o.value = value;
    o.textContent = text;
    return o;
  }

  async function renderTagKeys(current) {  // the picker's tag keys: the range's busiest, and the URL's own
    const keys = (await tagsOf()).map((k) => k.key);
    const group = $("#seg-tags");
    if (current && isTag(current) && !keys.includes(current.slice(TAG.length))) keys.unshift(current.slice(TAG.length));
    group.replaceChildren(...keys.map((k) => option(TAG + k, k)));
    group.hidden = !keys.length;
    $("#seg-dim").dataset.tags = String(keys.length);
  }

  async function renderSegment() {
    const seg = segmentOf(state.params);
    const dim = seg ? seg.dim : state.segmentDim || "";
    const dimSelect = $("#seg-dim");
    const valueSelect = $("#seg-value");
    document.body.dataset.segment = seg ? seg.dim + "=" + seg.value : "";
    valueSelect.hidden = !dim;
    await renderTagKeys(dim);
    dimSelect.value = dim;
    if (!dim) return;
    const values = await valuesOf(dim);
    if (seg && !values.includes(seg.value)) values.unshift(seg.value);
    valueSelect.replaceChildren(option("", "any " + segmentLabel(dim)), ...values.map((v) => option(v, v)));
    valueSelect.value = seg ? seg.value : "";
    valueSelect.dataset.dim = dim;
  }

  function setSegment(dim, value) {
    state.segmentDim = dim;
    go(href(state.page, segmentChanges(dim, value)));
  }

  function epoch(t) { return typeof t === "number" ? t : Date.parse(t) / 1000; }

  // ---- URL and key -------------------------------------------------------------------------
  function readUrl() {
    const params = new URLSearchParams(location.search);
    const key = params.get("key");
    if (key) {  // accepted once, then kept in localStorage and removed from the address bar
      localStorage.setItem(KEY_STORE, key);
      state.verified = false;
      params.delete("key");
      history.replaceState(null, "", location.pathname + (params.toString() ? "?" + params : ""));
    }
    const since = params.get("since");
    state.since = since in RANGES ? since : DEFAULT_RANGE;
    const page = params.get("page");
    state.page = page in pages ? page : DEFAULT_PAGE;
    state.params = params;
    state.key = localStorage.getItem(KEY_STORE);
  }

  function href(page, changes) {
    const params = new URLSearchParams(state.params);
    if (page === DEFAULT_PAGE) params.delete("page"); else params.set("page", page);
    for (const [k, v] of Object.entries(changes || {})) { if (v == null) params.delete(k); else params.set(k, v); }
    const q = params.toString();
    return location.pathname + (q ? "?" + q : "");
  }

  function go(url) {  // same-document navigation: a new history entry, then a load
    history.pushState(null, "", url);
    readUrl();
    load();
  }

  function setParam(name, value) { go(href(state.page, { [name]: value })); }

  // Several parameters in one history entry; null or "" removes one. No entry when nothing changes.
  function setParams(changes) {
    const cleaned = Object.fromEntries(Object.entries(changes).map(([k, v]) => [k, v === "" ? null : v]));
    const url = href(state.page, cleaned);
    if (url !== location.pathname + location.search) go(url);
  }

  function setRange(since) {
    if (!(since in RANGES) || since === state.since) return;
    setParam("since", since);
  }

  async function api(path) {
    const response = await fetch(path, { headers: { Authorization: "Bearer " + state.key } });
    if (response.status === 401 || response.status === 403) throw Object.assign(new Error("the key was refused"), { auth: true });
    if (!response.ok) throw Object.assign(new Error(path.split("?")[0] + ": HTTP " + response.status), { status: response.status });
    return response.json();
  }

  // ?end= (epoch seconds or an ISO date) pins the range's end: a link to an incident's window stays
  // on that window. Without it the range ends now and follows the clock.
  function pinnedEnd() {
    const raw = state.params.get("end");
    if (!raw) return null;
    const t = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : Date.parse(raw) / 1000;
    return Number.isFinite(t) ? Math.floor(t) : null;
  }

  function window_() {
    const span = RANGES[state.since];
    const pinned = pinnedEnd();
    const end = pinned == null ? Math.floor(Date.now() / 1000) : pinned;
    return { span, start: end - span, end, pinned: pinned != null };
  }

  function hourGrid(start, end) {
    const xs = [];
    for (let t = Math.floor(start / HOUR) * HOUR; t < end; t += HOUR) xs.push(t);
    return xs;
  }

  // A line chart of several named series on shared x values, re-created on each load.
  function plot(id, holder, xs, series, opts) {
    const old = state.plots[id];
    if (old) { old.plot.destroy(); delete state.plots[id]; }
    holder.innerHTML = "";
    const f = opts.fmt || fmt.compact;
    const u = new uPlot({
      width: Math.max(holder.clientWidth, 300),
      height: opts.height || 220,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: opts.range || ((u, lo, hi) => [Math.min(0, lo), hi > 0 ? hi * 1.1 : 1]) } },
      axes: [{}, { size: 72, values: (u, ticks) => ticks.map((v) => f(v)) }],
      series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: PALETTE[i % PALETTE.length], width: 1.5,
                                              value: (u, v) => f(v), spanGaps: !!opts.spanGaps }))],
    }, [xs, ...series.map((s) => s.values)], holder);
    state.plots[id] = { plot: u, height: opts.height || 220 };
    return u;
  }

  function dropPlot(id) {
    const old = state.plots[id];
    if (old) { old.plot.destroy(); delete state.plots[id]; }
  }

  // ---- navigation --------------------------------------------------------------------------
  function renderNav() {
    const nav = $("#nav");
    for (const [name, p] of Object.entries(pages)) {
      let a = nav.querySelector(`a[data-page="${name}"]`);
      if (!a) {
        a = document.createElement("a");
        a.dataset.page = name;
        a.textContent = p.title;
        a.addEventListener("click", (e) => {
          if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;  // new tab: a plain link
          e.preventDefault();
          if (name !== state.page) go(a.getAttribute("href"));
        });
        nav.appendChild(a);
      }
      a.setAttribute("href", href(name));
      a.classList.toggle("active", name === state.page);
      if (name === state.page) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    }
    for (const section of document.querySelectorAll("main > section[data-page]")) section.hidden = section.dataset.page !== state.page;
    document.title = "Heron · " + pages[state.page].title;
    document.body.dataset.page = state.page;
  }

  // ---- lifecycle ---------------------------------------------------------------------------
  function showLogin(message) {
    $("#login").hidden = false;
    $("#login-error").textContent = message || "";
    $("#signout").hidden = true;
    for (const section of document.querySelectorAll("main > section[data-page]")) section.hidden = true;
  }

  async function load() {
    for (const b of document.querySelectorAll(".range button")) b.setAttribute("aria-pressed", String(b.dataset.since === state.since));
    if (!state.key) return showLogin();
    const seq = ++state.seq;  // a newer load (range or page change) supersedes this one
    const current = pages[state.page];
    state.loading = true;
    document.body.dataset.state = "loading";
    try {
      if (!state.verified) {  // one request to check a new key, not a page's worth of refused ones
        await api("/v1/status");
        state.verified = true;
      }
      renderSegment();
      checkIngest();
      const ctx = { since: state.since, params: state.params, segment: segmentOf(state.params), ...window_(), stale: () => seq !== state.seq };
      const data = await current.fetch(ctx);
      if (seq !== state.seq) return;
      $("#login").hidden = true;
      $("#signout").hidden = false;
      $("#error").hidden = true;
      renderNav();
      current.render(data, ctx);
      $("#updated").textContent = ctx.pinned ? "until " + new Date(ctx.end * 1000).toLocaleString() : "updated " + new Date().toLocaleTimeString();
      $("#unpin").hidden = !ctx.pinned;
      document.body.dataset.state = "ready";
      document.body.dataset.range = state.since;
    } catch (err) {
      if (seq !== state.seq) return;
      document.body.dataset.state = "error";
      if (err.auth) {
        localStorage.removeItem(KEY_STORE);
        state.key = null;
        state.verified = false;
        showLogin("That key was refused: it must be a read key of this server's project.");
      } else {
        renderNav();
        $("#error").hidden = false;
        $("#error").textContent = "Could not load data: " + err.message;
      }
    } finally {
      if (seq === state.seq) state.loading = false;
    }
  }

  // Mapping gaps are never silent: LLM spans that succeeded but arrived without a reply (or prompt)
  // usually mean content capture is off or a reply attribute Heron does not read (docs/otlp-mapping.md).
  const GAP_SHARE = 0.01;
  const GAP_MIN_SPANS = 20;
  function gapWarning(otlp) {
    if (!otlp || otlp.llm_spans < GAP_MIN_SPANS) return null;
    const share = (n) => n / otlp.llm_spans;
    const parts = [];
    if (share(otlp.ok_without_output) > GAP_SHARE) parts.push(`${(100 * share(otlp.ok_without_output)).toFixed(1)}% succeeded without a reply`);
    if (share(otlp.ok_without_input) > GAP_SHARE) parts.push(`${(100 * share(otlp.ok_without_input)).toFixed(1)}% without a prompt`);
    if (!parts.length) return null;
    return `Of ${otlp.llm_spans.toLocaleString()} LLM spans received over OTLP since the server started, ${parts.join(" and ")}. ` +
      "Reply-based signals (empty reply, refusals, satisfaction) are wrong for those calls: turn on content capture in your instrumentation, " +
      "or check which attribute carries the reply (docs/otlp-mapping.md).";
  }

  async function checkIngest() {
    try {
      const text = gapWarning((await api("/v1/status")).otlp);
      $("#ingest-warning").hidden = !text;
      $("#ingest-warning").textContent = text || "";
    } catch (err) { /* the page's own load reports errors */ }
  }

  function schedule() {
    clearInterval(state.timer);
    if ($("#autorefresh").checked) state.timer = setInterval(() => { if (!document.hidden && !state.loading && pinnedEnd() == null) load(); }, REFRESH_MS);
  }

  function init() {
    readUrl();
    renderNav();
    for (const b of document.querySelectorAll(".range button")) b.addEventListener("click", () => setRange(b.dataset.since));
    $("#autorefresh").addEventListener("change", schedule);
    $("#unpin").addEventListener("click", () => go(href(state.page, { end: null })));
    $("#seg-dim").addEventListener("change", (e) => {
      const dim = e.target.value;
      if (!dim) return setSegment(null, null);
      state.segmentDim = dim;
      if (segmentOf(state.params)) setSegment(dim, null); else renderSegment();
    });
    $("#seg-value").addEventListener("change", (e) => setSegment($("#seg-dim").value, e.target.value));
    $("#login").addEventListener("submit", (e) => {
      e.preventDefault();
      state.key = $("#key").value.trim();
      state.verified = false;
      localStorage.setItem(KEY_STORE, state.key);
      load();
    });
    $("#signout").addEventListener("click", () => { localStorage.removeItem(KEY_STORE); state.key = null; state.verified = false; showLogin(); });
    window.addEventListener("popstate", () => { readUrl(); load(); });
    document.addEventListener("visibilitychange", () => { if (!document.hidden && state.key && !state.loading) load(); });
    window.addEventListener("resize", () => {
      for (const { plot: p, height } of Object.values(state.plots)) p.setSize({ width: Math.max(p.root.parentNode.clientWidth, 300), height });
    });
    schedule();
    load();
  }

  // A chart card (title, figure, delta, plot area) with id prefix + def.id, made once inside container.
  function card(prefix, container, def, deltaClass) {
    let el = document.getElementById(prefix + def.id);
    if (el) return el;
    el = document.createElement("article");
    el.className = "card";
    el.id = prefix + def.id;
    el.dataset.chart = def.id;
    el.innerHTML = '<h3></h3><div class="figure"><span class="value"></span><span class="delta' +
      (deltaClass ? " " + deltaClass : "") + '"></span></div><div class="chart"></div>';
    el.querySelector("h3").textContent = def.title;
    $(container).appendChild(el);
    return el;
  }

  // Pages register in their own scripts, loaded after this one; start once they all have.
  window.Heron = {
    RANGES, HOUR, fmt, PALETTE, $, api, epoch, hourGrid, plot, dropPlot, setParam, setParams, href, state, card, SEGMENT_DIMS, sliceQuery,
    isTag, segmentLabel, segmentChanges,
    page(name, def) { pages[name] = def; },
  };
  document.addEventListener("DOMContentLoaded", init);
})();
