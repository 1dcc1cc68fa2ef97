// Set-up shared by the browser tests (dashboard.mjs, frpc_page.mjs): Debian's
// chromium, headless, through playwright-core, in a throw-away profile.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

export function check(cond, what) {
  if (!cond) throw new Error("check failed: " + what);
}

// Run body(ctx, page, errors) in a fresh browser that sends user:password as
// HTTP basic credentials; errors collects what the page throws or logs as
// an error. The browser is closed and its profile removed however body ends.
export async function withBrowser({ name, user, password, viewport }, body) {
  const profile = mkdtempSync(join(tmpdir(), name + "-chromium."));
  let ctx;
  try {
    ctx = await chromium.launchPersistentContext(profile, {
      executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
      headless: true,
      args: FLAGS,
      httpCredentials: { username: user, password },
      viewport,
      timeout: 60000,
    });
    const page = ctx.pages()[0] || await ctx.newPage();
    const errors = [];
    page.on("pageerror", e => errors.push(String(e)));
    page.on("console", m => { if (m.type() === "error") errors.push(m.text()); });
    return await body(ctx, page, errors);
  } finally {
    if (ctx) await ctx.close();
    rmSync(profile, { recursive: true, force: true });
  }
}
