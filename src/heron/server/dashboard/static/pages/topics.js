/* Topics: the topic table (/v1/topics), a map of the topic model (/v1/topics/map: alike topics
   near each other, bubble area = volume, colour = satisfaction or frustration) and the flow of
   sessions between topics (/v1/topics/flow: a Sankey of every step, from the topic or session
   start on the left to the next topic or session end on the right), with where sessions end and
   the commonest topic changes.

   A click on a topic (row, bubble or node) selects it: ?topic=<id> in the URL, which the
   Conversations page reads too. The global segment (a tag too) slices the table, the bubbles'
   volumes and the flow: the topic rollups hold one dimension at a time, so the server sums a
   segment's turns where they cannot; the map's layout is the whole topic model's. */
"use strict";
(function () {
  const { fmt, api, PALETTE, $ } = Heron;
  const SVG = "http://www.w3.org/2000/svg";
  const START = -2, OTHER = -1, END = -3;
  const MAX_FLOW_NODES = 14;  // busiest topics drawn in the Sankey; the rest are folded into one node
  const MAX_MAP_LABELS = 20;
  const COLUMNS = [  // key, header, format, numeric
    ["label", "topic", null, false], ["interactions", "turns", fmt.int, true], ["share", "share", fmt.pct, true],
    ["trend", "trend", trendText, true], ["series", "daily", null, false], ["satisfaction_avg", "satisfaction", fmt.score, true],
    ["frustration_rate", "frustration", fmt.pct, true], ["abandonment_rate", "abandonment", fmt.pct, true],
    ["cost_usd", "cost", fmt.usd, true],
  ];
  const COLOURS = {  // map colouring: a figure, its format, and whether higher is better
    // span: the least range the colours stretch over, so near-equal topics do not look far apart
    satisfaction: { key: "satisfaction_avg", title: "satisfaction", f: fmt.score, good: true, span: 0.1 },
    frustration: { key: "frustration_rate", title: "frustration rate", f: fmt.pct, good: false, span: 0.05 },
  };
  const view = { sort: "interactions", desc: true, colour: "satisfaction", self: true };
  let data = null, ctxNow = null, built = false;

  function trendText(v, row) {
    if (v == null) return row && row.new ? "new" : "–";
    return (v > 0 ? "▲ +" : v < 0 ? "▼ −" : "") + fmt.pct(Math.abs(v));
  }

  function el(tag, attrs, text, parent) {
    const node = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v != null) node.setAttribute(k, v);
    if (text != null) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }
  const svg = (tag, attrs, text, parent) => el("svg:" + tag, attrs, text, parent);

  function selected() {
    const v = ctxNow && ctxNow.params.get("topic");
    return v != null && v !== "" && !isNaN(+v) ? +v : null;
  }
  function select(id) { Heron.setParam("topic", selected() === id ? null : String(id)); }

  function conversationsHref(id) {
    const params = new URLSearchParams(ctxNow.params);
    params.set("page", "conversations");
    params.set("topic", String(id));
    return location.pathname + "?" + params;
  }

  // ---- fetch -----------------------------------------------------------------------------------
  let enriching = null;  // whether the server enriches at all (asked once: it does not change while it runs)
  async function fetchAll(ctx) {
    if (enriching === null) enriching = !!(await api("/v1/status")).enrichment;
    if (!enriching) return { off: true };
    const win = "start=" + ctx.start + "&end=" + ctx.end + Heron.sliceQuery(ctx);
    const [table, flow, map] = await Promise.all([api("/v1/topics?" + win), api("/v1/topics/flow?" + win), api("/v1/topics/map")]);
    return { table, flow, map };
  }

  // ---- markup, made once ------------------------------------------------------------------------
  function build(section) {
    section.innerHTML = `
      <p id="topics-segment" class="notice" hidden></p>
      <p id="topics-empty" class="notice" hidden></p>
      <div class="toolbar"><span id="topics-summary" class="muted"></span><span id="topics-selected"></span></div>
      <div class="panel scroll"><h2>Topics in this period</h2>
        <table id="topics-table"><thead><tr></tr></thead><tbody></tbody></table></div>
      <div class="topics-pair">
        <article id="topics-map" class="card"><h3>Topic map</h3>
          <p class="muted small">Alike topics sit near each other (their centroids, scaled to a plane); bubble area is volume.
            <label>colour by <select id="topics-colour"><option value="satisfaction">satisfaction</option>
            <option value="frustration">frustration</option></select></label></p>
          <div class="holder"></div><div class="legend"></div><p class="muted small map-note"></p></article>
        <div class="stack">
          <div class="panel scroll"><h2>Where sessions end</h2>
            <table id="topics-endings"><thead><tr><th>last topic</th><th class="num">sessions ended</th><th class="num">abandoned</th>
              <th class="num">abandonment</th></tr></thead><tbody></tbody></table></div>
          <div class="panel scroll"><h2>Commonest topic changes</h2>
            <table id="topics-transitions"><thead><tr><th>from</th><th>to</th><th class="num">sessions</th></tr></thead><tbody></tbody></table></div>
        </div>
      </div>
      <article id="topics-flow" class="card wide"><h3>Conversation flow between topics</h3>
        <p class="muted small">Each session step: from the session start or a topic (left) to the next topic or the session end (right); width is steps.
          <label><input type="checkbox" id="topics-self" checked> include staying on a topic</label></p>
        <div class="holder"></div></article>
      </div>`;
    const head = section.querySelector("#topics-table thead tr");
    for (const [key, title, , num] of COLUMNS) {
      const th = el("th", { "data-sort": key === "series" ? null : key, class: num ? "num" : null }, title, head);
      if (key !== "series") th.addEventListener("click", () => {
        view.desc = view.sort === key ? !view.desc : key !== "label";
        view.sort = key;
        renderTable();
      });
    }
    $("#topics-colour").addEventListener("change", (e) => { view.colour = e.target.value; renderMap(); });
    $("#topics-self").addEventListener("change", (e) => { view.self = e.target.checked; renderFlow(); });
  }

  // ---- table -------------------------------------------------------------------------------------
  function sparkline(series, parent) {
    const w = 64, h = 16;
    const s = svg("svg", { class: "spark", width: w, height: h, viewBox: `0 0 ${w} ${h}`, "data-points": String(series.length) }, null, parent);
    if (!series.length) return;
    const max = Math.max(...series.map((p) => p.interactions), 1);
    const x = (i) => (series.length === 1 ? w / 2 : 2 + (i * (w - 4)) / (series.length - 1));
    const y = (v) => h - 2 - ((h - 4) * v) / max;
    if (series.length > 1) svg("polyline", { points: series.map((p, i) => x(i) + "," + y(p.interactions)).join(" ") }, null, s);
    svg("circle", { cx: x(series.length - 1), cy: y(series[series.length - 1].interactions), r: 1.8 }, null, s);
    svg("title", {}, series.map((p) => new Date(Heron.epoch(p.t) * 1000).toISOString().slice(5, 10) + ": " + fmt.int(p.interactions)).join("\n"), s);
  }

  function sortValue(row, key) {
    const v = row[key];
    return key === "label" ? String(v).toLowerCase() : v == null ? -Infinity : v;
  }

  function renderTable() {
    const table = $("#topics-table"), body = table.querySelector("tbody");
    const rows = [...data.table.topics].sort((a, b) => {
      const x = sortValue(a, view.sort), y = sortValue(b, view.sort);
      return (x < y ? -1 : x > y ? 1 : 0) * (view.desc ? -1 : 1) || b.interactions - a.interactions || a.topic_id - b.topic_id;
    });
    for (const th of table.querySelectorAll("th[data-sort]")) {
      th.setAttribute("aria-sort", th.dataset.sort === view.sort ? (view.desc ? "descending" : "ascending") : "none");
    }
    body.innerHTML = "";
    const pick = selected();
    for (const r of rows) {
      const tr = el("tr", { "data-topic": String(r.topic_id), class: r.topic_id === pick ? "selected" : null }, null, body);
      if (r.retired) tr.classList.add("retired");
      tr.title = (r.keywords || []).join(", ") + (r.retired ? " (retired by a refit)" : "") + "\nclick to select; the topic's name opens its conversations";
      for (const [key, , f, num] of COLUMNS) {
        const td = el("td", { "data-col": key, class: num ? "num" : null }, null, tr);
        if (key === "label") {
          const a = el("a", { href: conversationsHref(r.topic_id), "data-conversations": String(r.topic_id) }, r.label, td);
          a.addEventListener("click", (e) => e.stopPropagation());
          if (r.retired) el("span", { class: "muted" }, " (retired)", td);
        } else if (key === "series") sparkline(r.series || [], td);
        else td.textContent = f(r[key], r);
        if (key === "trend" && r.trend != null) td.classList.add(r.trend > 0 ? "up" : "down");
      }
      tr.addEventListener("click", () => select(r.topic_id));
    }
    if (!rows.length) el("tr", {}, null, body).appendChild(el("td", { colspan: String(COLUMNS.length), class: "muted empty-row" }, "no topics in this period"));
    table.dataset.rows = String(rows.length);
    table.dataset.sort = view.sort + (view.desc ? ":desc" : ":asc");
  }

  // ---- map ---------------------------------------------------------------------------------------
  // Colour from red (worst) through amber to green (best) over the figure's range in this period.
  function colourOf(v, lo, hi, good) {
    if (v == null) return "#b8bec8";
    let t = hi > lo ? (v - lo) / (hi - lo) : 0.5;
    if (!good) t = 1 - t;
    const stops = [[199, 54, 47], [232, 176, 48], [26, 138, 74]];
    const [a, b, u] = t < 0.5 ? [stops[0], stops[1], t * 2] : [stops[1], stops[2], (t - 0.5) * 2];
    return "rgb(" + a.map((c, i) => Math.round(c + (b[i] - c) * u)).join(",") + ")";
  }

  // Push overlapping bubbles apart a little (deterministic), so small topics stay visible and clickable.
  function relax(nodes) {
    for (let it = 0; it < 60; it++) {
      let moved = false;
      for (let i = 0; i < nodes.length; i++) for (let j = i + 1; j < nodes.length; j++) {
        const a = nodes[i], b = nodes[j];
        let dx = b.x - a.x, dy = b.y - a.y, d = Math.hypot(dx, dy);
        const need = a.r + b.r + 2;
        if (d >= need) continue;
        if (d < 1e-6) { dx = 1; dy = 0; d = 1; }
        const push = (need - d) / 2;
        a.x -= (dx / d) * push; a.y -= (dy / d) * push; b.x += (dx / d) * push; b.y += (dy / d) * push;
        moved = true;
      }
      if (!moved) break;
    }
  }

  function renderMap() {
    const card = $("#topics-map"), holder = card.querySelector(".holder"), legend = card.querySelector(".legend");
    holder.innerHTML = ""; legend.innerHTML = "";
    const volume = new Map(data.table.topics.map((r) => [r.topic_id, r]));
    const topics = data.map.topics || [];
    card.dataset.bubbles = String(topics.length);
    card.querySelector(".map-note").textContent = topics.length
      ? "The plane shows " + fmt.pct(data.map.explained) + " of the spread between topic centroids (model version " + data.map.model_version + ")."
      : "";
    if (!topics.length) { el("div", { class: "empty" }, "no topic model yet", holder); return; }
    const SCALE = 220;  // map units per unit of the layout; the same on both axes, so distances keep their meaning
    const scheme = COLOURS[view.colour];
    const figures = topics.map((t) => (volume.get(t.topic_id) || {})[scheme.key]).filter((v) => v != null);
    let lo = Math.min(...figures), hi = Math.max(...figures);
    if (hi - lo < scheme.span) { const mid = (lo + hi) / 2; lo = mid - scheme.span / 2; hi = mid + scheme.span / 2; }
    const most = Math.max(1, ...topics.map((t) => (volume.get(t.topic_id) || {}).interactions || 0));
    const nodes = topics.map((t) => {
      const row = volume.get(t.topic_id) || { interactions: 0 };
      return { t, row, x: t.x * SCALE, y: -t.y * SCALE, r: 5 + 30 * Math.sqrt((row.interactions || 0) / most) };
    });
    relax(nodes);
    const pick = selected();
    const s = svg("svg", { class: "map", role: "img", "aria-label": "topic map" }, null, holder);
    const byVolume = [...nodes].sort((a, b) => b.row.interactions - a.row.interactions || a.t.topic_id - b.t.topic_id);
    for (const n of byVolume) {  // big bubbles first, so small ones stay on top
      const v = n.row[scheme.key];
      const c = svg("circle", { cx: n.x.toFixed(1), cy: n.y.toFixed(1), r: n.r.toFixed(1), fill: n.row.interactions ? colourOf(v, lo, hi, scheme.good) : "none",
                                stroke: n.t.topic_id === pick ? "#1d2430" : colourOf(v, lo, hi, scheme.good), "stroke-width": n.t.topic_id === pick ? 3 : 1,
                                "data-topic": String(n.t.topic_id), "data-volume": String(n.row.interactions || 0), class: "bubble" }, null, s);
      const near = n.t.nearest ? (volume.get(n.t.nearest.topic_id) || {}).label || "topic " + n.t.nearest.topic_id : null;
      svg("title", {}, n.t.label + "\n" + fmt.int(n.row.interactions || 0) + " turns (" + fmt.pct(n.row.share || 0) + ")" +
        "\nsatisfaction " + fmt.score(n.row.satisfaction_avg) + ", frustration " + fmt.pct(n.row.frustration_rate) +
        (near ? "\nmost alike: " + near + " (cosine " + n.t.nearest.cosine.toFixed(2) + ")" : "") +
        (n.t.keywords.length ? "\n" + n.t.keywords.join(", ") : ""), c);
      c.addEventListener("click", () => select(n.t.topic_id));
    }
    const labelled = new Set(byVolume.slice(0, MAX_MAP_LABELS).map((n) => n.t.topic_id));
    const box = { x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity };
    const grow = (x0, y0, x1, y1) => { box.x0 = Math.min(box.x0, x0); box.y0 = Math.min(box.y0, y0); box.x1 = Math.max(box.x1, x1); box.y1 = Math.max(box.y1, y1); };
    for (const n of nodes) {
      grow(n.x - n.r, n.y - n.r, n.x + n.r, n.y + n.r);
      if (!labelled.has(n.t.topic_id)) continue;
      const text = n.t.label.length > 26 ? n.t.label.slice(0, 25) + "…" : n.t.label;
      svg("text", { x: n.x.toFixed(1), y: (n.y + n.r + 12).toFixed(1), "text-anchor": "middle", class: "map-label" }, text, s);
      grow(n.x - text.length * 3.3, n.y, n.x + text.length * 3.3, n.y + n.r + 15);  // about 6.6 units a character
    }
    const M = 8;  // the view fits what is drawn, so nothing is clipped and no space is wasted
    const w = Math.max(box.x1 - box.x0, 300) + 2 * M, h = Math.max(box.y1 - box.y0, 160) + 2 * M;
    s.setAttribute("viewBox", [(box.x0 + box.x1 - w) / 2, (box.y0 + box.y1 - h) / 2, w, h].map((v) => v.toFixed(1)).join(" "));
    // legend: the colour ramp over this period's range
    if (figures.length) {
      const ls = svg("svg", { viewBox: "0 0 240 28", width: 240, height: 28 }, null, legend);
      const grad = svg("linearGradient", { id: "topics-ramp" }, null, svg("defs", {}, null, ls));
      for (let k = 0; k <= 4; k++) svg("stop", { offset: k * 25 + "%", "stop-color": colourOf(lo + ((hi - lo) * k) / 4, lo, hi, scheme.good) }, null, grad);
      svg("rect", { x: 0, y: 0, width: 240, height: 10, fill: "url(#topics-ramp)", rx: 2 }, null, ls);
      svg("text", { x: 0, y: 24, class: "map-label" }, scheme.f(lo), ls);
      svg("text", { x: 240, y: 24, "text-anchor": "end", class: "map-label" }, scheme.f(hi), ls);
      el("span", { class: "muted small" }, " " + scheme.title + " (hollow: no turns in this period)", legend);
    }
  }

  // ---- Sankey ------------------------------------------------------------------------------------
  function flowGraph() {
    const order = new Map(data.table.topics.map((r, i) => [r.topic_id, i]));
    const label = new Map(data.flow.nodes.map((n) => [n.id, n.label]));
    let links = data.flow.links.filter((l) => view.self || l.source !== l.target || l.source < OTHER);
    // Keep the busiest topics; fold the rest into one node (id "rest").
    const weight = new Map();
    for (const l of links) for (const id of [l.source, l.target]) weight.set(id, (weight.get(id) || 0) + l.value);
    const topics = [...weight.keys()].filter((id) => id >= 0).sort((a, b) => weight.get(b) - weight.get(a) || a - b);
    const kept = new Set(topics.slice(0, MAX_FLOW_NODES));
    const fold = (id) => (id >= 0 && !kept.has(id) ? "rest" : id);
    const merged = new Map();
    for (const l of links) {
      const s = fold(l.source), t = fold(l.target), key = s + ">" + t;
      const m = merged.get(key) || { source: s, target: t, value: 0, frustrated: 0 };
      m.value += l.value; m.frustrated += l.frustrated;
      merged.set(key, m);
    }
    links = [...merged.values()];
    const rank = (id) => (id === START ? -1e9 : id === END ? 1e9 : id === "rest" ? 1e8 : id === OTHER ? 1e7 : order.has(id) ? order.get(id) : 1e6 + id);
    const names = (id) => (id === "rest" ? (topics.length - kept.size) + " smaller topics" : label.get(id) || "topic " + id);
    const side = (pick) => [...new Set(links.map(pick))].sort((a, b) => rank(a) - rank(b)).map((id) => ({ id, label: names(id), value: 0 }));
    return { links, left: side((l) => l.source), right: side((l) => l.target) };
  }

  function renderFlow() {
    const card = $("#topics-flow"), holder = card.querySelector(".holder");
    holder.innerHTML = "";
    const g = flowGraph();
    card.dataset.links = String(g.links.length);
    card.dataset.nodes = String(new Set([...g.left, ...g.right].map((n) => n.id)).size);
    if (!g.links.length) { el("div", { class: "empty" }, "no sessions in this period", holder); return; }
    const W = 1100, LABEL = 230, NODE = 14, GAP = 8, MIN_ROW = 13;
    const x0 = LABEL, x1 = W - LABEL;
    const total = g.links.reduce((s, l) => s + l.value, 0);
    const rows = Math.max(g.left.length, g.right.length);
    const H = Math.max(300, rows * 30);
    const scale = (H - GAP * (rows - 1)) / total;
    const place = (nodes, key) => {
      const at = new Map();
      for (const n of nodes) n.value = g.links.filter((l) => l[key] === n.id).reduce((s, l) => s + l.value, 0);
      let y = 0;
      for (const n of nodes) { n.y = y; n.h = Math.max(1, n.value * scale); at.set(n.id, n); y += Math.max(n.h, MIN_ROW) + GAP; }
      height = Math.max(height, y - GAP);
      return at;
    };
    let height = 0;  // small nodes get a row of their own, so their labels do not overlap
    const L = place(g.left, "source"), R = place(g.right, "target");
    const colour = new Map();
    [...g.left, ...g.right].forEach((n) => { if (!colour.has(n.id)) colour.set(n.id, n.id === START || n.id === END ? "#5a6b80" : PALETTE[colour.size % PALETTE.length]); });
    const s = svg("svg", { viewBox: `0 0 ${W} ${Math.ceil(height) + 4}`, class: "sankey", role: "img", "aria-label": "conversation flow" }, null, holder);
    const links = svg("g", { class: "links" }, null, s);
    const outY = new Map(), inY = new Map();
    const sorted = [...g.links].sort((a, b) => L.get(a.source).y - L.get(b.source).y || R.get(a.target).y - R.get(b.target).y);
    for (const l of sorted) {  // stack each node's links in the order of the nodes at their other end
      const a = L.get(l.source), b = R.get(l.target), w = Math.max(1, l.value * scale);
      const ya = a.y + (outY.get(a.id) || 0) + w / 2; outY.set(a.id, (outY.get(a.id) || 0) + l.value * scale);
      const yb = b.y + (inY.get(b.id) || 0) + w / 2; inY.set(b.id, (inY.get(b.id) || 0) + l.value * scale);
      const mid = (x0 + NODE + x1) / 2;
      const p = svg("path", { d: `M${x0 + NODE},${ya.toFixed(1)} C${mid},${ya.toFixed(1)} ${mid},${yb.toFixed(1)} ${x1},${yb.toFixed(1)}`,
                              stroke: colour.get(l.source), "stroke-width": w.toFixed(1), fill: "none", class: "link",
                              "data-source": String(l.source), "data-target": String(l.target), "data-value": String(l.value) }, null, links);
      const into = l.target === END ? "abandoned after a poor answer" : "into a frustrated message";
      svg("title", {}, a.label + " → " + b.label + ": " + fmt.int(l.value) + " steps" + (l.frustrated ? ", " + fmt.int(l.frustrated) + " " + into : ""), p);
    }
    const pick = selected();
    for (const [nodes, x, anchor, dx] of [[g.left, x0, "end", -6], [g.right, x1, "start", NODE + 6]]) {
      for (const n of nodes) {
        const r = svg("rect", { x, y: n.y.toFixed(1), width: NODE, height: n.h.toFixed(1), fill: colour.get(n.id), class: "node",
                                "data-node": String(n.id), stroke: n.id === pick ? "#1d2430" : null, "stroke-width": n.id === pick ? 2 : null }, null, s);
        svg("title", {}, n.label + ": " + fmt.int(n.value) + " steps", r);
        if (typeof n.id === "number" && n.id >= 0) { r.style.cursor = "pointer"; r.addEventListener("click", () => select(n.id)); }
        const text = n.label.length > 36 ? n.label.slice(0, 35) + "…" : n.label;
        svg("text", { x: x + dx, y: (n.y + n.h / 2 + 4).toFixed(1), "text-anchor": anchor, class: "node-label" }, text, s);
      }
    }
  }

  function renderEndings() {
    const endings = $("#topics-endings tbody"), moves = $("#topics-transitions tbody");
    endings.innerHTML = ""; moves.innerHTML = "";
    for (const e of data.flow.endings) {
      const tr = el("tr", { "data-topic": String(e.topic_id) }, null, endings);
      for (const [v, num] of [[e.label, false], [fmt.int(e.sessions_ended), true], [fmt.int(e.abandoned), true], [fmt.pct(e.abandonment_rate), true]]) {
        el("td", { class: num ? "num" : null }, v, tr);
      }
    }
    for (const t of data.flow.top_transitions) {
      const tr = el("tr", {}, null, moves);
      el("td", {}, t.from, tr); el("td", {}, t.to, tr); el("td", { class: "num" }, fmt.int(t.sessions), tr);
    }
    if (!data.flow.endings.length) el("tr", {}, null, endings).appendChild(el("td", { colspan: "4", class: "muted empty-row" }, "no sessions in this period"));
    if (!data.flow.top_transitions.length) el("tr", {}, null, moves).appendChild(el("td", { colspan: "3", class: "muted empty-row" }, "no topic changes in this period"));
    $("#topics-endings").dataset.rows = String(data.flow.endings.length);
    $("#topics-transitions").dataset.rows = String(data.flow.top_transitions.length);
  }

  function renderNotes(ctx) {
    const seg = $("#topics-segment");
    seg.hidden = !ctx.segment;
    if (ctx.segment) {
      seg.textContent = "Topic figures and flow of the segment " + ctx.segment.dim + "=" + ctx.segment.value +
        " only: turns, shares and trends count its turns; the map places the whole model's topics.";
    }
    const empty = $("#topics-empty"), t = data.table;
    const section = $("section[data-page=topics]");
    if (data.off) {
      section.dataset.topics = "off";
      empty.hidden = false;
      empty.textContent = "Topics need enrichment, which is off on this server (HERON_ENRICH=0).";
      return;
    }
    section.dataset.topics = t.model_version == null ? "none" : "ready";
    empty.hidden = t.model_version != null;
    if (t.model_version == null) {
      empty.textContent = "No topic model yet: topics appear once " + fmt.int(data.map.min_messages) + " distinct user messages have been enriched" +
        (t.unassigned ? " (" + fmt.int(t.unassigned) + " turns in this period are waiting for one)." : ".");
    }
    const pick = selected(), row = t.topics.find((r) => r.topic_id === pick);
    $("#topics-summary").textContent = t.model_version == null ? "" :
      fmt.int(t.topics.length) + " topics with turns in this period · topic model version " + t.model_version +
      (t.unassigned ? " · " + fmt.int(t.unassigned) + " turns not yet assigned" : "");
    const bar = $("#topics-selected");
    bar.innerHTML = "";
    if (pick != null) {
      el("span", {}, "selected: " + (row ? row.label : "topic " + pick) + " · ", bar);
      el("a", { href: conversationsHref(pick), id: "topics-open" }, "its conversations →", bar);
      el("span", {}, " · ", bar);
      el("button", { type: "button", class: "link" }, "clear", bar).addEventListener("click", () => Heron.setParam("topic", null));
    }
  }

  Heron.page("topics", {
    title: "Topics",
    fetch: fetchAll,
    render(fetched, ctx) {
      const section = $("section[data-page=topics]");
      if (!built) { built = true; build(section); }
      data = fetched; ctxNow = ctx;
      if (data.off) data = { off: true, table: { topics: [], unassigned: 0 }, flow: { nodes: [], links: [], endings: [], top_transitions: [] },
                             map: { topics: [], explained: null } };
      $("#topics-colour").value = view.colour;
      $("#topics-self").checked = view.self;
      renderNotes(ctx);
      renderTable();
      renderMap();
      renderFlow();
      renderEndings();
    },
  });
})();
