/* Resources: host CPU / memory, the watched process, and GPU series from `heron agent`
   (GET /v1/resources), with the reporting hosts (GET /v1/resources/hosts). */
"use strict";
(function () {
  const { fmt, api, epoch, $ } = Heron;
  const PCT = { fmt: fmt.percent, range: () => [0, 100] };
  const CHARTS = [
    { id: "cpu", title: "Host CPU", metric: "cpu_percent", ...PCT },
    { id: "memory", title: "Host memory used", metric: "memory_used_bytes", fmt: fmt.bytes, total: "memory_total_bytes" },
    { id: "process_cpu", title: "Process CPU (100 = one core)", metric: "process_cpu_percent", fmt: fmt.percent },
    { id: "process_rss", title: "Process resident memory", metric: "process_rss_bytes", fmt: fmt.bytes },
    { id: "gpu_util", title: "GPU utilisation", metric: "gpu_utilization_percent", gpu: true, ...PCT },
    { id: "gpu_memory", title: "GPU memory used", metric: "gpu_memory_used_bytes", fmt: fmt.bytes, gpu: true, total: "gpu_memory_total_bytes" },
    { id: "gpu_temp", title: "GPU temperature", metric: "gpu_temperature_celsius", fmt: (v) => (v == null ? "–" : Math.round(v) + " °C"), gpu: true },
    { id: "gpu_power", title: "GPU power", metric: "gpu_power_watts", fmt: (v) => (v == null ? "–" : Math.round(v) + " W"), gpu: true },
  ];
  const METRICS = [...new Set(CHARTS.flatMap((c) => (c.total ? [c.metric, c.total] : [c.metric])))].join(",");
  // Minute points for a day; hourly beyond (a week of minutes is over the API's 10,000 buckets).
  const BUCKET = { "24h": "minute", "7d": "hour", "30d": "hour" };

  const seriesName = (s) => s.host + (s.service ? "/" + s.service : "") + (s.device != null ? " GPU " + s.device : "");

  async function fetchAll(ctx) {
    const win = "&start=" + ctx.start + "&end=" + ctx.end;
    let bucket = BUCKET[ctx.since] || "hour";
    const hosts = api("/v1/resources/hosts?" + win.slice(1));
    let res;
    try {
      res = await api("/v1/resources?bucket=" + bucket + "&metric=" + METRICS + win);
    } catch (err) {
      if (err.status !== 400 || bucket === "hour") throw err;
      bucket = "hour";  // too many points at minute resolution: fall back to hours
      res = await api("/v1/resources?bucket=" + bucket + "&metric=" + METRICS + win);
    }
    return { bucket, series: res.series, hosts: (await hosts).hosts };
  }

  function card(def) { return Heron.card("res-", "#resource-charts", def, "flat"); }

  function renderChart(def, all, ctx) {
    const list = all.filter((s) => s.metric === def.metric);
    const el = card(def);
    const holder = el.querySelector(".chart");
    const key = "res-" + def.id;
    if (def.gpu && !list.length) {  // no GPU: no empty GPU charts, the notice says why
      Heron.dropPlot(key);
      el.hidden = true;
      el.dataset.points = "0";
      return;
    }
    el.hidden = false;
    const xs = [...new Set(list.flatMap((s) => s.points.map((p) => epoch(p.t))))].sort((a, b) => a - b);
    const index = new Map(xs.map((t, i) => [t, i]));
    const series = list.map((s) => {
      const values = xs.map(() => null);
      for (const p of s.points) values[index.get(epoch(p.t))] = p.avg;
      return { label: seriesName(s), values, last: s.points.length ? s.points[s.points.length - 1].last : null, s };
    });
    const points = list.reduce((n, s) => n + s.points.length, 0);
    el.dataset.points = String(points);
    el.dataset.series = String(series.length);

    // The figure: the latest reading (of the one series, or the highest of several), out of the total where there is one.
    const latest = series.filter((s) => s.last != null).map((s) => s.last);
    const value = el.querySelector(".value");
    const note = el.querySelector(".delta");
    value.textContent = latest.length ? def.fmt(Math.max(...latest)) : "–";
    note.textContent = latest.length ? (series.length > 1 ? "latest, highest of " + series.length : "latest") : "";
    if (def.total && latest.length) {
      const totals = all.filter((s) => s.metric === def.total && s.points.length).map((s) => s.points[s.points.length - 1].last);
      if (totals.length) note.textContent += " · of " + def.fmt(Math.max(...totals));
    }
    if (!points) {
      Heron.dropPlot(key);
      holder.innerHTML = '<div class="empty">no data in this period</div>';
      return;
    }
    Heron.plot(key, holder, xs, series, { fmt: def.fmt, range: def.range, height: 200 });
  }

  function renderHosts(hosts) {
    const body = $("#resources-hosts tbody");
    body.innerHTML = "";
    for (const h of hosts) {
      const tr = document.createElement("tr");
      const gpus = (h.devices || []).length;
      const cells = [h.host, h.service || "–", gpus ? String(gpus) : "no GPU", h.last_seen ? new Date(epoch(h.last_seen) * 1000).toLocaleString() : "–",
        fmt.int(h.samples)];
      cells.forEach((text, i) => { const td = document.createElement("td"); td.textContent = text; if (i === 4) td.className = "num"; tr.appendChild(td); });
      body.appendChild(tr);
    }
    if (!hosts.length) {
      const tr = document.createElement("tr");
      tr.innerHTML = '<td colspan="5" class="muted">no host reported in this period</td>';
      body.appendChild(tr);
    }
  }

  // GPU series are absent (never zeros) when the agent has no GPU metrics; the agent logs the
  // exact reason at start (NVML missing, driver not loaded, --no-gpu, ...), the server is not told it.
  function renderNoGpu(series, hosts, since) {
    const el = $("#no-gpu");
    const gpuSeries = series.filter((s) => s.metric.startsWith("gpu_"));
    const without = hosts.filter((h) => !(h.metrics || []).some((m) => m.startsWith("gpu_")));
    let reason = null;
    if (!hosts.length && !series.length) reason = "no host has sent resource samples in the last " + since + "; run `heron agent`";
    else if (!gpuSeries.length) {
      reason = (hosts.length === 1 && without.length ? without.map(seriesName)[0] + " sends" : "none of the " + hosts.length + " reporting hosts sends") +
        " GPU metrics: no NVIDIA GPU, NVML or driver missing, or --no-gpu (`heron agent` logs which at start)";
    } else if (without.length) {
      el.hidden = false;
      el.dataset.gpu = "partial";
      el.textContent = "no GPU on " + without.map(seriesName).join(", ") + " (no GPU metrics reported; `heron agent` logs why at start)";
      return;
    }
    el.hidden = reason == null;
    el.dataset.gpu = reason == null ? "yes" : "none";
    el.textContent = reason == null ? "" : "no GPU (" + reason + ")";
  }

  Heron.page("resources", {
    title: "Resources",
    fetch: fetchAll,
    render(data, ctx) {
      renderHosts(data.hosts);
      renderNoGpu(data.series, data.hosts, ctx.since);
      for (const def of CHARTS) renderChart(def, data.series, ctx);
      $("#resource-charts").dataset.bucket = data.bucket;
    },
  });
})();
