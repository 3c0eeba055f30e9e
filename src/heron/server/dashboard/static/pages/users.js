/* Users: active users (DAU/WAU/MAU), new vs returning, a retention cohort heat map and engagement.

   User counts are per UTC day, so the charts span at least a week even on the 24h range (a single
   day is one point). Cohorts: by day over the last 14 days on 24h/7d, by week over the range on 30d. */
"use strict";
(function () {
  const { fmt, api, $ } = Heron;
  const DAY = 86400;
  const MIN_DAYS = 7;

  const MARKUP = `
    <p id="users-segment" class="notice" hidden></p>
    <div class="figures" id="users-figures"></div>
    <div class="grid">
      <article class="card" id="users-active" data-chart="active"><h3>Active users per day</h3><div class="chart"></div></article>
      <article class="card" id="users-new" data-chart="new"><h3>New vs returning users</h3><div class="chart"></div></article>
      <article class="card" id="users-engagement" data-chart="engagement"><h3>Engagement per active user</h3><div class="chart"></div></article>
      <article class="card" id="users-interactions" data-chart="interactions"><h3>Interactions per active user</h3><div class="chart"></div></article>
    </div>
    <div class="panel scroll" id="users-retention">
      <h2>Retention by <span class="period">day</span> cohort</h2>
      <p class="muted small">Share of each cohort (users first seen that <span class="period">day</span>) active again N <span class="period">day</span>s later.</p>
      <table class="heatmap"><thead></thead><tbody></tbody></table>
    </div>
    <div class="panel" id="users-active-days">
      <h2>Active days per user in this period</h2>
      <div class="bars"></div>
    </div>`;

  function span(ctx) {  // user charts: whole UTC days, at least a week
    const days = Math.max(Math.ceil(ctx.span / DAY), MIN_DAYS);
    return { start: ctx.end - days * DAY, end: ctx.end, days };
  }

  function cohortPlan(ctx) {
    if (ctx.span > 7 * DAY) return { period: "week", offsets: [0, 1, 2, 3, 4], start: ctx.start };
    return { period: "day", offsets: Array.from({ length: 14 }, (_, k) => k), start: ctx.end - 14 * DAY };
  }

  function applies(ctx) { return !ctx.segment || !Heron.isTag(ctx.segment.dim); }

  async function fetchAll(ctx) {
    const w = span(ctx);
    // User counts are kept per rollup dimension (docs/users.md): a tag segment cannot slice them.
    const seg = applies(ctx) ? Heron.sliceQuery(ctx) : "";
    const plan = cohortPlan(ctx);
    const win = "start=" + w.start + "&end=" + w.end + seg;
    const [active, engagement, retention] = await Promise.all([
      api("/v1/users/active?" + win),
      api("/v1/users/engagement?" + win),
      api("/v1/users/retention?period=" + plan.period + "&offsets=" + plan.offsets.join(",") + "&start=" + plan.start + "&end=" + ctx.end + seg),
    ]);
    return { w, active: active.days, engagement, retention };
  }

  const duration = (v) => (v == null ? "–" : v >= 60 ? (v / 60).toFixed(1) + " min" : v.toFixed(0) + " s");
  const dayEpoch = (d) => Date.parse(d + "T00:00:00Z") / 1000;

  function figure(id, title, value, note) {
    const el = document.createElement("div");
    el.className = "fig";
    el.dataset.figure = id;
    el.innerHTML = '<div class="label"></div><div class="value"></div><div class="note muted"></div>';
    el.querySelector(".label").textContent = title;
    el.querySelector(".value").textContent = value;
    el.querySelector(".note").textContent = note || "";
    return el;
  }

  function renderFigures(data) {
    const days = data.active;
    const last = days.length ? days[days.length - 1] : {};
    const sum = (k) => days.reduce((s, d) => s + (d[k] || 0), 0);
    const s = data.engagement.summary || {};
    const holder = $("#users-figures");
    holder.replaceChildren(
      figure("dau", "DAU (latest day)", fmt.int(last.dau), last.day || ""),
      figure("wau", "WAU", fmt.int(last.wau)),
      figure("mau", "MAU", fmt.int(last.mau)),
      figure("stickiness", "Stickiness (DAU/MAU)", fmt.pct(last.stickiness)),
      figure("new", "New users", fmt.int(sum("new")), "over " + data.w.days + " days"),
      figure("return_rate", "Returning share", fmt.pct(sum("dau") ? sum("returning") / sum("dau") : null), "of daily actives"),
      figure("engagement", "Engagement per active day", duration(s.engagement_s_per_active_day)),
      figure("active_days", "Active days per user", fmt.score(s.active_days_per_user)),
    );
  }

  function lineCard(id, xs, series, opts) {
    const el = $("#" + id);
    const holder = el.querySelector(".chart");
    const points = series.reduce((n, s) => n + s.values.filter((v) => v != null).length, 0);
    el.dataset.points = String(points);
    if (!points) {
      Heron.dropPlot(id);
      holder.innerHTML = '<div class="empty">no users in this period</div>';
      return;
    }
    Heron.plot(id, holder, xs, series, opts);
  }

  function renderCharts(data) {
    const days = data.active;
    const xs = days.map((d) => dayEpoch(d.day));
    lineCard("users-active", xs, [
      { label: "DAU", values: days.map((d) => d.dau) },
      { label: "WAU", values: days.map((d) => d.wau) },
      { label: "MAU", values: days.map((d) => d.mau) },
    ], { fmt: fmt.int });
    lineCard("users-new", xs, [
      { label: "new", values: days.map((d) => d.new) },
      { label: "returning", values: days.map((d) => d.returning) },
    ], { fmt: fmt.int });
    const e = data.engagement.days || [];
    const ex = e.map((d) => dayEpoch(d.day));
    lineCard("users-engagement", ex, [
      { label: "seconds per user", values: e.map((d) => d.engagement_s_per_user) },
    ], { fmt: duration });
    lineCard("users-interactions", ex, [
      { label: "interactions per user", values: e.map((d) => d.interactions_per_user) },
    ], { fmt: fmt.score });
  }

  // Cohort rows × offsets, each cell shaded by its retention rate (offset 0 is the cohort itself).
  function renderRetention(r) {
    const panel = $("#users-retention");
    for (const el of panel.querySelectorAll(".period")) el.textContent = r.period;
    const table = panel.querySelector("table");
    const head = document.createElement("tr");
    for (const text of ["cohort", "users", ...r.offsets.map((k) => (k === 0 ? r.period + " 0" : "+" + k))]) {
      const th = document.createElement("th");
      th.textContent = text;
      if (text !== "cohort") th.className = "num";
      head.appendChild(th);
    }
    table.tHead.replaceChildren(head);
    const body = table.tBodies[0];
    body.replaceChildren();
    let cells = 0;
    for (const c of r.cohorts) {
      if (!c.users) continue;
      const tr = document.createElement("tr");
      tr.dataset.cohort = c.cohort;
      const td0 = document.createElement("td");
      td0.textContent = c.cohort;
      const td1 = document.createElement("td");
      td1.className = "num";
      td1.textContent = fmt.int(c.users);
      tr.append(td0, td1);
      c.active_rate.forEach((rate, j) => {
        const td = document.createElement("td");
        td.className = "num cell";
        if (rate != null) {
          td.textContent = fmt.pct(rate);
          td.style.background = "rgba(47, 111, 222, " + (0.08 + 0.8 * rate).toFixed(3) + ")";
          if (rate > 0.55) td.style.color = "#fff";
          td.title = c.active[j] + " of " + c.users + " users";
          cells++;
        }
        tr.appendChild(td);
      });
      body.appendChild(tr);
    }
    if (!body.children.length) body.innerHTML = '<tr><td colspan="' + (r.offsets.length + 2) + '" class="muted">no new users in this period</td></tr>';
    table.dataset.cells = String(cells);
    table.dataset.period = r.period;
  }

  function renderActiveDays(histogram) {
    const holder = $("#users-active-days .bars");
    holder.replaceChildren();
    const top = Math.max(1, ...histogram.map((h) => h.users));
    for (const h of histogram) {
      if (!h.users) continue;
      const row = document.createElement("div");
      row.className = "bar-row";
      row.dataset.days = String(h.days);
      row.innerHTML = '<span class="k"></span><span class="b"><i></i></span><span class="n num"></span>';
      row.querySelector(".k").textContent = h.days + (h.days === 1 ? " day" : " days");
      row.querySelector("i").style.width = ((100 * h.users) / top).toFixed(1) + "%";
      row.querySelector(".n").textContent = fmt.int(h.users);
      holder.appendChild(row);
    }
    $("#users-active-days").dataset.rows = String(holder.children.length);
  }

  Heron.page("users", {
    title: "Users",
    fetch: fetchAll,
    render(data, ctx) {
      const section = $("section[data-page=users]");
      if (!section.childElementCount) section.innerHTML = MARKUP;
      section.dataset.segment = ctx.segment && applies(ctx) ? ctx.segment.dim + "=" + ctx.segment.value : "";
      const note = $("#users-segment");
      note.hidden = applies(ctx);
      if (!applies(ctx)) {
        note.textContent = "User figures cover all traffic: they are counted per model, version and environment, not per tag, so the segment " +
          ctx.segment.dim + "=" + ctx.segment.value + " is not applied on this page.";
      }
      renderFigures(data);
      renderCharts(data);
      renderRetention(data.retention);
      renderActiveDays(data.engagement.active_days || []);
    },
  });
})();
