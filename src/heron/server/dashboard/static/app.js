/* Heron dashboard, Overview page. Plain JS, no build step; charts by uPlot (vendor/). */
"use strict";
(function () {
  const RANGES = { "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400 };
  const DEFAULT_RANGE = "7d";
  const REFRESH_MS = 60000;
  const KEY_STORE = "heron.readKey";
  const HOUR = 3600;
  const METRICS = "count,error_rate,latency_p50,latency_p95,ttft_p95,input_tokens,output_tokens,cost_usd";

  const fmt = {
    int: (v) => (v == null ? "–" : Math.round(v).toLocaleString("en-US")),
    pct: (v) => (v == null ? "–" : (100 * v).toFixed(v < 0.1 ? 2 : 1) + "%"),
    ms: (v) => (v == null ? "–" : v >= 1000 ? (v / 1000).toFixed(2) + " s" : Math.round(v) + " ms"),
    usd: (v) => (v == null ? "–" : "$" + (v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toFixed(4))),
    score: (v) => (v == null ? "–" : v.toFixed(2)),
    compact: (v) => (v == null ? "–" : Math.abs(v) >= 1e6 ? (v / 1e6).toFixed(1) + "M" : Math.abs(v) >= 1e3 ? (v / 1e3).toFixed(1) + "k" : String(Math.round(v * 100) / 100)),
  };

  // One chart per entry. src: "m" = /v1/metrics, "ux" = /v1/ux/summary. better: which way is good (+1 up, -1 down, 0 neutral).
  // rate: the change is shown in percentage points. zero: a missing hour means 0 (no traffic), not a gap.
  const CHARTS = [
    { id: "volume", title: "Volume (calls)", src: "m", series: [["count", "calls"]], fmt: fmt.int, better: 0, zero: true,
      total: (m) => m.count, anomalies: ["count"] },
    { id: "error_rate", title: "Error rate", src: "m", series: [["error_rate", "error rate"]], fmt: fmt.pct, better: -1, rate: true,
      total: (m) => m.error_rate, anomalies: ["error_rate"] },
    { id: "latency", title: "Latency p50 / p95", src: "m", series: [["latency_p50", "p50"], ["latency_p95", "p95"]], fmt: fmt.ms, better: -1,
      total: (m) => m.latency_p95, label: "p95", anomalies: ["latency_p50", "latency_p95"] },
    { id: "ttft", title: "Time to first token p95", src: "m", series: [["ttft_p95", "TTFT p95"]], fmt: fmt.ms, better: -1,
      total: (m) => m.ttft_p95, anomalies: ["ttft_p95"] },
    { id: "tokens", title: "Tokens", src: "m", series: [["input_tokens", "input"], ["output_tokens", "output"]], fmt: fmt.compact, better: 0, zero: true,
      total: (m) => sum(m.input_tokens, m.output_tokens), label: "in + out", anomalies: ["output_tokens"] },
    { id: "cost", title: "Cost (USD)", src: "m", series: [["cost_usd", "cost"]], fmt: fmt.usd, tick: (v) => "$" + +v.toPrecision(2), better: -1, zero: true,
      total: (m) => m.cost_usd, anomalies: ["cost_usd"] },
    { id: "satisfaction", title: "Satisfaction", src: "ux", series: [["satisfaction_avg", "satisfaction"]], fmt: fmt.score, better: 1,
      total: (u) => u.satisfaction_avg, anomalies: [] },
    { id: "frustration", title: "Frustration rate", src: "ux", series: [["frustration_rate", "frustration"]], fmt: fmt.pct, better: -1, rate: true,
      total: (u) => u.frustration_rate, anomalies: ["frustration_rate"] },
  ];
  const COLORS = ["#2f6fde", "#e0752d"];

  const $ = (sel) => document.querySelector(sel);
  const state = { since: DEFAULT_RANGE, key: null, verified: false, timer: null, plots: {}, loading: false, seq: 0 };

  function sum(a, b) { return a == null && b == null ? null : (a || 0) + (b || 0); }
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
    state.key = localStorage.getItem(KEY_STORE);
  }

  function setRange(since) {
    if (!(since in RANGES) || since === state.since) return;
    state.since = since;
    const params = new URLSearchParams(location.search);
    params.set("since", since);
    history.pushState(null, "", location.pathname + "?" + params);
    load();
  }

  async function api(path) {
    const response = await fetch(path, { headers: { Authorization: "Bearer " + state.key } });
    if (response.status === 401 || response.status === 403) throw Object.assign(new Error("the key was refused"), { auth: true });
    if (!response.ok) throw new Error(path.split("?")[0] + ": HTTP " + response.status);
    return response.json();
  }

  // ---- data --------------------------------------------------------------------------------
  async function fetchAll() {
    const span = RANGES[state.since];
    const end = Math.floor(Date.now() / 1000);
    const start = end - span;
    const prev = "&start=" + (start - span) + "&end=" + start;
    const cur = "&start=" + start + "&end=" + end;
    const [mh, ma, mp, uh, ua, up, an] = await Promise.all([
      api("/v1/metrics?bucket=hour&metrics=" + METRICS + cur),
      api("/v1/metrics?bucket=all&metrics=" + METRICS + cur),
      api("/v1/metrics?bucket=all&metrics=" + METRICS + prev),
      api("/v1/ux/summary?bucket=hour" + cur),
      api("/v1/ux/summary?bucket=all" + cur),
      api("/v1/ux/summary?bucket=all" + prev),
      api("/v1/anomalies?since=" + state.since),
    ]);
    return {
      start, end,
      m: { hourly: mh.series, now: ma.series[0] || {}, before: mp.series[0] || {} },
      ux: { hourly: uh.series, now: ua.series[0] || {}, before: up.series[0] || {} },
      anomalies: an.anomalies || [],
    };
  }

  function grid(start, end) {
    const xs = [];
    for (let t = Math.floor(start / HOUR) * HOUR; t < end; t += HOUR) xs.push(t);
    return xs;
  }

  function columns(def, rows, xs) {
    const byT = new Map(rows.map((r) => [epoch(r.t), r]));
    return def.series.map(([name]) => xs.map((t) => {
      const row = byT.get(t);
      const v = row ? row[name] : undefined;
      return v == null ? (def.zero && !row ? 0 : v === undefined ? null : v) : v;
    }));
  }

  // ---- rendering ---------------------------------------------------------------------------
  function delta(def, now, before) {
    if (now == null || before == null) return { text: "no data in the previous " + state.since, cls: "flat" };
    const diff = now - before;
    let text;
    if (def.rate) text = (diff >= 0 ? "+" : "−") + Math.abs(100 * diff).toFixed(2) + " pp";
    else if (before === 0) return { text: (now === 0 ? "±0%" : "new") + " vs previous " + state.since, cls: "flat" };
    else text = (diff >= 0 ? "+" : "−") + Math.abs((100 * diff) / before).toFixed(1) + "%";
    const moved = def.rate ? Math.abs(diff) >= 0.0005 : Math.abs(diff / before) >= 0.005;
    const cls = !moved || def.better === 0 ? "flat" : Math.sign(diff) === def.better ? "good" : "bad";
    return { text: text + " vs previous " + state.since, cls };
  }

  function card(def) {
    let el = document.getElementById("chart-" + def.id);
    if (el) return el;
    el = document.createElement("article");
    el.className = "card";
    el.id = "chart-" + def.id;
    el.dataset.chart = def.id;
    el.innerHTML = '<h3></h3><div class="figure"><span class="value"></span><span class="delta"></span></div><div class="chart"></div>';
    el.querySelector("h3").textContent = def.title;
    $("#charts").appendChild(el);
    return el;
  }

  function markerPlugin(marks) {
    // Anomalies: a red ring at the observed value plus a dashed line through the bucket's hour.
    return {
      hooks: {
        draw: (u) => {
          const ctx = u.ctx;
          ctx.save();
          for (const a of marks.list) {
            const x = u.valToPos(a.hour, "x", true);
            if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
            ctx.strokeStyle = "rgba(199,54,47,0.45)";
            ctx.setLineDash([4, 4]);
            ctx.lineWidth = 1;
            ctx.beginPath(); ctx.moveTo(x, u.bbox.top); ctx.lineTo(x, u.bbox.top + u.bbox.height); ctx.stroke();
            ctx.setLineDash([]);
            const y = u.valToPos(a.y, "y", true);
            if (Number.isFinite(y)) {
              ctx.strokeStyle = "#c7362f"; ctx.lineWidth = 2;
              ctx.beginPath(); ctx.arc(x, Math.min(Math.max(y, u.bbox.top), u.bbox.top + u.bbox.height), 5, 0, 2 * Math.PI); ctx.stroke();
            }
          }
          ctx.restore();
        },
      },
    };
  }

  function render(def, data) {
    const el = card(def);
    const src = data[def.src];
    const xs = grid(data.start, data.end);
    const cols = columns(def, src.hourly, xs);
    const now = def.total(src.now);
    const d = delta(def, now, def.total(src.before));
    el.querySelector(".value").textContent = def.fmt(now);
    if (def.label) el.querySelector(".value").title = def.label;
    const deltaEl = el.querySelector(".delta");
    deltaEl.textContent = d.text;
    deltaEl.className = "delta " + d.cls;

    // Anomalies of the whole project (no segment) on this chart's metrics, placed on their hour.
    const list = data.anomalies
      .filter((a) => def.anomalies.includes(a.metric) && !a.dim)
      .map((a) => ({ hour: Math.floor(epoch(a.t) / HOUR) * HOUR, y: a.observed, a }));
    const points = src.hourly.filter((r) => r[def.series[0][0]] != null).length;  // hours with data, not zero-filled ones
    el.dataset.points = String(points);
    el.dataset.anomalies = String(list.length);
    el.dataset.range = state.since;

    const holder = el.querySelector(".chart");
    let entry = state.plots[def.id];
    if (points === 0) {
      if (entry) { entry.plot.destroy(); delete state.plots[def.id]; }
      holder.innerHTML = '<div class="empty">no data in this period</div>';
      return;
    }
    if (entry) {
      entry.marks.list = list;
      entry.plot.setData([xs, ...cols]);
      return;
    }
    holder.innerHTML = "";
    const marks = { list };
    const opts = {
      width: Math.max(holder.clientWidth, 300),
      height: 200,
      plugins: [markerPlugin(marks)],
      legend: { show: def.series.length > 1 },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (u, lo, hi) => [Math.min(0, lo), hi > 0 ? hi * 1.1 : 1] } },
      axes: [{}, { size: 72, values: (u, ticks) => ticks.map((v) => (def.tick || def.fmt)(v)) }],
      series: [{}, ...def.series.map(([name, label], i) => ({
        label, stroke: COLORS[i], width: 1.5, fill: i === 0 && def.series.length === 1 ? "rgba(47,111,222,0.08)" : undefined,
        value: (u, v) => def.fmt(v), spanGaps: false,
      }))],
    };
    state.plots[def.id] = { plot: new uPlot(opts, [xs, ...cols], holder), marks };
  }

  function renderAnomalies(list) {
    const panel = $("#anomalies");
    panel.hidden = list.length === 0;
    const body = panel.querySelector("tbody");
    body.innerHTML = "";
    for (const a of list.slice(0, 50)) {
      const tr = document.createElement("tr");
      const cells = [new Date(epoch(a.t) * 1000).toLocaleString(), a.metric, a.dim ? a.dim + "=" + a.value : "all", a.kind,
        fmt.compact(a.observed), fmt.compact(a.expected)];
      for (const text of cells) { const td = document.createElement("td"); td.textContent = text; tr.appendChild(td); }
      body.appendChild(tr);
    }
  }

  // ---- lifecycle ---------------------------------------------------------------------------
  function showLogin(message) {
    $("#login").hidden = false;
    $("#login-error").textContent = message || "";
    $("#charts").hidden = true;
    $("#signout").hidden = true;
    $("#anomalies").hidden = true;
  }

  async function load() {
    for (const b of document.querySelectorAll(".range button")) b.setAttribute("aria-pressed", String(b.dataset.since === state.since));
    if (!state.key) return showLogin();
    const seq = ++state.seq;  // a newer load (range change) supersedes this one
    state.loading = true;
    document.body.dataset.state = "loading";
    try {
      if (!state.verified) {  // one request to check a new key, not seven refused ones
        await api("/v1/status");
        state.verified = true;
      }
      const data = await fetchAll();
      if (seq !== state.seq) return;
      $("#login").hidden = true;
      $("#charts").hidden = false;
      $("#signout").hidden = false;
      $("#error").hidden = true;
      for (const def of CHARTS) render(def, data);
      renderAnomalies(data.anomalies);
      $("#updated").textContent = "updated " + new Date().toLocaleTimeString();
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
        $("#error").hidden = false;
        $("#error").textContent = "Could not load data: " + err.message;
      }
    } finally {
      if (seq === state.seq) state.loading = false;
    }
  }

  function schedule() {
    clearInterval(state.timer);
    if ($("#autorefresh").checked) state.timer = setInterval(() => { if (!document.hidden && !state.loading) load(); }, REFRESH_MS);
  }

  function init() {
    readUrl();
    for (const b of document.querySelectorAll(".range button")) b.addEventListener("click", () => setRange(b.dataset.since));
    $("#autorefresh").addEventListener("change", schedule);
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
      for (const { plot } of Object.values(state.plots)) plot.setSize({ width: Math.max(plot.root.parentNode.clientWidth, 300), height: 200 });
    });
    schedule();
    load();
  }

  init();
})();
