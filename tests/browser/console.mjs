// The operator console (/admin) in Debian's headless Chromium. Started by
// scripts/ci/browser-test.sh, which passes:
//   EDGE_URL        the edge in front of the real origin (the console is loaded through it)
//   IDLE_ORIGIN_URL a second real origin with ASYNC_WORKERS=0, where a submitted job stays
//                   queued until the console cancels it (so the check cannot race a worker)
//   API_KEY         a key both origins accept
//   ARTIFACTS_DIR   where screenshots go;  CHROMIUM  the browser binary
// Prints one line per check, the console's figures (page weight, time to first chart), and
// closes with `console e2e: N passed, M failed`; exits non-zero when a check failed.
import assert from "node:assert/strict";
import zlib from "node:zlib";
import { mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const EDGE = process.env.EDGE_URL;
const IDLE = process.env.IDLE_ORIGIN_URL;
const KEY = process.env.API_KEY;
const ARTIFACTS = process.env.ARTIFACTS_DIR || join(tmpdir(), "vitrine-browser-artifacts");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
if (!EDGE || !IDLE || !KEY) {
  console.error("EDGE_URL, IDLE_ORIGIN_URL and API_KEY must be set; run scripts/ci/browser-test.sh");
  process.exit(2);
}

// Bounds on waits (a loaded 2-core machine is slow); no check asserts on time.
const WAIT_MS = 120_000;
const DESKTOP = { viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 };
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true };

let passed = 0;
let failed = 0;
const figures = [];
async function check(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok - ${name}`);
  } catch (e) {
    failed++;
    console.log(`not ok - ${name}\n    ${String((e && e.stack) || e).split("\n").join("\n    ")}`);
  }
}

async function newPage(browser, options) {
  const ctx = await browser.newContext(options);
  ctx.setDefaultTimeout(WAIT_MS);
  ctx.setDefaultNavigationTimeout(WAIT_MS);
  const page = await ctx.newPage();
  const errors = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push(String(e)));
  // CSP violations as the page sees them (they also reach the console as errors).
  await page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  return { ctx, page, errors };
}

async function signIn(page, key) {
  await page.fill("#api-key", key);
  await page.press("#api-key", "Enter");
}

/** Number of points in the longest path of a chart (`M`/`L` commands). */
const pointsIn = (page, fig) => page.evaluate((id) => Math.max(0, ...[...document.querySelectorAll(`#${id} svg path`)]
  .map((p) => (p.getAttribute("d").match(/[ML]/g) || []).length)), fig);

/** Waits until chart `fig` has a line of at least `n` points. */
const chartWithPoints = (page, fig, n) => page.waitForFunction(([id, k]) => [...document.querySelectorAll(`#${id} svg path`)]
  .some((p) => (p.getAttribute("d").match(/[ML]/g) || []).length >= k), [fig, n]);

/** Requests through the edge that reach the origin (unique queries miss the edge cache). */
async function traffic(n) {
  for (let i = 0; i < n; i++) {
    const r = await fetch(`${EDGE}/api/search/text?q=console-${Date.now()}-${i}&limit=2`);
    await r.arrayBuffer();
  }
}

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
await mkdir(ARTIFACTS, { recursive: true });
try {
  // ---- through the edge, desktop ------------------------------------------------------
  const { page, errors } = await newPage(browser, DESKTOP);
  let pageResponse;
  await check("/admin through the edge: strict CSP, no framing, revalidated page, immutable assets", async () => {
    pageResponse = await page.goto(`${EDGE}/admin`);
    assert.equal(pageResponse.status(), 200);
    const h = await pageResponse.allHeaders();
    assert.match(h["content-security-policy"] || "", /default-src 'none'.*script-src 'self'.*frame-ancestors 'none'/);
    assert.doesNotMatch(h["content-security-policy"], /unsafe/);
    assert.equal(h["x-frame-options"], "DENY");
    assert.equal(h["cache-control"], "public, max-age=0, stale-if-error=86400");
    assert.ok(!h["set-cookie"], "no cookie");
    const assets = await page.evaluate(() => [...document.querySelectorAll("script[src], link[rel=stylesheet]")].map((e) => e.src || e.href));
    assert.equal(assets.length, 3, String(assets));
    for (const url of assets) {
      assert.match(url, /\/admin\/assets\/[a-z]+\.[0-9a-f]{12}\.(js|css)$/);
      const r = await fetch(url);
      assert.equal(r.status, 200, url);
      assert.equal(r.headers.get("cache-control"), "public, max-age=31536000, immutable", url);
    }
    // The second load of the page is revalidated: a 304 from the edge or the origin.
    const again = await fetch(`${EDGE}/admin`, { headers: { "if-none-match": h.etag } });
    assert.equal(again.status, 304);
  });

  await check("a wrong key is refused and the console stays hidden", async () => {
    await signIn(page, "not-the-key");
    await page.waitForFunction(() => /not valid/.test(document.getElementById("login-error").textContent));
    assert.equal(await page.isHidden("#main"), true);
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  });

  let signedInAt;
  await check("sign in: the key is kept in sessionStorage only, and every chart renders", async () => {
    signedInAt = Date.now();
    await signIn(page, KEY);
    await page.waitForSelector("#main:not([hidden])");
    await page.waitForSelector("#c-rps svg path", { state: "attached" });
    const firstChartMs = Date.now() - signedInAt;
    const nav = await page.evaluate(() => performance.getEntriesByType("navigation")[0].toJSON());
    figures.push(`console: first chart drawn ${firstChartMs} ms after sign-in (page load ${Math.round(nav.loadEventEnd)} ms after navigation start)`);
    assert.equal(await page.evaluate(() => sessionStorage.getItem("vitrine.apiKey")), KEY);
    assert.deepEqual(await page.context().cookies(), [], "no cookies");
    // Every figure draws a chart or says why it cannot.
    const figs = await page.$$eval("figure", (fs) => fs.map((f) => ({ id: f.id, svg: !!f.querySelector("svg"), cap: f.querySelector("figcaption").textContent })));
    assert.equal(figs.length, 12);
    for (const f of figs) assert.ok(f.svg || /not available/.test(f.cap), `${f.id}: ${f.cap}`);
  });

  await check("charts draw lines from live data after traffic; captions state the latest values", async () => {
    await traffic(20);
    const t0 = Date.now();
    await chartWithPoints(page, "c-rps", 3);
    figures.push(`console: requests/s line with 3 samples ${Date.now() - signedInAt} ms after sign-in`);
    for (const fig of ["c-latency", "c-cache-ns", "c-memory", "c-pool", "c-visual", "c-queue"]) await chartWithPoints(page, fig, 3);
    void t0;
    const caps = await page.$$eval("figure figcaption", (cs) => Object.fromEntries(cs.map((c) => [c.parentElement.id, c.textContent])));
    assert.match(caps["c-rps"], /latest: all \d/);
    assert.match(caps["c-latency"], /p50 [\d.]+ ms; p95 [\d.]+ ms; p99 [\d.]+ ms/);
    assert.match(caps["c-memory"], /resident [\d.]+ (MiB|GiB)/);
    assert.match(caps["c-memory"], /budget [\d.]+ (MiB|GiB)/);
    for (const [id, cap] of Object.entries(caps)) assert.ok(!/NaN|undefined/.test(cap), `${id}: ${cap}`);
    // Each chart's SVG is an image labelled by its caption.
    const unlabelled = await page.$$eval("figure svg", (ss) => ss.filter((s) => s.getAttribute("role") !== "img" || !document.getElementById(s.getAttribute("aria-labelledby"))).length);
    assert.equal(unlabelled, 0);
    // The route table lists the search route the traffic hit, with percentiles.
    const route = await page.locator("#routes tbody tr", { hasText: "GET /api/search/text" }).first().textContent();
    assert.match(route, /GET \/api\/search\/text[\d.]+/);
    // Alerts from /api/performance, each with its state.
    const alerts = await page.$$eval("#alerts li", (ls) => ls.map((l) => l.className));
    assert.ok(alerts.length >= 2 && alerts.every((c) => /alert (ok|firing|no_data)/.test(c)), String(alerts));
    await page.screenshot({ path: join(ARTIFACTS, "console-desktop.png"), fullPage: true });
  });

  await check("the latency chart follows the chosen route", async () => {
    await page.selectOption("#route", "GET /api/search/text");
    await page.waitForFunction(() => /Latency, GET \/api\/search\/text/.test(document.querySelector("#c-latency figcaption").textContent));
    assert.ok((await pointsIn(page, "c-latency")) >= 1);
  });

  await check("keyboard: purge a tag with Enter; focus is visible; the page shows the origin's answer", async () => {
    await page.focus("#purge-tag");
    await page.keyboard.type("product:1");
    await page.keyboard.press("Tab");
    const focus = await page.evaluate(() => {
      const e = document.activeElement;
      return { text: e.textContent, outline: getComputedStyle(e).outlineStyle, width: getComputedStyle(e).outlineWidth };
    });
    assert.equal(focus.text, "Purge tag");
    assert.notEqual(focus.outline, "none", "visible focus");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => /Purged tag product:1 from every cache tier/.test(document.getElementById("purge-status").textContent));
  });

  await check("every control has a label; panels without an endpoint say so", async () => {
    const unlabelled = await page.evaluate(() => [...document.querySelectorAll("input, select, button")]
      .filter((e) => !(e.labels && e.labels.length) && !e.getAttribute("aria-label") && !e.textContent.trim())
      .map((e) => e.outerHTML));
    assert.deepEqual(unlabelled, []);
    for (const id of ["jobs-note", "dead-status", "schedules-status"]) {
      const t = await page.textContent(`#${id}`);
      assert.ok(!/failed/.test(t), `${id}: ${t}`);
    }
  });

  await check("console page weight", async () => {
    const urls = [`${EDGE}/admin`].concat(await page.evaluate(() => [...document.querySelectorAll("script[src], link[rel=stylesheet]")].map((e) => e.src || e.href)));
    let raw = 0, gz = 0;
    for (const u of urls) {
      const b = Buffer.from(await (await fetch(u, { headers: { "accept-encoding": "identity" } })).arrayBuffer());
      raw += b.length;
      gz += zlib.gzipSync(b, { level: 9 }).length;
    }
    figures.push(`console page weight: ${raw} B HTML+CSS+JS (${urls.length} files), ${gz} B gzipped (level 9)`);
    assert.ok(raw > 0);
  });

  await check("log out clears the key and shows the sign-in form", async () => {
    await page.click("#logout");
    await page.waitForSelector("#login:not([hidden])");
    assert.equal(await page.evaluate(() => sessionStorage.getItem("vitrine.apiKey")), null);
    assert.equal(await page.isHidden("#main"), true);
  });

  await check("no console errors or CSP violations (edge)", async () => {
    // The wrong-key sign-in is a 401 the browser logs as a failed resource load; nothing else.
    const unexpected = errors.filter((e) => !/status of 401/.test(e));
    assert.deepEqual(unexpected, []);
    assert.deepEqual(await page.evaluate(() => window.__csp), []);
  });
  await page.context().close();

  // ---- an idle origin: cancel a job ---------------------------------------------------
  const idle = await newPage(browser, DESKTOP);
  await check("cancel a job from the console: the job shows cancelled", async () => {
    const products = await (await fetch(`${IDLE}/api/products?limit=3`)).json();
    const images = products.products.map((p) => p.image_id).filter(Boolean);
    assert.ok(images.length > 0, "demo products have images");
    const submitted = await fetch(`${IDLE}/api/images/batch`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ images, priority: "low" }),
    });
    assert.equal(submitted.status, 202);
    const { job_id: id } = await submitted.json();
    const p = idle.page;
    await p.goto(`${IDLE}/admin`);
    await signIn(p, KEY);
    await p.waitForSelector("#main:not([hidden])");
    // The recent-jobs listing shows it, and the queue-depth chart counts its items as low.
    const row = p.locator(`#jobs tr[data-job="${id}"]`).first();
    await row.locator("td.state", { hasText: "queued" }).waitFor();
    const lowQueued = async () => Number((/; low (\d+)/.exec(await p.textContent("#c-queue figcaption")) || [])[1]);
    await p.waitForFunction(() => /; low \d+/.test(document.querySelector("#c-queue figcaption").textContent));
    const before = await lowQueued();
    assert.ok(before >= images.length, `low queue ${before}`);
    // Looking it up by id finds the same job.
    await p.fill("#job-id", id);
    await p.press("#job-id", "Enter");
    await p.waitForFunction((j) => document.getElementById("jobs-status").textContent.includes(`Job ${j} added`), id);
    // No dead letters on a fresh origin: the panel says so and the bulk buttons are off.
    await p.waitForFunction(() => document.getElementById("dead-status").textContent === "No dead letters.");
    assert.equal(await p.isDisabled("#dead-retry-all"), true);
    await row.getByRole("button", { name: `Cancel job ${id}` }).click();
    await p.locator(`#jobs tr[data-job="${id}"] td.state`, { hasText: "cancelled" }).first().waitFor();
    await p.waitForFunction((j) => document.getElementById("jobs-status").textContent.includes(`Job ${j} cancelled`), id);
    const view = await (await fetch(`${IDLE}/api/jobs/${id}`, { headers: { authorization: `Bearer ${KEY}` } })).json();
    assert.equal(view.state, "cancelled");
    assert.equal(await row.getByRole("button", { name: /Cancel/ }).count(), 0, "no cancel button on a cancelled job");
    // The next samples no longer count its items.
    await p.waitForFunction(([b, n]) => {
      const m = /; low (\d+)/.exec(document.querySelector("#c-queue figcaption").textContent);
      return m && Number(m[1]) === b - n;
    }, [before, images.length]);
  });
  await check("no console errors or CSP violations (idle origin)", async () => {
    assert.deepEqual(idle.errors, []);
    assert.deepEqual(await idle.page.evaluate(() => window.__csp), []);
  });
  await idle.ctx.close();

  // ---- a phone ------------------------------------------------------------------------
  const phone = await newPage(browser, PHONE);
  await check("phone (390 px): no horizontal scroll, charts fit, actions reachable", async () => {
    const p = phone.page;
    await p.goto(`${EDGE}/admin`);
    await signIn(p, KEY);
    await chartWithPoints(p, "c-rps", 2);
    const m = await p.evaluate(() => ({
      scroll: document.documentElement.scrollWidth, width: innerWidth,
      widest: Math.max(...[...document.querySelectorAll("figure")].map((f) => f.getBoundingClientRect().right)),
    }));
    assert.equal(m.width, 390);
    assert.ok(m.scroll <= m.width, `scrollWidth ${m.scroll} > ${m.width}`);
    assert.ok(m.widest <= m.width, `a chart reaches ${m.widest} px`);
    await p.locator("#purge-form button").scrollIntoViewIfNeeded();
    assert.ok(await p.locator("#purge-form button").isVisible());
    await p.screenshot({ path: join(ARTIFACTS, "console-phone.png"), fullPage: true });
    assert.deepEqual(phone.errors, []);
    assert.deepEqual(await p.evaluate(() => window.__csp), []);
  });
  await phone.ctx.close();
} finally {
  await browser.close();
}

for (const f of figures) console.log(f);
console.log(`console e2e: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
