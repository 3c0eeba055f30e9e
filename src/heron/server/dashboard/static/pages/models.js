/* Models & versions: operational metrics (/v1/metrics) beside UX metrics (/v1/ux/summary) per
   model, app version or prompt version (?dim=), joined on the group value; latency p95 per group
   over time. */
"use strict";
(function () {
  const { fmt, api, epoch, hourGrid, $ } = Heron;
  const DIMS = ["model", "app_version", "prompt_version"];
  const METRICS = "count,error_rate,latency_p50,latency_p95,ttft_p95,output_tokens_per_s,cost_usd";
  const MAX_LINES = 8;  // the chart shows the busiest groups; the table shows them all
  const NONE = "(none)";
  const COLUMNS = [
    ["m", "count", fmt.int], ["m", "error_rate", fmt.pct], ["m", "latency_p50", fmt.ms], ["m", "latency_p95", fmt.ms],
    ["m", "ttft_p95", fmt.ms], ["m", "output_tokens_per_s", fmt.rate], ["m", "cost_usd", fmt.usd],
    ["ux", "satisfaction_avg", fmt.score], ["ux", "frustration_rate", fmt.pct], ["ux", "thumbs_up_rate", fmt.pct],
  ];

  function dimOf(params) { const d = params.get("dim"); return DIMS.includes(d) ? d : DIMS[0]; }
  const label = (g) => (g == null || g === "" ? NONE : String(g));

  async function fetchAll(ctx) {
    const dim = dimOf(ctx.params);
    // The global segment (a tag too) slices every column: the UX summary sums raw turns where its rollups cannot split it.
    const win = "&group_by=" + dim + "&start=" + ctx.start + "&end=" + ctx.end + Heron.sliceQuery(ctx);
    const [all, ux, hourly] = await Promise.all([
      api("/v1/metrics?bucket=all&metrics=" + METRICS + win),
      api("/v1/ux/summary?bucket=all" + win),
      api("/v1/metrics?bucket=hour&metrics=latency_p95,count" + win),
    ]);
    return { dim, all: all.series, ux: ux.series, hourly: hourly.series };
  }

  function join(all, ux) {
    const rows = new Map();
    const row = (g) => { const k = label(g); if (!rows.has(k)) rows.set(k, { group: k, m: {}, ux: {} }); return rows.get(k); };
    for (const r of all) row(r.group).m = r;
    for (const r of ux) row(r.group).ux = r;
    return [...rows.values()].sort((a, b) => (b.m.count || 0) - (a.m.count || 0) || a.group.localeCompare(b.group));
  }

  function renderTable(rows, dim) {
    $("#models-dim").textContent = dim.replace("_", " ");
    const body = $("#models-table tbody");
    body.innerHTML = "";
    for (const r of rows) {
      const tr = document.createElement("tr");
      tr.dataset.group = r.group;
      const th = document.createElement("td");
      th.textContent = r.group;
      tr.appendChild(th);
      for (const [src, name, f] of COLUMNS) {
        const td = document.createElement("td");
        td.className = "num";
        td.dataset.metric = name;
        td.textContent = f(r[src][name]);
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
    if (!rows.length) {
      const tr = document.createElement("tr");
      tr.innerHTML = '<td colspan="11" class="muted">no calls in this period</td>';
      body.appendChild(tr);
    }
    $("#models-table").dataset.rows = String(rows.length);
    $("#models-table").dataset.dim = dim;
  }

  function renderChart(rows, hourly, dim, ctx) {
    const card = $("#models-latency");
    card.querySelector(".dim-name").textContent = dim.replace("_", " ");
    const holder = card.querySelector(".chart");
    const groups = rows.filter((r) => r.m.count).slice(0, MAX_LINES).map((r) => r.group);
    const xs = hourGrid(ctx.start, ctx.end);
    const index = new Map(xs.map((t, i) => [t, i]));
    const series = groups.map((g) => ({ label: g, values: xs.map(() => null) }));
    const byGroup = new Map(groups.map((g, i) => [g, series[i]]));
    let points = 0;
    for (const r of hourly) {
      const s = byGroup.get(label(r.group));
      const i = index.get(epoch(r.t));
      if (s && i !== undefined && r.latency_p95 != null) { s.values[i] = r.latency_p95; points++; }
    }
    card.dataset.points = String(points);
    card.dataset.series = String(series.length);
    if (!points) {
      Heron.dropPlot("models-latency");
      holder.innerHTML = '<div class="empty">no data in this period</div>';
      return;
    }
    Heron.plot("models-latency", holder, xs, series, { fmt: fmt.ms, height: 260 });
  }

  let wired = false;
  Heron.page("models", {
    title: "Models & versions",
    fetch: fetchAll,
    render(data, ctx) {
      if (!wired) {
        wired = true;
        $("#dim").addEventListener("change", (e) => Heron.setParam("dim", e.target.value));
      }
      $("#dim").value = data.dim;
      const rows = join(data.all, data.ux);
      $("#models-note").textContent = rows.length + " " + data.dim.replace("_", " ") + (rows.length === 1 ? " value" : " values") +
        (rows.filter((r) => r.m.count).length > MAX_LINES ? "; the chart shows the " + MAX_LINES + " busiest" : "") +
        (ctx.segment ? "; " + Heron.segmentLabel(ctx.segment.dim) + " " + ctx.segment.value + " only" : "");
      renderTable(rows, data.dim);
      renderChart(rows, data.hourly, data.dim, ctx);
    },
  });
})();
