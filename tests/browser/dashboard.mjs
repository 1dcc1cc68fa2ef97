// Drive Debian's chromium (headless) through playwright-core against a
// running frps dashboard: the proxy and client rows show what the API
// says, the charts have drawn data, and the page fits a phone. Screenshots
// go to OUT. Started by tests/e2e/dashboard_browser.sh:
//   node dashboard.mjs URL USER PASSWORD OUT PROXY
import { join } from "node:path";
import { check, withBrowser } from "./lib.mjs";

const [url, user, password, out, proxyName] = process.argv.slice(2);
await withBrowser({ name: "frps-dash", user, password, viewport: { width: 1280, height: 900 } },
  async (ctx, page, errors) => {

  // Without credentials the same URL is refused.
  const anon = await fetch(url + "/api/serverinfo");
  check(anon.status === 401, "anonymous API request: " + anon.status);

  // The page's own /api/clients answers, to compare the rows with what the
  // page was given (the link numbers move between two requests).
  const seen = [];
  page.on("response", r => {
    if (new URL(r.url()).pathname === "/api/clients")
      r.json().then(j => seen.push(j), () => {});
  });
  await page.goto(url + "/", { waitUntil: "load" });
  // Three refreshes: the live client chart then has several samples.
  await page.waitForFunction(() => Number(document.body.dataset.updates || 0) >= 3,
    null, { timeout: 20000 });

  const api = async path => {
    const r = await ctx.request.get(url + path);
    check(r.ok(), path + ": HTTP " + r.status());
    return r.json();
  };
  const p = await api("/api/proxy/tcp/" + encodeURIComponent(proxyName));
  const clients = (await api("/api/clients")).clients;
  const info = await api("/api/serverinfo");
  check(p.todayTrafficIn > 0 && p.todayTrafficOut > 0, "the API saw the transfer");

  // Proxy row == API (traffic is idle now, so both are stable).
  const row = page.locator(`tr[data-proxy="${proxyName}"]`);
  await row.waitFor();
  const cellV = async (loc, k) => loc.locator(`td[data-k="${k}"]`).getAttribute("data-v");
  for (const k of ["todayTrafficIn", "todayTrafficOut", "curConns", "remotePort", "status"])
    check(await cellV(row, k) === String(p[k]), `proxy ${k}: page ${await cellV(row, k)} api ${p[k]}`);

  // Names come from clients: shown as text, never run as markup.
  const evil = "<img src=x onerror=window.__xss=1>";
  const erow = page.locator("tr[data-proxy]").filter({ hasText: evil });
  check(await erow.count() === 1, "the proxy with markup in its name is listed as text");
  check(await page.evaluate(() => window.__xss === undefined && !document.querySelector("main img")),
    "markup from a proxy name ran");

  // Client row == API; its link block is shown.
  check(clients.length === 1, "one client");
  const c = clients[0];
  const crow = page.locator(`tr[data-client="${c.runID}"]`);
  await crow.waitFor();
  check(await cellV(crow, "transport") === c.link.transport, "client transport");
  check(await cellV(crow, "address") === c.address, "client address");
  check(await cellV(crow, "proxies") === c.proxies.join(","), "client proxies");
  check(c.proxies.length === 3, "three proxies online: " + c.proxies);
  check((await cellV(crow, "srttMs")) !== "", "client RTT shown");
  check(await cellV(crow, "retransmits") === String(c.link.retransmits), "retransmits");

  // The link model's columns show the numbers of the answer the page
  // rendered last (read between two refreshes).
  const LINK_KEYS = ["srttMs", "minRttMs", "retransmits", "lost", "bandwidthBps",
    "pacingBps", "inflightBytes"];
  let match = null, tries = 0;
  for (; tries < 5 && !match; tries++) {
    const u = await page.evaluate(() => Number(document.body.dataset.updates));
    await page.waitForFunction(n => Number(document.body.dataset.updates) > n, u,
      { timeout: 10000 });
    const got = await crow.evaluate(tr => Object.fromEntries(
      [...tr.querySelectorAll("td[data-k]")].map(td => [td.dataset.k, td.dataset.v])));
    const last = seen[seen.length - 1].clients.find(x => x.runID === c.runID).link;
    if (LINK_KEYS.every(k => got[k] === String(last[k]))) match = { got, last };
  }
  check(match, "link columns never matched the page's API answer");
  check(match.last.bandwidthBps > 0 && match.last.pacingBps > 0,
    "tcp.so reports bandwidth and pacing from TCP_INFO: " + JSON.stringify(match.last));
  const shown = await crow.locator('td[data-k="bandwidthBps"]').innerText();
  check(/\d (k|M|G)?bit\/s$/.test(shown), "bandwidth shown with its unit: " + shown);

  // Server info shows the API's numbers.
  const serverText = await page.locator("#serverinfo").innerText();
  check(serverText.includes(info.version) && serverText.includes(String(info.bindPort)),
    "server info: " + serverText);

  // Charts: drawn from data (points set by the chart code), and pixels
  // actually painted on the canvas.
  const painted = sel => page.$eval(sel, cv => {
    const d = cv.getContext("2d").getImageData(0, 0, cv.width, cv.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i]) n++;
    return { n, points: Number(cv.dataset.points || 0), nonzero: Number(cv.dataset.nonzero || 0) };
  });
  const tc = await painted(`[data-proxy-chart="${proxyName}"] canvas`);
  check(tc.points === 14 && tc.nonzero >= 2 && tc.n > 500, "7-day chart: " + JSON.stringify(tc));
  // Three live charts per client, each with its own unit on its axis.
  const card = `[data-client-chart="${c.runID}"]`;
  const titles = await page.locator(card + " .chart-title").allInnerTexts();
  check(titles.join("|") === "RTT (ms)|Loss (segments/s)|Throughput (bit/s)",
    "client chart titles: " + titles);
  const charts = {};
  for (const id of ["rtt", "loss", "rate"]) {
    charts[id] = await painted(`${card} canvas[data-chart="${id}"]`);
    check(charts[id].points >= 6 && charts[id].n > 150, id + " chart: " + JSON.stringify(charts[id]));
  }
  // bandwidth and pacing are non-zero (above): drawn as such.
  check(charts.rate.nonzero > 0, "throughput chart has no data: " + JSON.stringify(charts.rate));
  // It refreshes on its own.
  const before = charts.rtt.points;
  await page.waitForFunction(([sel, n]) => Number(document.querySelector(sel).dataset.points) > n,
    [`${card} canvas[data-chart="rtt"]`, before], { timeout: 10000 });

  await page.screenshot({ path: join(out, "dashboard.png"), fullPage: true });

  // Readable on a phone: nothing wider than the screen but the tables'
  // own scroll boxes.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(300);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
  check(overflow <= 392, "page wider than a phone: " + overflow);
  await page.screenshot({ path: join(out, "dashboard-phone.png"), fullPage: true });

  check(errors.length === 0, "errors in the page: " + errors.join("; "));
  console.log("browser: dashboard ok; proxy", proxyName, "in", p.todayTrafficIn,
    "out", p.todayTrafficOut, "; client", c.runID, "over", c.link.transport);
});
