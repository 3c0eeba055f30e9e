/* Drift & anomalies: an ad-hoc drift report of the range against a reference window (/v1/drift, ?ref=),
   the stored hourly drift score per feature (/v1/drift/series), the incidents of the range (/v1/incidents)
   and the anomalous minutes that are their evidence (/v1/anomalies; a click on an incident shows its own),
   each linking to the page of its segment. */
"use strict";
(function () {
  const { fmt, api, epoch, $ } = Heron;
  // ref= in the URL -> the API's reference parameter; "prev" is a window as long as the range, right before it.
  const REFS = { "7d": () => "7d", "7d-ago": () => "7d-ago", prev: (since) => since };
  const DEFAULT_REF = "7d";
  const MAX_LINES = 8;
  const MODEL_DIMS = ["model", "prompt_version", "app_version"];

  function refOf(params) { const r = params.get("ref"); return r in REFS ? r : DEFAULT_REF; }
  const num = (v, digits) => (v == null ? "–" : Math.abs(v) >= 1000 ? fmt.compact(v) : (+v.toPrecision(digits || 3)).toString());
  const pval = (v) => (v == null ? "–" : v < 0.001 ? v.toExponential(1) : v.toFixed(3));
  const time = (t) => new Date(epoch(t) * 1000).toLocaleString("en-GB", { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });

  async function fetchAll(ctx) {
    const ref = refOf(ctx.params);
    // The global segment (current_tag.<key>= for a tag) slices both windows of the ad-hoc report; stored runs and
    // anomalies are project-wide.
    const seg = ctx.segment ? ["current_", "reference_"].map((side) => "&" + encodeURIComponent(side + ctx.segment.dim) + "=" +
      encodeURIComponent(ctx.segment.value)).join("") : "";
    const [report, series, anomalies, incidents] = await Promise.all([
      api("/v1/drift?current_start=" + ctx.start + "&current_end=" + ctx.end + "&reference=" + encodeURIComponent(REFS[ref](ctx.since)) +
          "&embeddings=0&sample=20000" + seg),
      api("/v1/drift/series?start=" + ctx.start + "&end=" + ctx.end),
      api("/v1/anomalies?start=" + ctx.start + "&end=" + ctx.end),
      api("/v1/incidents?start=" + ctx.start + "&end=" + ctx.end),
    ]);
    return { ref, report, series: series.results || [], anomalies: anomalies.anomalies || [], incidents: incidents.incidents || [] };
  }

  function cell(tr, text, cls, key) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    if (key) td.dataset.col = key;
    tr.appendChild(td);
    return td;
  }

  function windowText(w) {
    return time(w.start) + " – " + time(w.end);
  }

  function renderReport(report, ref) {
    const table = $("#drift-table");
    const body = table.querySelector("tbody");
    body.innerHTML = "";
    const features = report.features || [];
    for (const f of features) {
      const tr = document.createElement("tr");
      tr.dataset.feature = f.feature;
      tr.dataset.drifted = String(!!f.drifted);
      if (f.drifted) tr.className = "drifted";
      if (f.reason) tr.classList.add("skipped");
      cell(tr, f.feature, null, "feature");
      cell(tr, f.kind, null, "kind");
      cell(tr, f.test, null, "test");
      cell(tr, num(f.statistic), "num", "statistic");
      cell(tr, pval(f.p_value), "num", "p_value");
      cell(tr, fmt.score(f.score), "num", "score");
      cell(tr, f.reason ? "not tested: " + f.reason : f.drifted ? "yes" : "no", null, "drifted");
      cell(tr, fmt.int(f.n_reference) + " / " + fmt.int(f.n_current), "num", "n");
      body.appendChild(tr);
    }
    if (!features.length) {
      const tr = document.createElement("tr");
      tr.innerHTML = '<td colspan="8" class="muted">no features to compare: no traffic in one of the windows</td>';
      body.appendChild(tr);
    }
    const tested = features.filter((f) => !f.reason);
    table.dataset.rows = String(features.length);
    table.dataset.ref = ref;
    table.dataset.drifted = String(features.filter((f) => f.drifted).length);
    const verdict = $("#drift-verdict");
    verdict.dataset.drifted = String(!!report.drifted);
    // Some features drifted but fewer than half: not green beside red rows, and the rule said.
    const some = (report.drifted_features || []).length;
    verdict.className = "verdict " + (!tested.length ? "flat" : report.drifted ? "bad" : some ? "warn" : "good");
    verdict.dataset.some = String(some);
    verdict.textContent = !tested.length ? "not enough data to compare"
      : (report.drifted ? "dataset drifted" : some ? "some features drifted, not the dataset (it needs half)" : "no dataset drift") +
        " · " + fmt.pct(report.share_drifted) + " of " + tested.length + " features drifted" +
        (some ? " (" + report.drifted_features.join(", ") + ")" : "");
    const only = Object.entries(report.current.filters || {}).map(([k, v]) => k + " = " + v).join(", ");
    $("#drift-windows").textContent = "reference " + windowText(report.reference) + " · current " + windowText(report.current) +
      (only ? " · " + only + " only" : "") + " · n = reference / current";
  }

  function renderSeries(rows) {
    const card = $("#drift-series");
    const holder = card.querySelector(".chart");
    const runs = [...new Set(rows.map((r) => epoch(r.computed_at)))].sort((a, b) => a - b);
    const best = new Map();  // feature -> max score, to keep the top MAX_LINES
    const values = new Map();  // feature -> (run time -> score; the highest of its tests)
    for (const r of rows) {
      if (r.feature === "(overall)" || r.score == null) continue;
      const t = epoch(r.computed_at);
      if (!values.has(r.feature)) values.set(r.feature, new Map());
      const m = values.get(r.feature);
      m.set(t, Math.max(m.get(t) ?? -Infinity, r.score));
      best.set(r.feature, Math.max(best.get(r.feature) ?? -Infinity, r.score));
    }
    const top = [...best.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, MAX_LINES).map(([f]) => f);
    card.dataset.runs = String(runs.length);
    card.dataset.series = String(top.length);
    const note = $("#drift-series-note");
    if (!runs.length || !top.length) {
      Heron.dropPlot("drift-series");
      holder.innerHTML = '<div class="empty">no stored drift runs in this period yet: the server stores one per hour per project ' +
        "(the last day against the week before it)</div>";
      note.textContent = "";
      return;
    }
    note.textContent = runs.length + (runs.length === 1 ? " stored run" : " stored runs") + " (last day vs the week before)" +
      (best.size > MAX_LINES ? "; the " + MAX_LINES + " features with the highest score of " + best.size : "");
    const series = top.map((f) => ({ label: f, values: runs.map((t) => values.get(f).get(t) ?? null) }));
    Heron.plot("drift-series", holder, runs, series, { fmt: fmt.score, height: 260, range: (u, lo, hi) => [0, Math.max(1, hi * 1.1)] });
  }

  // Where an anomaly's segment is shown: the Overview for the whole project, the Overview sliced to
  // the segment for a model or version, the topic's conversations for a topic.
  function segmentLink(a, since) {
    const q = "since=" + encodeURIComponent(since);
    if (a.dim === "") return "?" + q;
    if (MODEL_DIMS.includes(a.dim)) return "?" + q + "&" + a.dim + "=" + encodeURIComponent(a.value);
    if (a.dim === "topic_id") return "?page=conversations&" + q + "&topic=" + encodeURIComponent(a.value);
    return null;
  }

  function segmentCell(tr, a, since) {
    const seg = cell(tr, "", null, "segment");
    const url = segmentLink(a, since);
    const text = a.dim ? a.dim + "=" + a.value : "(all traffic)";
    if (url) {
      const link = document.createElement("a");
      link.href = url;
      link.textContent = text;
      seg.appendChild(link);
    } else seg.textContent = text;
  }

  const duration = (s) => (s < 3600 ? Math.max(1, Math.round(s / 60)) + " min" : (s / 3600).toFixed(1) + " h");

  // An incident's evidence: its segment's rows (and the project total's it explains) between its first and last minute.
  function evidenceOf(incident) {
    const segs = [incident.segment, ...incident.also.map((x) => ({ dim: x.dim, value: x.value }))];
    const lo = epoch(incident.opened), hi = epoch(incident.last_seen);
    return (a) => segs.some((s) => s.dim === a.dim && s.value === a.value) && epoch(a.t) >= lo && epoch(a.t) < hi;
  }

  function renderIncidents(incidents, anomalies, since) {
    const table = $("#drift-incidents");
    const body = table.querySelector("tbody");
    body.innerHTML = "";
    for (const i of incidents) {
      const tr = document.createElement("tr");
      tr.dataset.id = i.id;
      tr.dataset.status = i.status;
      tr.dataset.severity = i.severity;
      tr.className = "incident " + i.severity + (i.status === "open" ? " open" : "");
      tr.title = "show the anomalous minutes behind this incident";
      cell(tr, i.status, null, "status");
      cell(tr, i.severity, null, "severity");
      segmentCell(tr, i.segment, since);
      cell(tr, i.title, null, "title");
      cell(tr, time(i.opened), null, "opened");
      cell(tr, duration(i.duration_s || 60), "num", "duration");
      cell(tr, fmt.int(i.evidence), "num", "evidence");
      tr.addEventListener("click", (e) => {
        if (e.target.closest("a")) return;
        const picked = table.dataset.picked === i.id ? "" : i.id;
        table.dataset.picked = picked;
        body.querySelectorAll("tr").forEach((row) => row.classList.toggle("picked", row.dataset.id === picked));
        renderAnomalies(picked ? anomalies.filter(evidenceOf(i)) : anomalies, since, picked ? i.title : "");
      });
      body.appendChild(tr);
    }
    finish(table, incidents.length, 7, "no incidents in this period");
    table.dataset.picked = "";
  }

  // A table's row count, or one muted row saying there is nothing.
  function finish(table, n, columns, empty) {
    if (!n) {
      const tr = document.createElement("tr");
      tr.innerHTML = '<td colspan="' + columns + '" class="muted empty-row">' + empty + "</td>";
      table.querySelector("tbody").appendChild(tr);
    }
    table.dataset.rows = String(n);
  }

  function renderAnomalies(rows, since, only) {
    const table = $("#drift-anomalies");
    const body = table.querySelector("tbody");
    body.innerHTML = "";
    $("#drift-anomalies-note").textContent = only ? "evidence of: " + only + " (click the incident again for all)" : "";
    table.dataset.filtered = String(!!only);
    for (const a of rows) {
      const tr = document.createElement("tr");
      tr.dataset.metric = a.metric;
      cell(tr, time(a.t), null, "time");
      cell(tr, a.metric, null, "metric");
      segmentCell(tr, a, since);
      cell(tr, num(a.observed), "num", "observed");
      cell(tr, num(a.expected), "num", "expected");
      cell(tr, num(a.low) + " .. " + num(a.high), "num", "range");
      cell(tr, fmt.score(a.score), "num", "score");
      cell(tr, a.kind, null, "kind");
      body.appendChild(tr);
    }
    finish(table, rows.length, 8, "no anomalies in this period");
  }

  let wired = false;
  Heron.page("drift", {
    title: "Drift & anomalies",
    fetch: fetchAll,
    render(data, ctx) {
      if (!wired) {
        wired = true;
        $("#drift-ref").addEventListener("change", (e) => Heron.setParam("ref", e.target.value));
      }
      $("#drift-ref").value = data.ref;
      $("#drift-ref option[value=prev]").textContent = "previous window (" + ctx.since + ")";
      renderReport(data.report, data.ref);
      renderSeries(data.series);
      renderIncidents(data.incidents, data.anomalies, ctx.since);
      renderAnomalies(data.anomalies, ctx.since, "");
    },
  });
})();
