/* frps dashboard: polls the JSON API and renders it. Every number shown
   comes from the API; the only state kept here is the recent samples that
   the live per-client chart draws. Names come from clients: they are only
   ever set as text, never as HTML. */
"use strict";

const PERIOD_MS = 2000;
const HISTORY = 60;                 /* samples per client chart */
const live = new Map();             /* runID -> recent samples, see sampleClient */

/* el, bytes, bits: web/common/util.js */
const rate = n => bytes(n) + "/s";
const perSec = v => (v < 10 && v > 0 ? v.toFixed(1) : String(Math.round(v))) + "/s";

/* A cell that shows text and keeps the raw API value for tests/tools. */
function cell(key, value, text, cls) {
  return el("td", { "data-k": key, "data-v": String(value), class: cls || "" },
    text === undefined ? String(value) : text);
}

async function api(path) {
  const r = await fetch(path, { cache: "no-store", credentials: "same-origin" });
  if (!r.ok) throw new Error(path + ": HTTP " + r.status);
  return r.json();
}

function renderServer(s) {
  const dl = document.getElementById("serverinfo");
  const rows = [
    ["Version", s.version], ["Bind port", s.bindPort],
    ["KCP port", s.kcpBindPort || "off"], ["Transports", (s.transports || []).join(", ")],
    ["Clients", s.clientCounts], ["Connections", s.curConns],
    ["Traffic in today", bytes(s.totalTrafficIn)], ["Traffic out today", bytes(s.totalTrafficOut)],
    ["Rate in / out", rate(s.rateIn) + " / " + rate(s.rateOut)],
    ["Proxies", Object.entries(s.proxyTypeCount).map(([t, n]) => t + ": " + n).join(", ") || "none"],
  ];
  dl.replaceChildren(...rows.map(([k, v]) => el("div", {}, el("dt", {}, k), el("dd", {}, v))));
}

/* One sample per refresh; counters (retransmits, lost) become per-second
   rates between two samples. */
function sampleClient(c) {
  let h = live.get(c.runID);
  if (!h) {
    h = { rtt: [], minRtt: [], retx: [], lost: [], thr: [], bw: [], pacing: [],
          last: null, lastT: 0 };
    live.set(c.runID, h);
  }
  const now = Date.now();
  const l = c.link || {};
  const cur = { retx: l.retransmits || 0, lost: l.lost || 0 };
  const dt = h.lastT ? (now - h.lastT) / 1000 : 0;
  const per = k => (h.last && dt > 0 ? Math.max(0, cur[k] - h.last[k]) / dt : 0);
  const push = (a, v) => { a.push(v); if (a.length > HISTORY) a.shift(); };
  push(h.retx, per("retx"));
  push(h.lost, per("lost"));
  h.last = cur; h.lastT = now;
  push(h.rtt, l.srttMs || 0);
  push(h.minRtt, l.minRttMs || 0);
  push(h.thr, ((c.rateIn || 0) + (c.rateOut || 0)) * 8);
  push(h.bw, l.bandwidthBps || 0);
  push(h.pacing, l.pacingBps || 0);
  return h;
}

/* The live charts of a client, one per unit. */
const CLIENT_CHARTS = [
  { id: "rtt", title: "RTT (ms)", min: 1, fmt: v => v.toFixed(v < 10 ? 1 : 0) + " ms",
    series: [["rtt", "smoothed", "#2563eb"], ["minRtt", "min", "#16a34a"]] },
  { id: "loss", title: "Loss (segments/s)", min: 1, fmt: perSec,
    series: [["lost", "lost", "#dc2626"], ["retx", "retransmits", "#ea580c"]] },
  { id: "rate", title: "Throughput (bit/s)", min: 1000, fmt: bits,
    series: [["thr", "user traffic", "#7c3aed"], ["bw", "est. bandwidth", "#0891b2"],
             ["pacing", "pacing", "#a3a3a3"]] },
];

function clientCard(c) {
  const card = el("div", { class: "card", "data-client-chart": c.runID },
    el("h3", {}, "Client " + c.runID + (c.user ? " (" + c.user + ")" : "")));
  for (const ch of CLIENT_CHARTS) {
    const legend = el("div", { class: "legend" });
    for (const [, name, color] of ch.series) {
      const i = el("i");
      i.style.background = color;
      legend.append(el("span", {}, i, name));
    }
    card.append(el("div", { class: "chart-title" }, ch.title),
      el("canvas", { class: "small", "data-chart": ch.id }), legend);
  }
  return card;
}

const opt = (l, k) => (l && l[k] !== undefined ? l[k] : "");
const optText = (l, k, f) => (l && l[k] !== undefined ? f(l[k]) : "–");

function renderClients(list) {
  const tb = document.querySelector("#client-table tbody");
  const cards = document.getElementById("client-charts");
  const rows = [], seen = new Set();
  for (const c of list) {
    const l = c.link;
    const hist = (c.linkHistory || []).map(x => x.transport).join(" → ");
    const linkCell = el("td", { "data-k": "transport", "data-v": l ? l.transport : "" },
      l ? el("span", { class: "tag" }, l.transport) : el("span", { class: "offline" }, "offline"),
      (c.drainingLinks || []).length ? " +" + c.drainingLinks.length + " draining" : "",
      el("div", { class: "hist" }, hist));
    const ms = v => v + " ms";
    rows.push(el("tr", { "data-client": c.runID },
      cell("runID", c.runID), cell("user", c.user),
      cell("address", c.address),
      linkCell,
      cell("srttMs", opt(l, "srttMs"), optText(l, "srttMs", ms), "num"),
      cell("minRttMs", opt(l, "minRttMs"), optText(l, "minRttMs", ms), "num"),
      cell("retransmits", opt(l, "retransmits"), undefined, "num"),
      cell("lost", opt(l, "lost"), undefined, "num"),
      cell("fecRecovered", opt(l, "fecRecovered"), undefined, "num"),
      cell("cryptFailures", opt(l, "cryptFailures"), undefined, "num"),
      cell("bandwidthBps", opt(l, "bandwidthBps"), optText(l, "bandwidthBps", bits), "num"),
      cell("pacingBps", opt(l, "pacingBps"), optText(l, "pacingBps", bits), "num"),
      cell("inflightBytes", opt(l, "inflightBytes"), optText(l, "inflightBytes", bytes), "num"),
      cell("rate", c.rateIn + "/" + c.rateOut, rate(c.rateIn) + " / " + rate(c.rateOut), "num"),
      cell("proxies", (c.proxies || []).join(","))));
    if (!c.online) continue;
    seen.add(c.runID);
    const h = sampleClient(c);
    let card = cards.querySelector(`[data-client-chart="${CSS.escape(c.runID)}"]`);
    if (!card) cards.append(card = clientCard(c));
    for (const ch of CLIENT_CHARTS)
      Charts.lines(card.querySelector(`canvas[data-chart="${ch.id}"]`),
        ch.series.map(([k, , color]) => ({ values: h[k], color })), { fmt: ch.fmt, min: ch.min });
  }
  tb.replaceChildren(...rows);
  for (const card of [...cards.children])
    if (!seen.has(card.dataset.clientChart)) card.remove();
}

function renderProxies(list, traffic) {
  const tb = document.querySelector("#proxy-table tbody");
  const cards = document.getElementById("proxy-charts");
  tb.replaceChildren(...list.map(p => el("tr", { "data-proxy": p.name },
    cell("name", p.name), cell("type", p.type), cell("remotePort", p.remotePort, undefined, "num"),
    cell("status", p.status, undefined, p.status),
    cell("curConns", p.curConns, undefined, "num"),
    cell("todayTrafficIn", p.todayTrafficIn, bytes(p.todayTrafficIn), "num"),
    cell("todayTrafficOut", p.todayTrafficOut, bytes(p.todayTrafficOut), "num"),
    cell("rate", p.rateIn + "/" + p.rateOut, rate(p.rateIn) + " / " + rate(p.rateOut), "num"))));
  const names = new Set(list.map(p => p.name));
  for (const card of [...cards.children])
    if (!names.has(card.dataset.proxyChart)) card.remove();
  const days = ["today", "-1", "-2", "-3", "-4", "-5", "-6"];
  for (const p of list) {
    const t = traffic.get(p.name);
    if (!t) continue;
    let card = cards.querySelector(`[data-proxy-chart="${CSS.escape(p.name)}"]`);
    if (!card) {
      card = el("div", { class: "card", "data-proxy-chart": p.name },
        el("h3", {}, p.name + " · 7 days"), el("canvas", { "data-chart": "traffic" }),
        el("div", { class: "legend" }, el("span", {}, el("i"), "in"), el("span", {}, el("i"), "out")));
      const is = card.querySelectorAll(".legend i");
      is[0].style.background = "var(--a)"; is[1].style.background = "var(--b)";
      cards.append(card);
    }
    /* oldest day on the left */
    Charts.bars(card.querySelector("canvas"), days.slice().reverse(), [
      { values: t.trafficIn.slice().reverse(), color: "#2563eb" },
      { values: t.trafficOut.slice().reverse(), color: "#ea580c" },
    ], { fmt: bytes });
  }
}

async function refresh() {
  const status = document.getElementById("status");
  try {
    const [info, clients, tcp, udp] = await Promise.all([
      api("/api/serverinfo"), api("/api/clients"),
      api("/api/proxy/tcp"), api("/api/proxy/udp")]);
    const proxies = tcp.proxies.concat(udp.proxies);
    const traffic = new Map();
    await Promise.all(proxies.map(p =>
      api("/api/traffic/" + encodeURIComponent(p.name)).then(t => traffic.set(p.name, t), () => {})));
    renderServer(info);
    renderClients(clients.clients);
    renderProxies(proxies, traffic);
    status.textContent = "updated " + new Date().toLocaleTimeString();
    document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
  } catch (e) {
    status.textContent = "error: " + e.message;
  }
}

document.getElementById("period").textContent = String(PERIOD_MS / 1000);
refresh();
setInterval(refresh, PERIOD_MS);
