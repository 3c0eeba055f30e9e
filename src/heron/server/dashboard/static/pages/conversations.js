/* Conversations: find conversations (GET /v1/conversations) by time, model or version (the dashboard's
   segment), topic, user, sentiment, frustrated only, errors only and text; open one (?conversation=<id>,
   GET /v1/conversations/{id}) to read it turn by turn with each turn's signals and feedback.

   Every filter lives in the URL (q, user, topic, sentiment, frustrated, errors; model / app_version /
   prompt_version, or any other segment such as tag.<key>, are the global segment), so a search is a link and Back undoes a change. "more"
   appends the next page in place. All text from the API is set with textContent. */
"use strict";
(function () {
  const { fmt, api, $ } = Heron;
  const LIMIT = 50;
  const CLIP = 700;        // characters of a message shown before "show all"
  const SENTIMENTS = ["negative", "neutral", "positive"];
  const SIGNAL_FLAGS = [   // [key in signals, label, title]
    ["rephrase", "rephrase", "the user asked again in other words"],
    ["repeat", "repeat", "the user sent (nearly) the same message again"],
    ["complaint", "complaint", "the user complained about the answer"],
    ["shouting", "shouting", "ALL CAPS or !!!"],
    ["refusal", "refusal", "the reply declined to help"],
    ["empty_reply", "empty reply", "the reply was empty"],
    ["truncated", "truncated", "the reply hit the length limit"],
    ["error", "error", "the call failed"],
    ["abandoned", "abandoned", "the session ended right after a poor answer"],
  ];

  const MARKUP = `
    <form id="conv-filters" class="conv-filters" role="search" autocomplete="off">
      <input type="search" id="conv-q" name="q" placeholder="text in messages or replies" aria-label="Text search">
      <select id="conv-model" aria-label="Model"></select>
      <select id="conv-version" aria-label="Version"></select>
      <select id="conv-topic" aria-label="Topic"></select>
      <input type="search" id="conv-user" name="user" placeholder="user id" aria-label="User">
      <select id="conv-sentiment" aria-label="Sentiment"></select>
      <label><input type="checkbox" id="conv-frustrated"> frustrated only</label>
      <label><input type="checkbox" id="conv-errors"> errors only</label>
      <button type="submit">Search</button>
      <button type="button" id="conv-clear" class="link">clear filters</button>
    </form>
    <p id="conv-note" class="muted small"></p>
    <div class="conv-layout">
      <div class="panel scroll conv-list">
        <table id="conv-table">
          <thead><tr>
            <th>last match</th><th>user</th><th>first message</th><th class="num">turns</th><th>models</th>
            <th>signals</th><th class="num">satisfaction</th><th>topics</th><th class="num">cost</th>
          </tr></thead>
          <tbody></tbody>
        </table>
        <p class="conv-more"><button type="button" id="conv-more" hidden>more</button></p>
      </div>
      <aside id="conv-detail" class="panel" hidden aria-live="polite">
        <div class="conv-head">
          <h2>Conversation <code class="conv-id"></code></h2>
          <button type="button" id="conv-close" class="link">close</button>
        </div>
        <p class="meta muted small"></p>
        <ol class="turns"></ol>
      </aside>
    </div>`;

  function el(tag, attrs, text, parent) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v != null) node.setAttribute(k, v);
    if (text != null) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }

  // Links and changes of several URL parameters at once (one history entry), through the shell.
  const urlWith = (changes) => Heron.href("conversations", changes);
  const setParams = (changes) => Heron.setParams(changes);

  const time = (t) => (t ? new Date(t).toLocaleString() : "–");
  const short = (t) => (t ? new Date(t).toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }) : "–");
  const flag = (params, name) => ["1", "true"].includes((params.get(name) || "").toLowerCase());

  // ---- fetch ------------------------------------------------------------------------------------
  function listQuery(ctx) {
    const q = new URLSearchParams({ start: String(ctx.start), end: String(ctx.end), limit: String(LIMIT) });
    for (const name of ["q", "user", "topic", "sentiment"]) { const v = ctx.params.get(name); if (v) q.set(name, v); }
    for (const name of ["frustrated", "errors"]) if (flag(ctx.params, name)) q.set(name, "1");
    return q.toString() + Heron.sliceQuery(ctx);
  }

  const cache = new Map();  // "what|since|hour" -> Promise: filter options change slowly
  function cached(key, ctx, load) {
    const k = key + "|" + ctx.since + "|" + Math.floor(ctx.end / 3600);
    if (!cache.has(k)) cache.set(k, load().catch((err) => { cache.delete(k); throw err; }));
    return cache.get(k);
  }
  function valuesOf(dim, ctx) {
    return cached(dim, ctx, () => api("/v1/metrics?bucket=all&metrics=count&group_by=" + dim + "&start=" + ctx.start + "&end=" + ctx.end)
      .then((r) => r.series.filter((row) => row.group != null).sort((a, b) => b.count - a.count).map((row) => String(row.group))));
  }
  function topicsOf(ctx) {  // null when the server does not enrich (no topics at all)
    return cached("topics", ctx, () => api("/v1/topics?start=" + ctx.start + "&end=" + ctx.end)
      .then((r) => r.topics.map((t) => ({ id: t.topic_id, label: t.label })))
      .catch((err) => { if (err.status === 400) return null; throw err; }));
  }

  async function fetchAll(ctx) {
    const open = ctx.params.get("conversation");
    const [list, models, apps, prompts, topics, detail] = await Promise.all([
      api("/v1/conversations?" + listQuery(ctx)),
      valuesOf("model", ctx), valuesOf("app_version", ctx), valuesOf("prompt_version", ctx), topicsOf(ctx),
      open ? api("/v1/conversations/" + encodeURIComponent(open)).catch((err) => { if (err.status === 404) return { missing: open }; throw err; }) : null,
    ]);
    return { list, options: { model: models, app_version: apps, prompt_version: prompts, topics }, detail };
  }

  // ---- filters ----------------------------------------------------------------------------------
  function options(select, pairs, value) {
    if (value && !pairs.some(([v]) => v === value)) pairs.push([value, value]);
    select.replaceChildren(...pairs.map(([v, text]) => { const o = el("option", { value: v }, text); return o; }));
    select.value = value || "";
  }

  function renderFilters(data, ctx) {
    const p = ctx.params;
    const seg = ctx.segment;
    $("#conv-q").value = p.get("q") || "";
    $("#conv-user").value = p.get("user") || "";
    options($("#conv-model"), [["", "any model"], ...data.options.model.map((m) => [m, m])], seg && seg.dim === "model" ? seg.value : "");
    const version = $("#conv-version");
    version.replaceChildren(el("option", { value: "" }, "any version"));
    for (const dim of ["app_version", "prompt_version"]) {
      const group = el("optgroup", { label: dim.replace("_", " ") }, null, version);
      const values = data.options[dim].slice();
      if (seg && seg.dim === dim && !values.includes(seg.value)) values.unshift(seg.value);
      for (const v of values) el("option", { value: dim + "=" + v }, v, group);
    }
    version.value = seg && (seg.dim === "app_version" || seg.dim === "prompt_version") ? seg.dim + "=" + seg.value : "";
    const topics = data.options.topics;
    const topic = $("#conv-topic");
    topic.disabled = topics == null;
    options(topic, [["", topics == null ? "no topics (enrichment off)" : "any topic"], ...(topics || []).map((t) => [String(t.id), t.label])], p.get("topic") || "");
    options($("#conv-sentiment"), [["", "any sentiment"], ...SENTIMENTS.map((s) => [s, s + " messages"])], p.get("sentiment") || "");
    $("#conv-frustrated").checked = flag(p, "frustrated");
    $("#conv-errors").checked = flag(p, "errors");
  }

  function describe(data, ctx) {
    const p = ctx.params;
    const parts = [];
    if (ctx.segment) parts.push(Heron.segmentLabel(ctx.segment.dim) + " " + ctx.segment.value);
    if (p.get("q")) parts.push("text “" + p.get("q") + "”");
    if (p.get("user")) parts.push("user " + p.get("user"));
    if (p.get("topic")) {
      const t = (data.options.topics || []).find((x) => String(x.id) === p.get("topic"));
      parts.push("topic " + (t ? t.label : "#" + p.get("topic")));
    }
    if (p.get("sentiment")) parts.push(p.get("sentiment") + " sentiment");
    if (flag(p, "frustrated")) parts.push("frustrated");
    if (flag(p, "errors")) parts.push("failed call");
    const n = data.list.items.length;
    return (n ? n + (data.list.next_cursor ? "+" : "") : "No") + (n === 1 ? " conversation" : " conversations") +
      " with a turn in the last " + ctx.since + (parts.length ? " matching " + parts.join(", ") : "") +
      "; newest matching turn first. Rows summarise the whole conversation.";
  }

  // ---- the list ---------------------------------------------------------------------------------
  function badge(parent, name, text, title, cls) {
    el("span", { class: "badge" + (cls ? " " + cls : ""), "data-badge": name, title }, text, parent);
  }

  function row(item, openId) {
    const tr = el("tr", { "data-conversation": item.conversation_id, "data-turns": String(item.turns || 0),
                          "data-errors": String(item.errors || 0), "data-frustrated": String(item.frustrated || 0) });
    if (item.conversation_id === openId) tr.classList.add("selected");
    el("td", { class: "when", title: "newest matching turn " + time(item.last_match) + "; first turn " + time(item.first_time) }, short(item.last_match), tr);
    const user = el("td", null, null, tr);
    if (item.user_id) {
      const a = el("a", { href: urlWith({ user: item.user_id, conversation: null }), "data-user": item.user_id, title: "this user's conversations" }, item.user_id, user);
      a.addEventListener("click", (e) => { if (e.button === 0 && !e.metaKey && !e.ctrlKey) { e.preventDefault(); setParams({ user: item.user_id, conversation: null }); } });
    } else user.textContent = "–";
    const first = el("td", { class: "first" }, null, tr);
    const text = item.first_message || "(no user message)";
    const open = el("a", { href: urlWith({ conversation: item.conversation_id }), class: "open", title: text }, text, first);
    open.addEventListener("click", (e) => {
      if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;  // a new tab: the plain link
      e.preventDefault();
      setParams({ conversation: item.conversation_id });
    });
    el("td", { class: "num" }, fmt.int(item.turns), tr);
    el("td", { class: "models" }, (item.models || []).join(", "), tr);
    const signals = el("td", { class: "badges" }, null, tr);
    if (item.errors) badge(signals, "errors", item.errors + " error" + (item.errors > 1 ? "s" : ""), "failed calls", "bad");
    if (item.frustrated) badge(signals, "frustrated", item.frustrated + " frustrated", "turns with frustration ≥ 0.5 (max " + fmt.score(item.frustration_max) + ")", "bad");
    if (item.complaints) badge(signals, "complaints", item.complaints + " complaint" + (item.complaints > 1 ? "s" : ""), "complaints about the answer", "warn");
    if (item.rephrases) badge(signals, "rephrases", item.rephrases + " rephrase" + (item.rephrases > 1 ? "s" : ""), "the user asked again in other words", "warn");
    if (item.sentiment_min != null && item.sentiment_min <= -0.05) badge(signals, "negative", "negative", "most negative message " + fmt.score(item.sentiment_min), "warn");
    if (item.thumbs_up) badge(signals, "thumbs_up", "▲ " + item.thumbs_up, "thumbs up", "good");
    if (item.thumbs_down) badge(signals, "thumbs_down", "▼ " + item.thumbs_down, "thumbs down", "bad");
    if (!item.enriched) badge(signals, "pending", "not enriched yet", "signals appear once enrichment reaches these turns", "muted");
    el("td", { class: "num", "data-metric": "satisfaction" }, fmt.score(item.satisfaction_avg), tr);
    el("td", { class: "topics" }, (item.topics || []).map((t) => t.label).join(", ") || "–", tr);
    el("td", { class: "num" }, fmt.usd(item.cost_usd), tr);
    return tr;
  }

  const view = { query: null, cursor: null, rows: 0 };

  function renderList(data, ctx) {
    const body = $("#conv-table tbody");
    const openId = ctx.params.get("conversation");
    body.replaceChildren(...data.list.items.map((item) => row(item, openId)));
    if (!data.list.items.length) {
      const tr = el("tr", null, null, body);
      el("td", { colspan: "9", class: "muted empty-row" }, "no conversation matches in this period", tr);
    }
    view.query = listQuery(ctx);
    view.cursor = data.list.next_cursor;
    view.rows = data.list.items.length;
    syncList();
  }

  function syncList() {
    const table = $("#conv-table");
    table.dataset.rows = String(view.rows);
    table.dataset.more = view.cursor ? "1" : "0";
    $("#conv-more").hidden = !view.cursor;
  }

  async function more() {
    if (!view.cursor) return;
    const button = $("#conv-more");
    button.disabled = true;
    try {
      const page = await api("/v1/conversations?" + view.query + "&cursor=" + encodeURIComponent(view.cursor));
      const openId = new URLSearchParams(location.search).get("conversation");
      for (const item of page.items) $("#conv-table tbody").appendChild(row(item, openId));
      view.cursor = page.next_cursor;
      view.rows += page.items.length;
      syncList();
    } catch (err) {
      $("#conv-note").textContent = "Could not load more: " + err.message;
    } finally {
      button.disabled = false;
    }
  }

  // ---- one conversation -------------------------------------------------------------------------
  function longText(parent, cls, label, text) {
    const box = el("div", { class: "msg " + cls }, null, parent);
    el("div", { class: "who" }, label, box);
    const body = el("div", { class: "text" }, text.length > CLIP ? text.slice(0, CLIP) + "…" : text, box);
    if (text.length > CLIP) {
      const b = el("button", { type: "button", class: "link expand" }, "show all (" + fmt.int(text.length) + " characters)", box);
      b.addEventListener("click", () => {
        const full = b.dataset.full === "1";
        body.textContent = full ? text.slice(0, CLIP) + "…" : text;
        b.dataset.full = full ? "0" : "1";
        b.textContent = full ? "show all (" + fmt.int(text.length) + " characters)" : "show less";
      });
    }
    return box;
  }

  function chip(parent, name, text, title, cls) {
    el("span", { class: "chip" + (cls ? " " + cls : ""), "data-signal": name, title: title || null }, text, parent);
  }

  function lastUser(input) {  // index of the newest user message: what the user said this turn
    for (let i = input.length - 1; i >= 0; i--) if (input[i].role === "user" && typeof input[i].content === "string") return i;
    return -1;
  }

  function turn(item, index, topicNames) {
    const s = item.signals;
    const li = el("li", { class: "turn", "data-turn": item.id, "data-signals": s ? "1" : "0", "data-status": item.status });
    const head = el("div", { class: "turn-head" }, null, li);
    el("strong", null, "Turn " + (index + 1), head);
    el("span", { class: "muted" }, time(item.start_time), head);
    el("span", null, item.model || "", head);
    if (item.status === "error") el("span", { class: "bad" }, "error" + (item.error_type ? ": " + item.error_type : ""), head);
    const figures = el("div", { class: "figures-line muted small" }, null, li);
    for (const [label, value] of [["latency", fmt.ms(item.latency_ms)], ["TTFT", fmt.ms(item.ttft_ms)],
                                  ["tokens", fmt.int(item.input_tokens) + " in / " + fmt.int(item.output_tokens) + " out"],
                                  ["cost", fmt.usd(item.cost_usd)]]) {
      el("span", { "data-figure": label }, label + " " + value, figures);
    }
    const input = item.input || [];
    const said = lastUser(input);
    longText(li, "user", "User", said >= 0 ? input[said].content : "(no user message)");
    const history = input.filter((m, i) => i !== said);
    if (history.length) {
      const details = el("details", { class: "history" }, null, li);
      el("summary", null, "the rest of the input (" + history.length + (history.length === 1 ? " message)" : " messages)"), details);
      for (const m of history) longText(details, "hist", m.role || "message", typeof m.content === "string" ? m.content : JSON.stringify(m.content));
    }
    const reply = item.output != null && item.output !== "" ? item.output : item.error_message || "(no reply)";
    longText(li, "reply", "Reply", reply);

    const chips = el("div", { class: "chips" }, null, li);
    if (!s) chip(chips, "pending", "not enriched yet", "signals appear once enrichment reaches this turn", "muted");
    else {
      if (s.sentiment != null) chip(chips, "sentiment", "sentiment " + fmt.score(s.sentiment), "user message polarity, −1 to 1", s.sentiment <= -0.05 ? "bad" : s.sentiment >= 0.05 ? "good" : "");
      if (s.reply_sentiment != null) chip(chips, "reply_sentiment", "reply " + fmt.score(s.reply_sentiment), "reply polarity");
      if (s.frustration != null) chip(chips, "frustration", "frustration " + fmt.score(s.frustration), "0 to 1; frustrated from 0.5", s.frustration >= 0.5 ? "bad" : "");
      for (const [key, label, title] of SIGNAL_FLAGS) if (s[key]) chip(chips, key, label, title, key === "rephrase" || key === "repeat" ? "warn" : "bad");
      for (const cue of s.cues || []) chip(chips, "cue", cue, "emotional cue");
      if (s.topic_id != null) chip(chips, "topic", "topic " + (topicNames.get(s.topic_id) || (s.topic_id < 0 ? "other" : "#" + s.topic_id)), "topic of the user message");
      if (s.language) chip(chips, "language", s.language, "language");
      if (s.language_mismatch) chip(chips, "language_mismatch", "reply in " + s.reply_language, "the reply is not in the language the user writes in", "bad");
    }
    if (item.satisfaction != null) chip(chips, "satisfaction", "satisfaction " + fmt.score(item.satisfaction) + " (" + item.satisfaction_source + ")",
      item.satisfaction_source === "explicit" ? "from the user's feedback" : "estimated from what the reply provoked", item.satisfaction < 0.5 ? "bad" : "good");
    if (item.retry_of) chip(chips, "retry", "retry", "a regeneration of " + item.retry_of, "warn");
    if ((item.feedback || []).length) {
      const list = el("ul", { class: "feedback" }, null, li);
      for (const f of item.feedback) {
        const entry = el("li", { "data-feedback": f.thumbs || (f.rating != null ? "rating" : f.label ? "label" : "comment") }, null, list);
        const what = f.thumbs ? (f.thumbs === "up" ? "▲ thumbs up" : "▼ thumbs down") : f.rating != null ? "rating " + f.rating : f.label ? "label " + f.label : "feedback";
        el("strong", null, what, entry);
        if (f.comment) el("span", { class: "comment" }, " “" + f.comment + "”", entry);
        el("span", { class: "muted" }, " · " + f.source + " · " + time(f.time), entry);
      }
    }
    return li;
  }

  function renderDetail(data, ctx) {
    const panel = $("#conv-detail");
    const layout = $("section[data-page=conversations] .conv-layout");
    const detail = data.detail;
    panel.hidden = !detail;
    layout.classList.toggle("open", !!detail);
    if (!detail) { delete panel.dataset.conversation; return; }
    const id = detail.missing || detail.conversation_id;
    const turns = detail.interactions || [];
    // A refresh that brings nothing new keeps the panel (and what was expanded in it) as it is.
    if (panel.dataset.conversation === id && panel.dataset.turns === String(turns.length) && !detail.missing) return;
    panel.dataset.conversation = id;
    panel.dataset.turns = String(turns.length);
    panel.querySelector(".conv-id").textContent = id;
    const meta = panel.querySelector(".meta");
    const list = panel.querySelector(".turns");
    if (detail.missing) {
      meta.textContent = "No such conversation in this project.";
      list.replaceChildren();
      return;
    }
    const users = [...new Set(turns.map((t) => t.user_id).filter(Boolean))];
    const models = [...new Set(turns.map((t) => t.model))];
    const cost = turns.reduce((sum, t) => (t.cost_usd == null ? sum : (sum || 0) + t.cost_usd), null);
    meta.textContent = turns.length + (turns.length === 1 ? " turn" : " turns") + ", " + time(turns[0].start_time) + " – " +
      time(turns[turns.length - 1].start_time) + (users.length ? " · user " + users.join(", ") : "") + " · " + models.join(", ") + " · cost " + fmt.usd(cost);
    const names = new Map((data.options.topics || []).map((t) => [t.id, t.label]));
    for (const item of data.list.items) for (const t of item.topics || []) names.set(t.id, t.label);
    list.replaceChildren(...turns.map((t, i) => turn(t, i, names)));
  }

  // ---- page -------------------------------------------------------------------------------------
  let built = false;
  function build() {
    const section = $("section[data-page=conversations]");
    section.innerHTML = MARKUP;
    $("#conv-filters").addEventListener("submit", (e) => {
      e.preventDefault();
      setParams({ q: $("#conv-q").value.trim(), user: $("#conv-user").value.trim() });
    });
    for (const id of ["#conv-q", "#conv-user"]) {
      $(id).addEventListener("change", () => setParams({ q: $("#conv-q").value.trim(), user: $("#conv-user").value.trim() }));
    }
    $("#conv-model").addEventListener("change", (e) => setParams(Heron.segmentChanges("model", e.target.value)));
    $("#conv-version").addEventListener("change", (e) => {
      const [dim, ...rest] = e.target.value.split("=");
      setParams(Heron.segmentChanges(dim, rest.join("=")));
    });
    $("#conv-topic").addEventListener("change", (e) => setParams({ topic: e.target.value }));
    $("#conv-sentiment").addEventListener("change", (e) => setParams({ sentiment: e.target.value }));
    $("#conv-frustrated").addEventListener("change", (e) => setParams({ frustrated: e.target.checked ? "1" : null }));
    $("#conv-errors").addEventListener("change", (e) => setParams({ errors: e.target.checked ? "1" : null }));
    $("#conv-clear").addEventListener("click", () => setParams({ q: null, user: null, topic: null, sentiment: null, frustrated: null,
                                                                  errors: null, ...Heron.segmentChanges(null, null) }));
    $("#conv-more").addEventListener("click", more);
    $("#conv-close").addEventListener("click", () => setParams({ conversation: null }));
    built = true;
  }

  Heron.page("conversations", {
    title: "Conversations",
    fetch: fetchAll,
    render(data, ctx) {
      if (!built) build();
      renderFilters(data, ctx);
      $("#conv-note").textContent = describe(data, ctx);
      renderList(data, ctx);
      renderDetail(data, ctx);
    },
  });
})();
