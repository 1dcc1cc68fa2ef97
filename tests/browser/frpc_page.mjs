// frpc's admin page in Debian's chromium (headless, playwright-core):
// the proxies and the current link are shown, the transport is switched
// from the page, and frps's API (and its dashboard) then report the new
// link. Started by tests/e2e/dashboard_browser.sh:
//   node frpc_page.mjs FRPC_URL FRPS_URL USER PASSWORD OUT NEW_TRANSPORT
import { join } from "node:path";
import { check, withBrowser } from "./lib.mjs";

const [frpcUrl, frpsUrl, user, password, out, target] = process.argv.slice(2);
await withBrowser({ name: "frpc-page", user, password, viewport: { width: 1100, height: 900 } },
  async (ctx, page, errors) => {
  const api = async url => {
    const r = await ctx.request.get(url);
    check(r.ok(), url + ": HTTP " + r.status());
    return r.json();
  };

  await page.goto(frpcUrl + "/", { waitUntil: "load" });
  await page.waitForFunction(() => Number(document.body.dataset.updates || 0) >= 2,
    null, { timeout: 20000 });
  const status = await api(frpcUrl + "/api/status");
  const tr = await api(frpcUrl + "/api/transport");
  check(tr.protocol !== target, "already on " + target);
  // Proxies as /api/status lists them.
  for (const list of Object.values(status))
    for (const p of list) {
      const row = page.locator(`tr[data-proxy="${p.name}"]`);
      check(await row.locator('td[data-k="status"]').getAttribute("data-v") === p.status,
        "status of " + p.name);
    }
  check(await page.evaluate(() => document.body.dataset.protocol) === tr.protocol,
    "page shows the link's protocol");
  const opts = await page.$$eval("#transport-select option", os => os.map(o => o.value));
  check(opts.includes(target), "selector offers " + target + ": " + opts);
  // The link's health with the sender's model, and one chart per unit.
  const info = Object.fromEntries(await page.$$eval("#link-info > div",
    ds => ds.map(d => [d.dataset.k, d.querySelector("dd").textContent])));
  for (const k of ["RTT", "Min RTT", "Retransmits", "Lost", "Bandwidth", "Pacing", "In flight"])
    check(info[k] !== undefined && info[k] !== "–", "link info " + k + ": " + JSON.stringify(info));
  check(/ (k|M|G)?bit\/s$/.test(info.Bandwidth), "bandwidth with its unit: " + info.Bandwidth);
  for (const id of ["link-chart", "link-rate-chart"]) {
    const cv = await page.$eval("#" + id, c => {
      const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i]) n++;
      return { n, points: Number(c.dataset.points || 0) };
    });
    check(cv.points >= 4 && cv.n > 150, id + ": " + JSON.stringify(cv));
  }
  await page.screenshot({ path: join(out, "frpc-page.png"), fullPage: true });

  // Switch from the page.
  await page.selectOption("#transport-select", target);
  await page.click("#switch-btn");
  await page.waitForFunction(() => Number(document.getElementById("action-result").dataset.done || 0) >= 1,
    null, { timeout: 30000 });
  const result = await page.locator("#action-result").innerText();
  check(result.endsWith(": done"), "switch result: " + result);

  // frps reports the new link for this client.
  let c;
  for (let i = 0; i < 50; i++) {
    c = (await api(frpsUrl + "/api/clients")).clients.find(x => x.online);
    if (c && c.link && c.link.transport === target) break;
    await new Promise(r => setTimeout(r, 200));
  }
  check(c && c.link && c.link.transport === target, "frps link after the switch: " + JSON.stringify(c && c.link));
  const hist = c.linkHistory.map(x => x.transport);
  check(hist.length >= 2 && hist[hist.length - 1] === target && hist[hist.length - 2] === tr.protocol,
    "link history " + hist);
  // frpc's page follows too.
  await page.waitForFunction(t => document.body.dataset.protocol === t, target, { timeout: 10000 });
  await page.screenshot({ path: join(out, "frpc-page-switched.png"), fullPage: true });

  // And frps's dashboard shows the client on the new transport.
  const dash = await ctx.newPage();
  await dash.goto(frpsUrl + "/", { waitUntil: "load" });
  await dash.waitForFunction(([id, t]) => {
    const td = document.querySelector(`tr[data-client="${id}"] td[data-k="transport"]`);
    return td && td.dataset.v === t;
  }, [c.runID, target], { timeout: 10000 });
  // A few samples on the live charts before the picture.
  await dash.waitForFunction(() => Number(document.body.dataset.updates || 0) >= 3, null,
    { timeout: 20000 });
  await dash.screenshot({ path: join(out, "dashboard-after-switch.png"), fullPage: true });

  // The reload button: the file still says the first protocol, and a
  // reload makes the file's protocol current again.
  await page.click("#reload-btn");
  await page.waitForFunction(() => Number(document.getElementById("action-result").dataset.done || 0) >= 2,
    null, { timeout: 30000 });
  const rres = await page.locator("#action-result").innerText();
  check(rres === "reload: done", "reload result: " + rres);
  await page.waitForFunction(t => document.body.dataset.protocol === t, tr.protocol, { timeout: 20000 });

  check(errors.length === 0, "errors in the page: " + errors.join("; "));
  console.log("browser: frpc page ok; switched", tr.protocol, "->", target,
    "from the page; frps link history", hist.join(" -> "), "; reload brought back", tr.protocol);
});
