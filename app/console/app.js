// app.js: the warmup console: overview, mailbox table, mailbox and shard pages, drawn
// from the API v1 every 2 seconds; the bearer token comes once as ?token= and is kept in
// sessionStorage.
"use strict";

(function () {
  const POLL_MS = 2000;
  const STATES = ["active", "throttled", "paused", "disconnected", "restarting", "removed"];

  // -- token ------------------------------------------------------------------------
  (function takeTokenFromUrl() {
    const params = new URLSearchParams(location.search);
    if (params.has("token")) {
      sessionStorage.setItem("warmup.token", params.get("token"));
      params.delete("token");
      const rest = params.toString();
      history.replaceState(null, "", location.pathname + (rest ? "?" + rest : "") + location.hash);
    }
  })();
  const token = () => sessionStorage.getItem("warmup.token") || "";

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.error) || "HTTP " + status);
      this.status = status;
      this.field = body && body.field;
    }
  }

  async function api(path, options) {
    const headers = { "Accept": "application/json" };
    if (token()) headers["Authorization"] = "Bearer " + token();
    if (options && options.body) headers["Content-Type"] = "application/json";
    const res = await fetch(path, Object.assign({ headers: headers }, options || {}));
    let body = null;
    try { body = await res.json(); } catch (e) { body = null; }
    if (!res.ok) throw new ApiError(res.status, body);
    return body;
  }

  // -- DOM --------------------------------------------------------------------------
  // h("td", {class: "num"}, "12"): text is always set as text, never parsed as HTML.
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  const SVG = "http://www.w3.org/2000/svg";
  function s(tag, attrs, ...children) {
    const el = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
    for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return el;
  }
  const pill = (value) => h("span", { class: "pill " + value }, String(value).replace("_", " "));
  const fmt = (n) => (n === null || n === undefined ? "-" : Number(n).toLocaleString("en-US"));
  const pct = (r) => (r === null || r === undefined ? "-" : (r * 100).toFixed(1) + "%");
  function clock(ms) {
    if (ms === null || ms === undefined || ms < 0) return "-";
    return new Date(ms).toISOString().replace("T", " ").slice(0, 16) + " UTC";
  }
  const hhmm = (ms) => (ms < 0 ? "-" : new Date(ms).toISOString().slice(11, 16));

  const view = document.getElementById("view");
  function show(...nodes) { view.replaceChildren(...nodes); }
  function stat(label, value, sub, bad) {
    return h("div", { class: "card stat" + (bad ? " bad" : "") },
      h("div", { class: "label" }, label), h("div", { class: "value" }, value),
      sub ? h("div", { class: "sub" }, sub) : null);
  }

  // -- routing ----------------------------------------------------------------------
  let timer = null;
  let generation = 0;
  function route() {
    const hash = location.hash.replace(/^#/, "") || "/";
    const [path, query] = hash.split("?");
    const params = new URLSearchParams(query || "");
    const parts = path.split("/").filter(Boolean);
    document.querySelectorAll("[data-nav]").forEach((a) => {
      const nav = a.getAttribute("data-nav");
      a.classList.toggle("active", (parts[0] || "overview") === nav || (nav === "mailboxes" && parts[0] === "mailbox"));
    });
    if (parts[0] === "mailboxes") return page(mailboxesPage(params));
    if (parts[0] === "mailbox" && parts[1]) return page(mailboxPage(parts[1]));
    if (parts[0] === "shard" && parts[1]) return page(shardPage(parts[1]));
    return page(overviewPage());
  }
  // A page is { mount(), refresh() }: mount builds the frame once, refresh fills it.
  function page(p) {
    const mine = ++generation;
    clearTimeout(timer);
    p.mount();
    const tick = async () => {
      if (mine !== generation) return;
      const live = document.getElementById("live");
      try {
        await Promise.all([p.refresh(), header()]);
        live.classList.remove("stale");
        live.textContent = "live";
      } catch (e) {
        live.classList.add("stale");
        live.textContent = "no answer";
        if (e instanceof ApiError && e.status === 401) return askToken(e);
        p.fail && p.fail(e);
      }
      if (mine === generation) timer = setTimeout(tick, POLL_MS);
    };
    tick();
  }
  window.addEventListener("hashchange", route);

  async function header() {
    const n = await api("/api/v1/node");
    document.getElementById("node-name").textContent = n.node + " · v" + n.version;
    document.getElementById("engine-clock").textContent =
      clock(n.engine_now) + (n.clock.mode !== "real" ? " · ×" + n.clock.time_scale : "");
    return n;
  }

  function askToken(e) {
    generation++;
    const input = h("input", { type: "password", id: "token", placeholder: "console token", autocomplete: "off" });
    show(h("div", { class: "card" },
      h("h1", {}, "Token needed"),
      h("p", { class: "muted" }, e.message),
      h("p", {}, "Open the console with the URL that ", h("code", {}, "warmup run"),
        " printed (it carries ", h("code", {}, "?token=…"), "), or paste the token here."),
      h("form", { class: "filters", onsubmit: (ev) => {
        ev.preventDefault();
        sessionStorage.setItem("warmup.token", input.value);
        route();
      } }, input, h("button", { type: "submit" }, "Open"))));
  }

  // -- overview ---------------------------------------------------------------------
  function overviewPage() {
    let stats, map, actors, states;
    return {
      mount() {
        stats = h("div", { class: "grid stats" });
        map = h("div", { class: "shardmap", id: "shard-map" });
        actors = h("dl", { class: "kv" });
        states = h("div");
        show(h("h1", {}, "Overview"), stats,
          h("div", { class: "grid two" },
            h("div", { class: "card" }, h("h2", {}, "Shards"), map,
              h("div", { class: "legend" },
                ["running", "busy", "stopped", "missing"].map((k) =>
                  h("span", {}, h("i", { class: k }), k === "busy" ? "running, queue > 100" : k)))),
            h("div", { class: "card" }, h("h2", {}, "Actors"), actors, h("h2", { class: "spaced" }, "Mailboxes by state"), states)));
      },
      async refresh() {
        const [st, node, sh] = await Promise.all([api("/api/v1/status"), api("/api/v1/node"), api("/api/v1/shards")]);
        const placed = st.inbox_today + st.spam_today;
        stats.replaceChildren(
          stat("Total Mailboxes", fmt(st.total_mailboxes)),
          stat("Active Today", fmt(st.active_mailboxes_today), "sent at least one mail"),
          stat("Sends Today", fmt(st.sends_today)),
          stat("Inbox Rate Today", placed ? pct(st.inbox_rate_today) : "n/a", placed ? fmt(st.inbox_today) + " inbox · " + fmt(st.spam_today) + " spam" : "no placements yet"),
          stat("Planned Today", fmt(st.planned_today)),
          stat("Overdue", fmt(st.overdue), "more than 5 min late", st.overdue > 0));
        map.replaceChildren(...sh.shards.map((v) => {
          const cls = v.state === "running" && v.mailbox_queue > 100 ? "busy" : v.state;
          const title = v.state === "missing" ? "shard " + v.shard + ": no answer"
            : "shard " + v.shard + ": " + v.state + ", " + v.mailboxes + " mailboxes, queue " + v.mailbox_queue;
          return h("a", { class: "shard " + cls, href: "#/shard/" + v.shard, title: title, "data-shard": v.shard });
        }));
        actors.replaceChildren(...Object.entries(node.actors).flatMap(([k, v]) => [h("dt", {}, k.replace("_", " ")), h("dd", {}, fmt(v))]),
          h("dt", {}, "scheduler threads"), h("dd", {}, node.scheduler_threads),
          h("dt", {}, "shard queues"), h("dd", {}, fmt(node.queues.shard_mailbox_total) + " (max " + fmt(node.queues.shard_mailbox_max) + ")"),
          h("dt", {}, "store backlog"), h("dd", {}, fmt(node.queues.store_backlog)),
          h("dt", {}, "uptime"), h("dd", {}, Math.round(node.uptime_seconds) + " s"));
        const by = {};
        let total = 0;
        for (const v of sh.shards) for (const [k, n] of Object.entries(v.by_state || {})) { by[k] = (by[k] || 0) + n; total += n; }
        const bar = h("div", { class: "bars" });
        for (const k of STATES) {
          if (!by[k]) continue;
          const seg = h("span", { class: k, title: k + ": " + by[k] });
          seg.style.width = (100 * by[k] / total).toFixed(2) + "%";
          bar.append(seg);
        }
        states.replaceChildren(bar, h("div", { class: "legend" },
          STATES.filter((k) => by[k]).map((k) => h("a", { href: "#/mailboxes?state=" + k }, pill(k), " " + fmt(by[k])))));
      },
    };
  }

  // -- mailbox table ----------------------------------------------------------------
  function mailboxesPage(params) {
    const limit = 25;
    let offset = Number(params.get("offset") || 0);
    let body, pager, err;
    const state = h("select", { id: "f-state" }, h("option", { value: "" }, "any (not removed)"),
      STATES.map((k) => h("option", { value: k, selected: params.get("state") === k }, k)), h("option", { value: "all" }, "all"));
    const provider = h("input", { id: "f-provider", value: params.get("provider") || "", placeholder: "gmail.sim" });
    const domain = h("input", { id: "f-domain", value: params.get("domain") || "", placeholder: "acme.gmail.sim" });
    const apply = () => {
      const q = new URLSearchParams();
      if (state.value) q.set("state", state.value);
      if (provider.value) q.set("provider", provider.value);
      if (domain.value) q.set("domain", domain.value);
      location.hash = "#/mailboxes" + (q.toString() ? "?" + q : "");
    };
    const p = {
      mount() {
        body = h("tbody", { id: "mailbox-rows" });
        pager = h("div", { class: "pager" });
        err = h("div");
        show(h("h1", {}, "Mailboxes"),
          h("form", { class: "filters", onsubmit: (e) => { e.preventDefault(); apply(); } },
            h("label", {}, "State", state), h("label", {}, "Provider", provider), h("label", {}, "Domain", domain),
            h("button", { type: "submit" }, "Filter")),
          err,
          h("div", { class: "card scroll" }, h("table", {},
            h("thead", {}, h("tr", {}, ["ID", "Email", "Provider", "State", "Health", "Ramp day", "Throttle", "Shard"].map((t, i) =>
              h("th", { class: i >= 5 || i === 0 ? "num" : null }, t)))), body), pager));
      },
      async refresh() {
        const q = new URLSearchParams({ limit: limit, offset: offset });
        if (state.value) q.set("state", state.value);
        if (provider.value) q.set("provider", provider.value);
        if (domain.value) q.set("domain", domain.value);
        const page = await api("/api/v1/mailboxes?" + q);
        err.replaceChildren();
        body.replaceChildren(...page.items.map((m) => h("tr", { class: "row", "data-id": m.id, onclick: () => { location.hash = "#/mailbox/" + m.id; } },
          h("td", { class: "num" }, m.id),
          h("td", {}, h("a", { href: "#/mailbox/" + m.id }, m.email), m.display_name ? h("span", { class: "muted" }, " · " + m.display_name) : null),
          h("td", {}, m.provider), h("td", {}, pill(m.state)), h("td", {}, pill(m.band)),
          h("td", { class: "num" }, m.ramp_day), h("td", { class: "num" }, m.throttle_percent + "%"),
          h("td", { class: "num" }, h("a", { href: "#/shard/" + m.shard, onclick: (e) => e.stopPropagation() }, m.shard)))));
        if (!page.items.length) body.append(h("tr", {}, h("td", { colspan: 8, class: "muted" }, "No mailbox matches.")));
        const last = Math.min(page.offset + page.items.length, page.total);
        pager.replaceChildren(
          h("span", {}, page.total ? (page.offset + 1) + "–" + last + " of " + fmt(page.total) : "0 of 0"),
          h("button", { class: "secondary", disabled: offset === 0, onclick: () => { offset = Math.max(0, offset - limit); p.refresh(); } }, "‹ Previous"),
          h("button", { class: "secondary", id: "next-page", disabled: last >= page.total, onclick: () => { offset += limit; p.refresh(); } }, "Next ›"));
      },
      fail(e) { err.replaceChildren(h("div", { class: "error" }, e.message)); },
    };
    return p;
  }

  // -- one mailbox ------------------------------------------------------------------
  function chart(history) {
    const W = 760, H = 260, L = 40, R = 12, T = 14, B = 34;
    const n = history.length;
    const max = Math.max(4, ...history.map((d) => Math.max(d.planned, d.sent, d.inbox + d.spam)));
    const x = (i) => L + (n <= 1 ? 0 : (i * (W - L - R)) / (n - 1));
    const y = (v) => T + (H - T - B) * (1 - v / max);
    const svg = s("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": "ramp chart", id: "ramp-chart" });
    for (let k = 0; k <= 4; k++) {
      const v = Math.round((max * k) / 4);
      svg.append(s("line", { class: "axis", x1: L, x2: W - R, y1: y(v), y2: y(v) }), s("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end" }, v));
    }
    const bw = Math.max(2, Math.min(16, ((W - L - R) / Math.max(1, n)) * 0.55));
    history.forEach((d, i) => {
      const yi = y(d.inbox), ys = y(d.inbox + d.spam);
      if (d.inbox) svg.append(s("rect", { class: "inbox", x: x(i) - bw / 2, y: yi, width: bw, height: y(0) - yi }, s("title", {}, d.day + ": inbox " + d.inbox)));
      if (d.spam) svg.append(s("rect", { class: "spam", x: x(i) - bw / 2, y: ys, width: bw, height: yi - ys }, s("title", {}, d.day + ": spam " + d.spam)));
      const step = Math.ceil(n / 8);
      if ((i % step === 0 && n - 1 - i >= step / 2) || i === n - 1) svg.append(s("text", { x: x(i), y: H - 12, "text-anchor": "middle" }, d.day.slice(5)));
    });
    const line = (key, cls) => svg.append(s("polyline", { class: cls, points: history.map((d, i) => x(i) + "," + y(d[key])).join(" ") }));
    line("planned", "planned");
    line("sent", "sent");
    return h("div", { class: "chart" }, svg, h("div", { class: "legend" },
      [["planned", "planned"], ["sent", "sent"], ["inbox", "inbox"], ["spam", "spam"]].map(([c, t]) => h("span", {}, h("i", { class: c }), t))));
  }

  function mailboxPage(id) {
    let title, actions, cards, chartBox, plan, facts, msg;
    return {
      mount() {
        title = h("div", { class: "titlebar" });
        msg = h("div");
        cards = h("div", { class: "grid stats" });
        chartBox = h("div", { class: "card" });
        plan = h("div", { class: "card scroll" });
        facts = h("dl", { class: "kv" });
        show(h("p", {}, h("a", { href: "#/mailboxes" }, "‹ Mailboxes")), title, msg, cards,
          h("div", { class: "grid two" }, chartBox, h("div", { class: "card" }, h("h2", {}, "Settings"), facts)), plan);
      },
      async refresh() {
        const m = await api("/api/v1/mailboxes/" + encodeURIComponent(id));
        const stopped = ["paused", "removed", "disconnected"].includes(m.state);
        actions = h("div", { class: "actions" },
          h("button", { id: stopped ? "resume" : "pause", class: "secondary", onclick: async () => {
            try { await api("/api/v1/mailboxes/" + m.id + "/" + (stopped ? "resume" : "pause"), { method: "POST" }); this.refresh(); }
            catch (e) { msg.replaceChildren(h("div", { class: "error" }, e.message)); }
          } }, stopped ? "Resume" : "Pause"));
        title.replaceChildren(h("h1", {}, m.email), pill(m.state), pill(m.health.band), actions);
        const today = m.history[m.history.length - 1] || {};
        cards.replaceChildren(
          stat("Ramp Day", m.ramp_state.ramp_day, m.ramp_preset + " preset"),
          stat("Throttle", m.ramp_state.throttle_percent + "%", m.ramp_state.cooldown_until ? "cool-down until " + m.ramp_state.cooldown_until : "full ramp"),
          stat("Inbox Rate", m.health.sample ? pct(m.health.inbox_rate) : "n/a", m.health.sample + " placements · " + m.health.window_days + " days", m.health.spam_rate > 0.15),
          stat("Today", fmt(today.sent) + " / " + fmt(today.planned), "sent / planned"),
          stat("Next Wake", m.live.running ? hhmm(m.live.next_due) : "-", m.live.running ? m.live.inbound_waiting + " received waiting" : "actor not running here"));
        chartBox.replaceChildren(h("h2", {}, "Ramp: last " + m.history.length + " days"), chart(m.history));
        facts.replaceChildren(...[["Name", m.display_name || "-"], ["Provider", m.provider], ["Organisation", m.organisation],
          ["Time zone", m.timezone], ["Transport", m.transport], ["Shard", m.shard], ["Ramp", m.ramp.start + "/day +" + m.ramp.step + " up to " + m.ramp.ceiling],
          ["Window", hhmmMin(m.window.start_minute) + "–" + hhmmMin(m.window.end_minute) + " local"], ["Added", m.created_day]]
          .flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
        const rows = m.today.slots.map((sl) => h("tr", {},
          h("td", { class: "num" }, sl.slot), h("td", {}, hhmm(sl.at)), h("td", {}, sl.to || "-"),
          h("td", {}, pill(sl.status)), h("td", {}, sl.outcome ? pill(sl.outcome) : "-"), h("td", { class: "muted" }, sl.detail || "")));
        plan.replaceChildren(h("h2", {}, "Today's plan · " + m.today.day + " · " + m.today.slots.length + " slots (UTC times)"),
          rows.length ? h("table", { id: "plan" }, h("thead", {}, h("tr", {}, ["#", "At", "To", "Status", "Outcome", ""].map((t) => h("th", {}, t)))), h("tbody", {}, rows))
            : h("p", { class: "muted" }, "No slot planned today."));
      },
      fail(e) { msg.replaceChildren(h("div", { class: "error" }, e.message)); },
    };
  }
  const hhmmMin = (m) => String(Math.floor(m / 60)).padStart(2, "0") + ":" + String(m % 60).padStart(2, "0");

  // -- one shard --------------------------------------------------------------------
  function shardPage(id) {
    let top, body;
    return {
      mount() {
        top = h("div", { class: "grid stats" });
        body = h("tbody");
        show(h("p", {}, h("a", { href: "#/" }, "‹ Overview")), h("h1", {}, "Shard " + id), top,
          h("div", { class: "card scroll" }, h("table", {}, h("thead", {}, h("tr", {}, ["ID", "Email", "State", "Restarts", "Next wake"].map((t) => h("th", {}, t)))), body)));
      },
      async refresh() {
        const v = await api("/api/v1/shards/" + encodeURIComponent(id));
        top.replaceChildren(stat("State", v.state), stat("Mailboxes", fmt(v.mailbox_count || v.mailboxes.length)),
          stat("Queue", fmt(v.mailbox_queue), "messages waiting"), stat("Queued Writes", fmt(v.queued_writes)),
          stat("Restarts", fmt(v.restarts)), stat("Epoch", fmt(v.epoch)));
        body.replaceChildren(...v.mailboxes.slice(0, 500).map((m) => h("tr", { class: "row", onclick: () => { location.hash = "#/mailbox/" + m.id; } },
          h("td", {}, m.id), h("td", {}, h("a", { href: "#/mailbox/" + m.id }, m.email)), h("td", {}, pill(m.state)),
          h("td", {}, m.restarts), h("td", {}, m.next_due >= 0 ? clock(m.next_due) : "-"))));
      },
    };
  }

  route();
})();
