/* wirekit lab dashboard: one page, live over Server-Sent Events, charts with uPlot. No framework. */
/* global document, window, EventSource, fetch, uPlot */
import { $, chart, fillTable, fmtBytes, fmtMs, fmtNum, fmtTime, h, line, setChart, setText, stat, statusClass, table, td } from "./dom.js";

{
  const MAX_ROWS = 200;
  const SAMPLES = 300;
  const state = { services: [], totals: [], snapshots: {}, feed: [], focus: null, samples: [], built: false };
  let es = null;


  // ---- panels ----
  const PANELS = {
    "udp-ping": () => [
      h("div", { class: "stats" }, stat("ping-received", "received"), stat("ping-replied", "echoed", "ok"), stat("ping-dropped", "dropped", "bad"), stat("ping-loss", "dropped %")),
      h("p", { class: "chart-title" }, "datagrams per second"),
      h("div", { class: "chart", id: "chart-ping" }),
      h("p", { class: "chart-title" }, "latest datagrams"),
      table("ping-recent", [["time"], ["from"], ["bytes", true], ["payload"], ["fate"]]),
    ],
    heartbeat: () => [
      h("div", { class: "stats" }, stat("hb-clients", "clients"), stat("hb-alive", "alive", "ok"), stat("hb-suspect", "suspect", "warn"), stat("hb-dead", "dead", "bad")),
      h("div", { class: "toolbar" }, h("input", { id: "hb-filter", type: "search", placeholder: "filter clients", oninput: () => renderHeartbeat() }), h("span", { id: "hb-shown" })),
      table("hb-table", [["client"], ["status"], ["phi", true], ["received", true], ["lost", true], ["loss %", true], ["reorders", true], ["dups", true], ["restarts", true], ["delay avg", true], ["last seen"]]),
      h("div", { class: "two" },
        h("div", {}, h("p", { class: "chart-title", id: "hb-focus-title" }, "one-way delay (select a client)"), h("div", { class: "chart", id: "chart-hb-delay" })),
        h("div", {}, h("p", { class: "chart-title" }, "heartbeats lost per second"), h("div", { class: "chart", id: "chart-hb-loss" }))),
      h("p", { class: "chart-title" }, "events"),
      h("ul", { class: "feed", id: "hb-feed" }),
    ],
    proxy: () => [
      h("div", { class: "stats" }, stat("proxy-hit-ratio", "hit ratio", "ok"), stat("proxy-requests", "requests"), stat("proxy-hits", "hits"), stat("proxy-misses", "misses"), stat("proxy-revalidations", "revalidated"),
        stat("proxy-bytes-cache", "from cache"), stat("proxy-bytes-origin", "from origins"), stat("proxy-entries", "cached entries")),
      table("proxy-recent", [["time"], ["client"], ["method"], ["url"], ["status", true], ["Cache-Status"], ["bytes", true], ["time", true]]),
    ],
    http: () => [
      h("div", { class: "stats" }, stat("http-requests", "requests"), stat("http-bytes", "bytes sent")),
      table("http-recent", [["time"], ["client"], ["method"], ["path"], ["status", true], ["bytes", true], ["time", true]]),
    ],
    "udp-echo": () => [
      h("div", { class: "stats" }, stat("echo-datagrams", "datagrams")),
      table("echo-recent", [["time"], ["from"], ["bytes", true], ["message"]]),
    ],
    mail: () => [
      h("div", { class: "stats" }, stat("mail-messages", "messages"), stat("mail-connections", "connections"), stat("mail-rejected", "rejected", "bad")),
      h("ul", { class: "mail-list", id: "mail-list" }),
    ],
  };
  const TITLES = { "udp-ping": "UDP ping server", heartbeat: "Heartbeat monitor", proxy: "Caching proxy", http: "Web server", "udp-echo": "UDP echo server", mail: "Mail sink" };
  const WIDE = new Set(["heartbeat", "proxy"]);

  function build() {
    const chips = $("services");
    chips.replaceChildren(...state.services.map((s) =>
      h("span", { class: `chip ${s.status}`, title: s.status === "running" ? s.clientCommand : s.error }, h("b", {}, s.name), s.status === "running" ? `${s.transport} ${s.port}` : "failed")));
    const grid = $("grid");
    grid.replaceChildren();
    for (const s of state.services) {
      const body = s.status !== "running"
        ? [h("p", { class: "error" }, `not running: ${s.error}`)]
        : (PANELS[s.name] || genericPanel)(s);
      grid.append(h("section", { class: `card ${WIDE.has(s.name) ? "wide" : ""}`, id: `panel-${s.name}`, "data-service": s.name },
        h("h2", {}, TITLES[s.name] || s.name, h("small", {}, s.status === "running" ? `${s.transport} ${s.address}:${s.port}` : "")),
        s.status === "running" ? h("p", { class: "cmd" }, `$ ${s.clientCommand}`) : null,
        ...body,
        s.status === "running" ? ladderView(s.name) : null));
    }
    grid.append(h("section", { class: "card wide", id: "panel-feed" }, h("h2", {}, "Events"), h("ul", { class: "feed", id: "feed" })));
    const running = (n) => state.services.some((s) => s.name === n && s.status === "running");
    if (running("udp-ping")) chart("ping", $("chart-ping"), [line("received", "#2f6fed"), line("echoed", "#1a9f5b"), line("dropped", "#d64545")], { yLabel: "per s" });
    if (running("heartbeat")) {
      chart("hbDelay", $("chart-hb-delay"), [line("delay ms", "#7a4ff0", "rgba(122,79,240,.08)")], { yLabel: "ms" });
      const bars = typeof uPlot === "function" && uPlot.paths && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.8, 24] }) : undefined;
      chart("hbLoss", $("chart-hb-loss"), [{ label: "lost", stroke: "#d64545", fill: "rgba(214,69,69,.35)", paths: bars, points: { show: false } }], { yLabel: "lost", yMin: 1 });
    }
    state.built = true;
  }

  // ---- live ladder: the service's last exchanges, drawn on the server by the --diagram renderer ----
  const ladderDue = new Set();
  const ladderTotals = new Map();
  let ladderTimer = null;
  function ladderView(name) {
    return h("details", { class: "ladder", open: "" },
      h("summary", {}, "ladder: the last exchanges"),
      h("img", { id: `ladder-${name}`, "data-testid": `ladder-${name}`, alt: `ladder diagram of ${name}'s last exchanges`, src: `/ladder/${name}.svg` }));
  }
  /** Redraw the ladders of services that had events, at most twice a second. */
  function refreshLadders(services) {
    for (const n of services) ladderDue.add(n);
    if (ladderTimer !== null) return;
    ladderTimer = window.setTimeout(() => {
      ladderTimer = null;
      for (const n of ladderDue) {
        const img = $(`ladder-${n}`);
        if (img) img.src = `/ladder/${n}.svg?t=${Date.now()}`;
      }
      ladderDue.clear();
    }, 500);
  }

  function genericPanel(s) {
    return [h("div", { class: "stats", id: `generic-${s.name}` })];
  }

  // ---- rendering from state ----
  function totalsOf(name) {
    const last = state.totals[state.totals.length - 1];
    return (last && last.totals[name]) || {};
  }

  function renderPing() {
    const t = totalsOf("udp-ping");
    setText("ping-received", fmtNum(t.received));
    setText("ping-replied", fmtNum(t.replied));
    setText("ping-dropped", fmtNum(t.dropped));
    setText("ping-loss", t.received ? `${((100 * t.dropped) / t.received).toFixed(1)}%` : "–");
    const xs = [], rx = [], tx = [], dr = [];
    for (let i = 1; i < state.totals.length; i++) {
      const a = state.totals[i - 1], b = state.totals[i];
      const pa = a.totals["udp-ping"], pb = b.totals["udp-ping"];
      const dt = (b.at - a.at) / 1000;
      if (!pa || !pb || dt <= 0) continue;
      xs.push(b.at / 1000);
      rx.push(Math.max(0, (pb.received - pa.received) / dt));
      tx.push(Math.max(0, (pb.replied - pa.replied) / dt));
      dr.push(Math.max(0, (pb.dropped - pa.dropped) / dt));
    }
    setChart("ping", [xs, rx, tx, dr]);
    const snap = state.snapshots["udp-ping"];
    if (snap && Array.isArray(snap.recent)) {
      fillTable("ping-recent", snap.recent.slice(0, 8).map((d) => h("tr", {}, td(fmtTime(d.at)), td(d.from), td(d.bytes, "num"), td(d.message, "path"),
        td(h("span", { class: `badge ${d.dropped ? "status-dead" : "status-alive"}` }, d.dropped ? "dropped" : "echoed")))), "no datagrams yet — try the command above");
    }
  }

  function renderHeartbeat() {
    const snap = state.snapshots.heartbeat;
    if (!snap || !Array.isArray(snap.clients)) return;
    const clients = snap.clients;
    // With many clients the server sends the problem ones first and exact counts beside them.
    const count = snap.clientCounts || { total: clients.length, alive: 0, suspect: 0, dead: 0 };
    if (!snap.clientCounts) for (const c of clients) count[c.status] = (count[c.status] || 0) + 1;
    setText("hb-clients", fmtNum(count.total));
    setText("hb-alive", fmtNum(count.alive));
    setText("hb-suspect", fmtNum(count.suspect));
    setText("hb-dead", fmtNum(count.dead));
    const filter = (($("hb-filter") || {}).value || "").toLowerCase();
    const order = { dead: 0, suspect: 1, alive: 2 };
    const shown = clients.filter((c) => !filter || c.id.toLowerCase().includes(filter) || String(c.address).includes(filter))
      .sort((a, b) => (order[a.status] - order[b.status]) || a.id.localeCompare(b.id));
    const of = filter ? shown.length : count.total;
    const n = Math.min(shown.length, MAX_ROWS);
    setText("hb-shown", n < of ? `showing ${n} of ${fmtNum(of)} (problems first)` : `${n} shown`);
    fillTable("hb-table", shown.slice(0, MAX_ROWS).map((c) => h("tr", {
      class: `clickable ${state.focus === c.id ? "selected" : ""}`, "data-client": c.id, onclick: () => focusClient(c.id),
    }, td(`${c.id} (${c.address})`), td(h("span", { class: `badge status-${c.status}`, "data-testid": "hb-status" }, c.status)),
    td(fmtPhi(c.phi), "num"), td(fmtNum(c.received), "num"), td(fmtNum(c.lost), "num"), td(`${fmtNum(c.lossPercent)}%`, "num"),
    td(fmtNum(c.reordered), "num"), td(fmtNum(c.duplicates), "num"), td(fmtNum(c.restarts), "num"), td(c.delayMs ? fmtMs(c.delayMs.avg) : "–", "num"),
    td(c.lastSeen ? fmtTime(c.lastSeen) : "–"))), "no clients yet — start a heartbeat sender");
    if (state.focus === null && shown.length > 0) focusClient(shown[shown.length - 1].id);
  }

  function focusClient(id) {
    if (state.focus === id) return;
    state.focus = id;
    state.samples = [];
    // Clear the charts now: the previous client's points must not stand under the new title
    // until the new client's history arrives.
    renderSamples();
    setText("hb-focus-title", `one-way delay of ${id} (ms)`);
    for (const tr of document.querySelectorAll("#hb-table tbody tr")) tr.classList.toggle("selected", tr.dataset.client === id);
    connect();
  }

  /** The services keep their recent records oldest first; the tables show the newest on top. */
  function newestFirst(list, n) {
    return (list || []).slice(-n).reverse();
  }

  /** A dead client's phi grows without bound (1957510.10 says nothing more than "> 100"). */
  function fmtPhi(phi) {
    if (!Number.isFinite(phi) || phi > 100) return "> 100";
    return phi.toFixed(2);
  }

  function renderSamples() {
    const xs = [], ys = [];
    const buckets = new Map();
    let max = -1;
    for (const s of state.samples) {
      xs.push(s.at / 1000);
      ys.push(s.delayMs);
      const sec = Math.floor(s.at / 1000);
      if (!buckets.has(sec)) buckets.set(sec, 0);
      // A sequence jump means heartbeats in between were lost; a big step back is a restart.
      if (max >= 0 && s.seq > max + 1) buckets.set(sec, buckets.get(sec) + (s.seq - max - 1));
      if (s.seq > max || s.seq < max - 10000) max = s.seq;
    }
    setChart("hbDelay", [xs, ys]);
    const el = $("chart-hb-delay");
    if (el) el.dataset.points = String(xs.length);
    const secs = [...buckets.keys()].sort((a, b) => a - b);
    setChart("hbLoss", [secs, secs.map((k) => buckets.get(k))]);
  }

  function renderProxy() {
    const snap = state.snapshots.proxy;
    if (!snap) return;
    const st = snap.stats || {};
    // hitRatio is a fraction (0..1); accept a percentage too rather than show 5000%.
    setText("proxy-hit-ratio", typeof st.hitRatio === "number" ? `${(st.hitRatio > 1 ? st.hitRatio : st.hitRatio * 100).toFixed(1)}%` : "–");
    setText("proxy-requests", fmtNum(st.requests));
    setText("proxy-hits", fmtNum(st.hits));
    setText("proxy-misses", fmtNum(st.misses));
    setText("proxy-revalidations", fmtNum(st.revalidations));
    setText("proxy-bytes-cache", fmtBytes(st.bytesFromCache));
    setText("proxy-bytes-origin", fmtBytes(st.bytesFromOrigin));
    setText("proxy-entries", `${fmtNum(st.entries)} (${fmtBytes(st.diskBytes)})`);
    fillTable("proxy-recent", newestFirst(snap.recent, 50).map((r) => h("tr", {}, td(fmtTime(r.at)), td(r.client), td(r.method), td(h("span", { title: r.url }, r.url), "path url"),
      td(h("span", { class: statusClass(r.status) }, r.status), "num"), td(h("span", {}, h("span", { class: `badge ${String(r.cacheStatus).toLowerCase().split(/[^a-z]/)[0]}`, "data-testid": "cache-status" }, r.cacheStatus),
        r.stored === false && h("small", { title: "meant for the cache but not committed (origin body cut short, too big, or a disk error)", "data-testid": "not-stored" }, " not stored"))),
      td(fmtBytes(r.bytes), "num"), td(fmtMs(r.ms), "num"))), "no requests yet — point a browser or curl at the proxy");
  }

  function renderHttp() {
    const snap = state.snapshots.http;
    const t = totalsOf("http");
    setText("http-requests", fmtNum(t.requests));
    setText("http-bytes", fmtBytes(t.bytes));
    if (!snap) return;
    fillTable("http-recent", newestFirst(snap.recent, 50).map((r) => h("tr", {}, td(fmtTime(r.at)), td(r.client), td(r.method), td(r.path, "path"),
      td(h("span", { class: statusClass(r.status) }, r.status), "num"), td(fmtBytes(r.bytes), "num"), td(fmtMs(r.ms), "num"))), "no requests yet");
  }

  function renderEcho() {
    const snap = state.snapshots["udp-echo"];
    const t = totalsOf("udp-echo");
    setText("echo-datagrams", fmtNum(t.received !== undefined ? t.received : t.datagrams));
    if (!snap) return;
    fillTable("echo-recent", newestFirst(snap.recent, 20).map((r) => h("tr", {}, td(fmtTime(r.at)), td(r.from), td(r.bytes, "num"), td(r.message, "path"))), "no datagrams yet");
  }

  function renderMail() {
    const t = totalsOf("mail");
    setText("mail-messages", fmtNum(t.messages));
    setText("mail-connections", fmtNum(t.connections));
    setText("mail-rejected", fmtNum(t.rejected));
    const snap = state.snapshots.mail;
    const list = $("mail-list");
    if (!snap || !list) return;
    const key = snap.messages.map((m) => m.id).join(",");
    if (list.dataset.key === key) return;
    list.dataset.key = key;
    list.replaceChildren(...(snap.messages.length ? snap.messages.map((m) => h("li", { "data-id": m.id, onclick: () => openMail(m.id), title: "open" },
      h("span", { class: "subj" }, m.subject || "(no subject)"), h("time", {}, fmtTime(m.at)),
      h("span", { class: "who" }, `${m.from} → ${m.to}`),
      h("span", { class: "att" }, m.attachments.length ? `${m.attachments.length === 1 ? "attachment" : `${m.attachments.length} attachments`}: ${m.attachments.map((a) => a.filename).join(", ")}` : ""))) : [h("li", { class: "empty" }, "no mail yet — send one with the command above")]));
  }

  async function openMail(id) {
    const res = await fetch(`/service/mail/messages/${encodeURIComponent(id)}`);
    if (!res.ok) return;
    const m = await res.json();
    setText("mail-subject", m.subject || "(no subject)");
    $("mail-headers").replaceChildren(...[["From", m.from], ["To", m.to], ["Date", new Date(m.at).toLocaleString()], ["Envelope", `${m.envelope.mailFrom || "<>"} → ${m.envelope.rcptTo.join(", ")}`], ["Size", fmtBytes(m.size)]]
      .flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
    setText("mail-text", m.text || (m.html ? "(HTML only; source below)\n\n" + m.html : "(empty)"));
    $("mail-attachments").replaceChildren(...(m.attachments.length ? m.attachments.map((a, i) => h("li", {},
      h("a", { href: `/service/mail/messages/${encodeURIComponent(id)}/attachments/${i}`, download: a.filename }, a.filename), ` — ${a.contentType}, ${fmtBytes(a.size)}`)) : [h("li", { class: "empty" }, "none")]));
    $("mail-dialog").showModal();
  }

  function renderGeneric() {
    for (const s of state.services) {
      const el = $(`generic-${s.name}`);
      if (!el) continue;
      const t = totalsOf(s.name);
      el.replaceChildren(...Object.entries(t).map(([k, v]) => h("div", { class: "stat" }, h("span", { class: "v" }, fmtNum(v)), h("span", { class: "k" }, k))));
    }
  }

  function feedItem(e) {
    return h("li", {}, h("time", {}, fmtTime(e.at)), h("span", { class: "svc" }, e.service), h("span", { class: `kind kind-${e.kind}` }, e.kind), h("span", {}, e.text));
  }
  function renderFeed() {
    const all = state.feed.slice(-150).reverse();
    const feed = $("feed");
    if (feed) feed.replaceChildren(...(all.length ? all.map(feedItem) : [h("li", { class: "empty" }, "nothing yet")]));
    const hb = $("hb-feed");
    if (hb) {
      const items = all.filter((e) => e.service === "heartbeat");
      hb.replaceChildren(...(items.length ? items.map(feedItem) : [h("li", { class: "empty" }, "no events yet")]));
    }
  }

  function render() {
    renderPing(); renderHeartbeat(); renderProxy(); renderHttp(); renderEcho(); renderMail(); renderGeneric();
  }

  // ---- live connection ----
  function applyState(st) {
    const totals = {};
    state.snapshots = {};
    for (const [name, v] of Object.entries(st.services)) { totals[name] = v.totals; state.snapshots[name] = v.snapshot; }
    const last = state.totals[state.totals.length - 1];
    if (!last || st.at > last.at) state.totals.push({ at: st.at, totals });
    else state.totals[state.totals.length - 1] = { at: last.at, totals };
    if (state.totals.length > SAMPLES) state.totals.splice(0, state.totals.length - SAMPLES);
  }

  function connect() {
    if (es) es.close();
    es = new EventSource(`/events${state.focus ? `?focus=${encodeURIComponent(state.focus)}` : ""}`);
    const conn = $("conn");
    es.addEventListener("open", () => { conn.textContent = "live"; conn.className = "conn live"; });
    es.addEventListener("error", () => { conn.textContent = "reconnecting…"; conn.className = "conn down"; });
    es.addEventListener("hello", (ev) => {
      const m = JSON.parse(ev.data);
      const names = JSON.stringify(m.services);
      if (!state.built || names !== state.servicesKey) { state.services = m.services; state.servicesKey = names; build(); }
      state.totals = m.history.slice(-SAMPLES);
      state.feed = m.feed;
      if (m.focus && m.focus.client === state.focus) { state.samples = m.focus.samples; renderSamples(); }
      applyState(m.state);
      render(); renderFeed();
      document.body.dataset.ready = "1";
    });
    es.addEventListener("state", (ev) => {
      const m = JSON.parse(ev.data);
      applyState(m);
      render();
      // Datagrams and heartbeats never come one by one (too many): a service whose totals moved has new exchanges.
      const moved = [];
      for (const [name, v] of Object.entries(m.services || {})) {
        const key = JSON.stringify(v.totals);
        if (ladderTotals.get(name) !== key) moved.push(name);
        ladderTotals.set(name, key);
      }
      refreshLadders(moved);
    });
    es.addEventListener("tick", (ev) => {
      const m = JSON.parse(ev.data);
      state.totals.push({ at: m.at, totals: m.totals });
      if (state.totals.length > SAMPLES) state.totals.splice(0, state.totals.length - SAMPLES);
      renderPing();
    });
    es.addEventListener("events", (ev) => {
      const m = JSON.parse(ev.data);
      state.feed.push(...m.events);
      if (state.feed.length > 300) state.feed.splice(0, state.feed.length - 300);
      renderFeed();
      refreshLadders(new Set(m.events.map((e) => e.service)));
    });
    es.addEventListener("samples", (ev) => {
      const m = JSON.parse(ev.data);
      if (m.client !== state.focus) return;
      state.samples.push(...m.samples);
      if (state.samples.length > SAMPLES) state.samples.splice(0, state.samples.length - SAMPLES);
      renderSamples();
    });
  }

  window.addEventListener("DOMContentLoaded", connect);
}
