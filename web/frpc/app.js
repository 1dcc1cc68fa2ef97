/* frpc admin page: proxies (/api/status), the link and its health
   (/api/transport), a transport switch (PUT /api/transport) and a reload
   (GET /api/reload). Names and errors are set as text, never as HTML. */
"use strict";

const PERIOD_MS = 2000;
const HISTORY = 60;
const hist = { rtt: [], minRtt: [], rate: [], bw: [], pacing: [], lastBytes: null, lastT: 0 };

/* el, bytes, bits: web/common/util.js */

const cell = (k, v, cls) => el("td", { "data-k": k, "data-v": String(v ?? ""), class: cls || "" },
  String(v ?? ""));

async function api(path, opts = {}) {
  const r = await fetch(path, { cache: "no-store", credentials: "same-origin", ...opts });
  const text = await r.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch (e) { body = text; }
  if (!r.ok) {
    const msg = body && body.error ? body.error : (typeof body === "string" ? body : "");
    throw new Error(path + ": HTTP " + r.status + (msg ? " " + msg : ""));
  }
  return body;
}

function renderLink(t) {
  const dl = document.getElementById("link-info");
  const rows = [
    ["Transport", t.protocol], ["State", t.state],
    ["Server", t.server_addr || "–"],
    ["Since", t.since ? new Date(t.since * 1000).toLocaleString() : "–"],
    ["RTT", t.srtt_ms !== undefined ? t.srtt_ms + " ms" : "–"],
    ["Min RTT", t.min_rtt_ms !== undefined ? t.min_rtt_ms + " ms" : "–"],
    ["RTO", t.rto_ms !== undefined ? t.rto_ms + " ms" : "–"],
    ["Retransmits", t.retransmits ?? "–"], ["Lost", t.lost ?? "–"],
    ["FEC recovered", t.fec_recovered ?? "–"],
    ["Bandwidth", t.bandwidth_bps !== undefined ? bits(t.bandwidth_bps) : "–"],
    ["Pacing", t.pacing_bps !== undefined ? bits(t.pacing_bps) : "–"],
    ["In flight", t.inflight_bytes !== undefined ? bytes(t.inflight_bytes) : "–"],
    ["Bytes in / out", t.bytes_in !== undefined ? bytes(t.bytes_in) + " / " + bytes(t.bytes_out) : "–"],
    ["Switching to", t.switching || "–"],
  ];
  dl.replaceChildren(...rows.map(([k, v]) =>
    el("div", { "data-k": k }, el("dt", {}, k), el("dd", {}, v))));
  document.body.dataset.protocol = t.protocol || "";
  const sel = document.getElementById("transport-select");
  const avail = t.available || [];
  if (sel.dataset.opts !== avail.join(",")) {
    sel.replaceChildren(...avail.map(n => el("option", { value: n }, n)));
    sel.dataset.opts = avail.join(",");
    sel.value = t.protocol;
  }
  const dr = t.draining || [];
  document.getElementById("draining").textContent = dr.length
    ? "Draining: " + dr.map(d => d.protocol + " (" + (d.connections ?? 0) + " conns)").join(", ") : "";
  const now = Date.now(), b = (t.bytes_in || 0) + (t.bytes_out || 0);
  const dt = hist.lastT ? (now - hist.lastT) / 1000 : 0;
  const rate = hist.lastBytes !== null && dt > 0 ? Math.max(0, b - hist.lastBytes) / dt : 0;
  hist.lastBytes = b; hist.lastT = now;
  for (const [a, v] of [[hist.rtt, t.srtt_ms || 0], [hist.minRtt, t.min_rtt_ms || 0],
    [hist.rate, rate * 8], [hist.bw, t.bandwidth_bps || 0], [hist.pacing, t.pacing_bps || 0]]) {
    a.push(v); if (a.length > HISTORY) a.shift();
  }
  /* one chart per unit */
  Charts.lines(document.getElementById("link-chart"), [
    { values: hist.rtt, color: "#2563eb" }, { values: hist.minRtt, color: "#16a34a" },
  ], { fmt: v => v.toFixed(v < 10 ? 1 : 0) + " ms", min: 1 });
  Charts.lines(document.getElementById("link-rate-chart"), [
    { values: hist.rate, color: "#7c3aed" }, { values: hist.bw, color: "#0891b2" },
    { values: hist.pacing, color: "#a3a3a3" },
  ], { fmt: bits, min: 1000 });
}

function renderProxies(status) {
  const rows = [];
  for (const list of Object.values(status || {}))
    for (const p of list)
      rows.push(el("tr", { "data-proxy": p.name },
        cell("name", p.name), cell("type", p.type),
        cell("status", p.status, p.status === "running" ? "online" : "offline"),
        cell("local_addr", p.local_addr), cell("remote_addr", p.remote_addr),
        cell("err", p.err)));
  document.querySelector("#proxy-table tbody").replaceChildren(...rows);
}

async function refresh() {
  const status = document.getElementById("status");
  try {
    const [st, tr] = await Promise.all([api("/api/status"), api("/api/transport")]);
    renderProxies(st);
    renderLink(tr);
    status.textContent = "updated " + new Date().toLocaleTimeString();
    document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
  } catch (e) {
    status.textContent = "error: " + e.message;
  }
}

async function action(label, fn) {
  const out = document.getElementById("action-result");
  out.textContent = label + "…";
  try {
    await fn();
    out.textContent = label + ": done";
  } catch (e) {
    out.textContent = label + ": " + e.message;
  }
  out.dataset.done = String(Number(out.dataset.done || 0) + 1);
  refresh();
}

document.getElementById("switch-btn").addEventListener("click", () => {
  const proto = document.getElementById("transport-select").value;
  action("switch to " + proto, () => api("/api/transport", {
    method: "PUT", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ protocol: proto }) }));
});
document.getElementById("reload-btn").addEventListener("click", () =>
  action("reload", () => api("/api/reload")));

refresh();
setInterval(refresh, PERIOD_MS);
