/* Overview page: eight hourly charts with the period's figure, its change, and anomalies. */
"use strict";
(function () {
  const { fmt, api, epoch, hourGrid, HOUR, $ } = Heron;
  const plots = Heron.state.plots;
  const METRICS = "count,error_rate,latency_p50,latency_p95,ttft_p95,input_tokens,output_tokens,cost_usd";

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

  function sum(a, b) { return a == null && b == null ? null : (a || 0) + (b || 0); }

  async function fetchAll(ctx) {
    const { span, start, end } = ctx;
    const seg = Heron.sliceQuery(ctx);  // the global segment, if any, slices every figure
    const prev = "&start=" + (start - span) + "&end=" + start + seg;
    const cur = "&start=" + start + "&end=" + end + seg;
    const [mh, ma, mp, uh, ua, up, an] = await Promise.all([
      api("/v1/metrics?bucket=hour&metrics=" + METRICS + cur),
      api("/v1/metrics?bucket=all&metrics=" + METRICS + cur),
      api("/v1/metrics?bucket=all&metrics=" + METRICS + prev),
      api("/v1/ux/summary?bucket=hour" + cur),
      api("/v1/ux/summary?bucket=all" + cur),
      api("/v1/ux/summary?bucket=all" + prev),
      api("/v1/anomalies?start=" + start + "&end=" + end),
    ]);
    return {
      start, end,
      m: { hourly: mh.series, now: ma.series[0] || {}, before: mp.series[0] || {} },
      ux: { hourly: uh.series, now: ua.series[0] || {}, before: up.series[0] || {} },
      anomalies: an.anomalies || [],
    };
  }

  function columns(def, rows, xs) {
    const byT = new Map(rows.map((r) => [epoch(r.t), r]));
    return def.series.map(([name]) => xs.map((t) => {
      const row = byT.get(t);
      const v = row ? row[name] : undefined;
      return v == null ? (def.zero && !row ? 0 : v === undefined ? null : v) : v;
    }));
  }

  function delta(def, now, before, since) {
    if (now == null || before == null) return { text: "no data in the previous " + since, cls: "flat" };
    const diff = now - before;
    let text;
    if (def.rate) text = (diff >= 0 ? "+" : "−") + Math.abs(100 * diff).toFixed(2) + " pp";
    else if (before === 0) return { text: (now === 0 ? "±0%" : "new") + " vs previous " + since, cls: "flat" };
    else text = (diff >= 0 ? "+" : "−") + Math.abs((100 * diff) / before).toFixed(1) + "%";
    const moved = def.rate ? Math.abs(diff) >= 0.0005 : Math.abs(diff / before) >= 0.005;
    const cls = !moved || def.better === 0 ? "flat" : Math.sign(diff) === def.better ? "good" : "bad";
    return { text: text + " vs previous " + since, cls };
  }

  function card(def) { return Heron.card("chart-", "#charts", def); }

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

  // The anomalies of the segment shown: the whole project's (no dim), or the global segment's.
  function ofSegment(a, segment) {
    return segment ? a.dim === segment.dim && a.value === segment.value : !a.dim;
  }

  function render(def, data, since, segment) {
    const el = card(def);
    const src = data[def.src];
    const xs = hourGrid(data.start, data.end);
    const cols = columns(def, src.hourly, xs);
    const now = def.total(src.now);
    const d = delta(def, now, def.total(src.before), since);
    el.querySelector(".value").textContent = def.fmt(now);
    if (def.label) el.querySelector(".value").title = def.label;
    const deltaEl = el.querySelector(".delta");
    deltaEl.textContent = d.text;
    deltaEl.className = "delta " + d.cls;

    // Anomalies of the segment shown on this chart's metrics, placed on their hour.
    const list = data.anomalies
      .filter((a) => def.anomalies.includes(a.metric) && ofSegment(a, segment))
      .map((a) => ({ hour: Math.floor(epoch(a.t) / HOUR) * HOUR, y: a.observed, a }));
    const points = src.hourly.filter((r) => r[def.series[0][0]] != null).length;  // hours with data, not zero-filled ones
    el.dataset.points = String(points);
    el.dataset.anomalies = String(list.length);
    el.dataset.range = since;

    const holder = el.querySelector(".chart");
    const key = "overview-" + def.id;
    let entry = plots[key];
    if (points === 0) {
      if (entry) { entry.plot.destroy(); delete plots[key]; }
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
    plots[key] = { plot: new uPlot(opts, [xs, ...cols], holder), marks, height: 200 };
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

  Heron.page("overview", {
    title: "Overview",
    fetch: fetchAll,
    render(data, ctx) {
      for (const def of CHARTS) render(def, data, ctx.since, ctx.segment);
      renderAnomalies(data.anomalies);
    },
  });
})();
