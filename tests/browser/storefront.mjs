// The storefront in Debian's headless Chromium, through the edge (`wrangler dev`) in front of
// the real origin. Started by scripts/ci/browser-test.sh, which passes:
//   EDGE_URL       the edge, e.g. http://127.0.0.1:8787 (every page load goes through it)
//   ARTIFACTS_DIR  where screenshots go
//   CHROMIUM       the browser binary (default /usr/bin/chromium)
// Prints one line per check, the page performance figures, and closes with
// `browser e2e: N passed, M failed`; exits non-zero when a check failed.
import assert from "node:assert/strict";
import { mkdtemp, writeFile, mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const EDGE = process.env.EDGE_URL;
const ARTIFACTS = process.env.ARTIFACTS_DIR || join(tmpdir(), "vitrine-browser-artifacts");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
if (!EDGE) {
  console.error("EDGE_URL is not set; run scripts/ci/browser-test.sh");
  process.exit(2);
}

// Waits are bounded generously: on a loaded 2-core machine a cold edge renders thumbnails in
// wasm slowly. These bound failures; no check asserts on time.
const WAIT_MS = 120_000;
async function newContext(browser, options) {
  const ctx = await browser.newContext(options);
  ctx.setDefaultTimeout(WAIT_MS);
  ctx.setDefaultNavigationTimeout(WAIT_MS);
  return ctx;
}

const DESKTOP = { viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 };
const PHONE = {
  viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true,
  userAgent: "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Mobile Safari/537.36",
};

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
    console.log(`not ok - ${name}\n    ${String(e && e.stack || e).split("\n").join("\n    ")}`);
  }
}

/** Every network request of a page, from the DevTools protocol: URL, status, headers, bytes
 * on the wire (`encodedDataLength`: headers + body as transferred, 0 from the browser cache),
 * whether the browser's cache answered, and the status that came over the wire (`wire`:
 * Chromium reports a 304-revalidated response as its cached 200, the 304 only shows in the
 * raw response's ExtraInfo). */
async function monitor(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  const byId = new Map();
  const all = [];
  const get = (id) => byId.get(id) || {};
  const wire = new Map();
  cdp.on("Network.requestWillBeSent", (e) => {
    const r = { url: e.request.url, method: e.request.method, type: e.type, status: 0, headers: {}, bytes: 0, cached: false, done: false, wire: 0 };
    byId.set(e.requestId, r);
    all.push(r);
  });
  cdp.on("Network.requestServedFromCache", (e) => { get(e.requestId).cached = true; });
  cdp.on("Network.responseReceivedExtraInfo", (e) => {
    wire.set(e.requestId, e.statusCode);
    get(e.requestId).wire = e.statusCode;
  });
  cdp.on("Network.responseReceived", (e) => {
    const r = get(e.requestId);
    r.status = e.response.status;
    r.wire = wire.get(e.requestId) || r.wire;
    r.headers = Object.fromEntries(Object.entries(e.response.headers).map(([k, v]) => [k.toLowerCase(), v]));
    if (e.response.fromDiskCache || e.response.fromPrefetchCache) r.cached = true;
  });
  cdp.on("Network.loadingFinished", (e) => {
    const r = get(e.requestId);
    r.bytes = e.encodedDataLength;
    r.wire = wire.get(e.requestId) || r.wire;
    r.done = true;
  });
  cdp.on("Network.loadingFailed", (e) => { const r = get(e.requestId); r.failed = e.errorText; r.done = true; });
  return {
    all,
    reset() { all.length = 0; byId.clear(); wire.clear(); },
    summary() {
      const finished = all.filter((r) => r.done && !r.url.startsWith("data:") && !r.url.startsWith("blob:"));
      return { requests: finished.length, bytes: finished.reduce((s, r) => s + r.bytes, 0) };
    },
  };
}

/** Collects console errors and uncaught exceptions (CSP violations land here too). */
function watchErrors(page) {
  const errors = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push(String(e)));
  return errors;
}

const cards = (page) => page.locator("#grid li.card");
const cardCount = (page) => cards(page).count();

/** Waits for the grid to show results and every in-viewport thumbnail to have loaded. */
async function settled(page) {
  await page.waitForFunction(() => document.querySelectorAll("#grid li.card").length > 0);
  await page.waitForFunction(() => !document.querySelector("#grid[aria-busy]"));
  await page.waitForFunction(() => [...document.querySelectorAll("img.thumb")]
    .filter((i) => { const r = i.getBoundingClientRect(); return r.bottom > 0 && r.top < innerHeight; })
    .every((i) => i.complete && i.naturalWidth > 0));
}

async function statusText(page) {
  return (await page.locator("#status").textContent()) || "";
}

/** Waits for the status line to change from `before` (the grid was re-rendered). */
async function nextStatus(page, before) {
  await page.waitForFunction((b) => {
    const s = document.getElementById("status").textContent;
    return s !== b && !/Loading|Searching/.test(s) && !document.querySelector("#grid[aria-busy]");
  }, before);
  return statusText(page);
}

const totalOf = (status) => Number((/^(\d+) product/.exec(status) || [])[1] || 0);

/** The `w:` option of an /img URL. */
function widthOf(url) {
  const m = /\/w:(\d+)\//.exec(new URL(url).pathname);
  return m ? Number(m[1]) : null;
}

/** For every thumbnail in the viewport: the width the browser chose, its slot width in device
 * pixels, and the candidates it had. */
function chosenWidths(page, selector) {
  return page.$$eval(selector, (imgs) => imgs
    .filter((i) => { const r = i.getBoundingClientRect(); return r.bottom > 0 && r.top < innerHeight && i.currentSrc; })
    .map((i) => ({
      src: i.currentSrc,
      slot: i.getBoundingClientRect().width * devicePixelRatio,
      candidates: i.srcset.split(",").map((c) => Number(c.trim().split(/\s+/)[1].replace("w", ""))),
      loading: i.getAttribute("loading"), width: i.getAttribute("width"), height: i.getAttribute("height"),
    })));
}

function checkWidths(list, label) {
  assert.ok(list.length > 0, `${label}: no thumbnails in the viewport`);
  for (const t of list) {
    const w = widthOf(t.src);
    assert.ok(new URL(t.src).pathname.startsWith("/img/"), `${label}: ${t.src} is not an /img URL`);
    assert.ok(/\/f:auto\//.test(t.src), `${label}: ${t.src} does not negotiate the format`);
    assert.ok(t.width && t.height, `${label}: thumbnails need width/height attributes (no layout shift)`);
    // Big enough for the slot (or the largest there is), and not a step larger than needed.
    const max = Math.max(...t.candidates);
    assert.ok(w >= Math.min(t.slot * 0.95, max), `${label}: w=${w} is too small for a ${t.slot.toFixed(0)} px slot`);
    const smallestEnough = Math.min(...t.candidates.filter((c) => c >= t.slot * 0.95), max);
    assert.ok(w <= smallestEnough * 2, `${label}: w=${w} is far larger than the ${t.slot.toFixed(0)} px slot needs`);
  }
  return Math.max(...list.map((t) => widthOf(t.src)));
}

async function main() {
  await mkdir(ARTIFACTS, { recursive: true });
  const tmp = await mkdtemp(join(tmpdir(), "vitrine-browser-"));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--no-first-run"],
  });
  try {
    await run(browser, tmp);
  } finally {
    await browser.close();
    await rm(tmp, { recursive: true, force: true });
  }
}

async function run(browser, tmp) {
  // --- desktop, first visit ----------------------------------------------------------------------
  const desktop = await newContext(browser, DESKTOP);
  const page = await desktop.newPage();
  const errors = watchErrors(page);
  const net = await monitor(page);
  let desktopWidth = 0;
  let first = null;

  await check("the page loads through the edge and shows the demo catalog", async () => {
    const resp = await page.goto(`${EDGE}/`);
    assert.equal(resp.status(), 200);
    assert.match(resp.headers()["content-type"], /^text\/html/);
    assert.ok(resp.headers()["x-cache"], "the edge answered (x-cache header)");
    await settled(page);
    assert.match(await statusText(page), /^\d+ products?$/);
    const firstGrid = await page.evaluate(() => performance.getEntriesByName("vitrine:first-grid")[0]?.startTime);
    assert.ok(typeof firstGrid === "number", "the app marks its first grid");
    await page.waitForLoadState("networkidle");
    first = net.summary();
    figures.push(`desktop first visit: first result grid at ${firstGrid.toFixed(0)} ms, ${first.requests} requests, ${(first.bytes / 1024).toFixed(1)} KiB transferred`);
    const assets = net.all.filter((r) => new URL(r.url).pathname.startsWith("/assets/"));
    assert.ok(assets.length >= 2, "the CSS and JS come from /assets/");
    for (const a of assets) {
      assert.match(new URL(a.url).pathname, /^\/assets\/[a-z]+\.[0-9a-f]{12}\.[a-z]+$/, "hashed asset names");
      assert.equal(a.headers["cache-control"], "public, max-age=31536000, immutable", a.url);
    }
  });

  await check("product images go through /img with widths right for a desktop at DPR 1", async () => {
    // `data:` images are the decoded placeholders, made in the page, not fetched.
    const images = net.all.filter((r) => r.type === "Image" && r.done && !r.failed && !r.url.startsWith("data:"));
    assert.ok(images.length > 0, "no image requests");
    const foreign = images.filter((r) => !/^\/(img|assets)\//.test(new URL(r.url).pathname));
    assert.deepEqual(foreign.map((r) => r.url), [], "every image comes from /img (or the icon from /assets)");
    for (const r of images.filter((x) => new URL(x.url).pathname.startsWith("/img/"))) {
      assert.equal(r.status, 200, `${r.url} → ${r.status}`);
      assert.match(r.headers["content-type"] || "", /^image\/(webp|jpeg)$/, r.url);
    }
    const list = await chosenWidths(page, "#grid img.thumb");
    desktopWidth = checkWidths(list, "desktop");
    const lazy = await page.$$eval("#grid img.thumb", (imgs) => imgs.every((i) => i.loading === "lazy"));
    assert.ok(lazy, "grid thumbnails are loading=lazy");
    const cls = await page.evaluate(() => new Promise((ok) => {
      let sum = 0;
      new PerformanceObserver((l) => { for (const e of l.getEntries()) if (!e.hadRecentInput) sum += e.value; })
        .observe({ type: "layout-shift", buffered: true });
      setTimeout(() => ok(sum), 50);
    }));
    figures.push(`desktop: thumbnails w=${desktopWidth} chosen, cumulative layout shift ${cls.toFixed(3)}`);
    assert.ok(cls < 0.01, `layout shift ${cls}`);
  });

  await check("'More results' loads the next page of the search", async () => {
    const total = totalOf(await statusText(page));
    const firstPage = await cardCount(page);
    assert.ok(total > firstPage, `${total} products, ${firstPage} shown: the demo catalog should need two pages`);
    await page.locator("#more").click();
    await page.waitForFunction((n) => document.querySelectorAll("#grid li.card").length > n, firstPage);
    await page.waitForFunction(() => !document.querySelector("#grid[aria-busy]"));
    assert.equal(await cardCount(page), total);
    assert.ok(await page.locator("#more").isHidden(), "no more pages");
    const ids = await cards(page).evaluateAll((els) => els.map((e) => e.dataset.id));
    assert.equal(new Set(ids).size, ids.length, "no product twice");
  });

  await check("typing a query shows matching products (debounced, canonical GET URLs)", async () => {
    const before = await statusText(page);
    net.reset();
    await page.locator("#q").pressSequentially("Mug", { delay: 40 });
    const status = await nextStatus(page, before);
    assert.match(status, /for “Mug”/);
    const titles = await page.locator("#grid li.card h3").allTextContents();
    assert.ok(titles.length > 0, "no results for mug");
    for (const t of titles) assert.match(t, /mug/i);
    const marks = await page.locator("#grid li.card h3 mark").allTextContents();
    assert.ok(marks.length > 0 && marks.every((m) => /^mugs?$/i.test(m)), `highlighted: ${marks.join(", ")}`);
    const searches = net.all.filter((r) => new URL(r.url).pathname === "/api/search/text");
    assert.ok(searches.length >= 1 && searches.length <= 3, `${searches.length} searches for 3 keystrokes`);
    const last = new URL(searches[searches.length - 1].url);
    assert.equal(last.search, "?q=mug&limit=24", "the canonical URL: normalised query, fixed order");
    assert.equal(searches[searches.length - 1].method, "GET");
    figures.push(`typing "Mug": ${searches.length} search request(s), edge x-cache ${searches.map((s) => s.headers["x-cache"]).join(",")}`);
  });

  await check("facets are checkboxes with counts: two brands show their union, a category and price narrow", async () => {
    let before = await statusText(page);
    await page.locator("#q").fill("");
    const all = await nextStatus(page, before);
    const total = totalOf(all);
    assert.ok(total > 1, all);
    const countOf = async (facet, value) =>
      Number((await page.locator(`#facet-${facet} label:has(input[value="${value}"]) .count`).textContent()).replace(/[^0-9]/g, ""));
    const acmeCount = await countOf("brand", "Acme");
    const kumoCount = await countOf("brand", "Kumo");
    assert.ok(acmeCount > 0 && kumoCount > 0, `counts Acme ${acmeCount}, Kumo ${kumoCount}`);
    await page.locator('#facet-brand input[value="Acme"]').check();
    const narrowed = await nextStatus(page, all);
    assert.equal(totalOf(narrowed), acmeCount, narrowed);
    let metas = await page.locator("#grid li.card .meta").allTextContents();
    assert.ok(metas.length > 0 && metas.every((m) => m.startsWith("Acme ·")), metas.join(" | "));
    // The other brands keep their counts (the brand facet ignores its own filter), so a
    // second one can be ticked, from the keyboard: Tab to it, Space.
    assert.equal(await countOf("brand", "Kumo"), kumoCount);
    const kumo = page.locator('#facet-brand input[value="Kumo"]');
    await kumo.focus();
    await page.keyboard.press("Space");
    const union = await nextStatus(page, narrowed);
    assert.equal(totalOf(union), acmeCount + kumoCount, union);
    assert.ok(await kumo.isChecked(), "Kumo ticked by the keyboard");
    assert.ok(await page.evaluate(() => document.activeElement && document.activeElement.value === "Kumo"), "focus stays on the ticked box");
    metas = await page.locator("#grid li.card .meta").allTextContents();
    assert.ok(metas.some((m) => m.startsWith("Acme ·")) && metas.some((m) => m.startsWith("Kumo ·")), metas.join(" | "));
    assert.ok(metas.every((m) => /^(Acme|Kumo) ·/.test(m)), metas.join(" | "));
    const url = new URL(page.url());
    assert.deepEqual(url.searchParams.getAll("brand"), ["Acme", "Kumo"], "both brands in the address bar");
    // Untick both, then a category and a price ceiling, sorted by price.
    await page.locator('#facet-brand input[value="Acme"]').uncheck();
    before = await nextStatus(page, union);
    await kumo.uncheck();
    before = await nextStatus(page, before);
    await page.locator('#facet-category input[value="Laptops"]').check();
    const laptops = await nextStatus(page, before);
    const cats = await page.locator("#grid li.card .meta").allTextContents();
    assert.ok(cats.length > 0 && cats.every((m) => m.endsWith("· Laptops")), cats.join(" | "));
    await page.locator('#facet-category input[value="Laptops"]').uncheck();
    before = await nextStatus(page, laptops);
    await page.locator("#price-max").fill("50");
    before = await nextStatus(page, before);
    await page.locator("#sort").selectOption("price_desc");
    await page.waitForFunction(() => new URL(location.href).searchParams.get("sort") === "price_desc");
    await page.waitForFunction(() => !document.querySelector("#grid[aria-busy]"));
    const prices = await page.locator("#grid li.card .price").allTextContents();
    const values = prices.map((p) => Number(p.replace(/[^0-9.]/g, "")));
    assert.ok(values.length > 0 && values.every((v) => v <= 50), prices.join(", "));
    assert.ok(values.every((v, i) => i === 0 || values[i - 1] >= v), `sorted high to low: ${prices.join(", ")}`);
    const address = new URL(page.url());
    assert.equal(address.searchParams.get("max"), "50", "the filters are in the address bar");
    await page.locator("#sort").selectOption("");
    before = await statusText(page);
    await page.locator("#clear-filters").click();
    await nextStatus(page, before);
  });

  const products = (await (await fetch(`${EDGE}/api/products?limit=30`)).json()).products;
  /** The original photo of the `i`-th demo product, fetched through the edge. */
  async function demoPhoto(i) {
    const product = products[i];
    assert.ok(product && product.image_id, `demo product ${i} has an image`);
    const original = await fetch(`${EDGE}/api/images/${product.image_id}`);
    assert.equal(original.status, 200);
    const type = original.headers.get("content-type") || "image/jpeg";
    return { product, type, bytes: Buffer.from(await original.arrayBuffer()) };
  }

  await check("a demo product's photo, picked with the file input, finds that product first", async () => {
    const { product, type, bytes } = await demoPhoto(7);
    const file = join(tmp, `photo.${type.split("/")[1].replace("jpeg", "jpg")}`);
    await writeFile(file, bytes);
    const before = await statusText(page);
    net.reset();
    await page.locator("#photo-file").setInputFiles(file);
    const status = await nextStatus(page, before);
    assert.match(status, /look like your photo/);
    assert.equal(await cards(page).first().getAttribute("data-id"), String(product.id), "the photographed product is first");
    assert.match(await page.locator("#grid li.card").first().textContent(), /same photo/);
    assert.ok(await page.locator("#photo-panel").isVisible(), "the photo panel shows");
    const preview = await page.locator("#photo-preview").evaluate((i) => ({ src: i.src, w: i.naturalWidth }));
    assert.ok(preview.src.startsWith("blob:") && preview.w > 0, "the uploaded photo's preview is shown");
    const post = net.all.find((r) => new URL(r.url).pathname === "/api/search/image");
    assert.ok(post && post.method === "POST" && post.status === 200, "multipart POST /api/search/image");
    await page.locator("#photo-clear").click();
    await page.waitForFunction(() => document.getElementById("photo-panel").hidden
      && /^\d+ products?$/.test(document.getElementById("status").textContent));
  });

  await check("a photo dropped on the page finds its product first", async () => {
    const { product, type, bytes } = await demoPhoto(13);
    const before = await statusText(page);
    const overlay = await page.evaluate(({ b64, type }) => {
      const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([data], `dropped.${type.split("/")[1]}`, { type }));
      const fire = (name) => document.body.dispatchEvent(new DragEvent(name, { dataTransfer: dt, bubbles: true, cancelable: true }));
      fire("dragenter");
      fire("dragover");
      const shown = !document.getElementById("drop").hidden;
      fire("drop");
      return { shown, hiddenAfter: document.getElementById("drop").hidden };
    }, { b64: bytes.toString("base64"), type });
    assert.deepEqual(overlay, { shown: true, hiddenAfter: true }, "the drop overlay shows while dragging");
    assert.match(await nextStatus(page, before), /look like your photo/);
    assert.equal(await cards(page).first().getAttribute("data-id"), String(product.id));
    await page.locator("#photo-clear").click();
    await page.waitForFunction(() => document.getElementById("photo-panel").hidden
      && /^\d+ products?$/.test(document.getElementById("status").textContent));
  });

  await check("search by photo is reachable and visibly focused with the keyboard", async () => {
    await page.locator("#q").focus();
    await page.keyboard.press("Tab");
    const focus = await page.evaluate(() => {
      const a = document.activeElement;
      const label = document.querySelector(`label[for="${a.id}"]`);
      return { id: a.id, outline: label && getComputedStyle(label).outlineStyle };
    });
    assert.deepEqual(focus, { id: "photo-file", outline: "solid" });
  });

  await check("a product opens with the keyboard and shows similar products", async () => {
    await settled(page);
    const link = page.locator("#grid li.card a").first();
    const id = await link.getAttribute("data-id");
    const title = await link.locator("h3").textContent();
    await link.focus();
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.querySelectorAll("#similar li.card").length > 0);
    assert.equal(await page.locator("#product-title").textContent(), title);
    assert.equal(await page.evaluate(() => document.activeElement.id), "product-title", "focus moves to the product");
    assert.equal(new URL(page.url()).hash, `#/product/${id}`);
    assert.ok(await page.locator("#grid").isHidden(), "the result grid is hidden behind the product view");
    const similar = await page.locator("#similar li.card").evaluateAll((els) => els.map((e) => e.dataset.id));
    assert.ok(similar.length > 0 && !similar.includes(id), `similar ${similar} must not include ${id}`);
    await page.waitForFunction(() => {
      const i = document.querySelector("#product img.large");
      return i && i.complete && i.naturalWidth > 0;
    });
    const large = await chosenWidths(page, "#product img.large");
    // Large, or the largest the original offers (srcsets never advertise an upscaled width).
    assert.ok(large.length === 1 && widthOf(large[0].src) >= Math.min(480, Math.max(...large[0].candidates)),
      "the product image is a large /img");
    await page.screenshot({ path: join(ARTIFACTS, "storefront-product.png") });
    await page.keyboard.press("Escape");
    await page.waitForFunction(() => document.getElementById("product").hidden && !document.getElementById("grid").hidden);
  });

  await check("no console errors or CSP violations on the desktop page", async () => {
    assert.deepEqual(errors, []);
  });

  await page.screenshot({ path: join(ARTIFACTS, "storefront-desktop.png"), fullPage: false });

  await check("a repeat visit is served from caches (browser cache, 304, edge HIT)", async () => {
    net.reset();
    const resp = await page.goto(`${EDGE}/`);
    await settled(page);
    await page.waitForLoadState("networkidle");
    const repeat = net.summary();
    const html = net.all.find((r) => r.type === "Document");
    assert.ok(html, "the page request");
    // The page is revalidated every time: the browser sends its ETag, the edge answers 304
    // from its entry (after revalidating with the origin).
    assert.equal(html.wire, 304, `page: status ${html.status} (wire ${html.wire}), x-cache ${html.headers["x-cache"]}`);
    assert.ok(resp.ok());
    const statics = net.all.filter((r) => /^\/(assets|img)\//.test(new URL(r.url).pathname));
    assert.ok(statics.length > 0);
    const fromNetwork = statics.filter((r) => !r.cached && r.wire !== 304 && r.headers["x-cache"] !== "HIT");
    assert.deepEqual(fromNetwork.map((r) => `${r.url} ${r.status} ${r.headers["x-cache"]}`), [],
      "assets and thumbnails come from a cache");
    assert.ok(repeat.bytes < first.bytes / 2, `repeat ${repeat.bytes} B vs first ${first.bytes} B`);
    const fromBrowser = statics.filter((r) => r.cached).length;
    figures.push(`desktop repeat visit: ${repeat.requests} requests (${fromBrowser} from the browser cache), ${(repeat.bytes / 1024).toFixed(1)} KiB transferred, page ${html.wire} x-cache ${html.headers["x-cache"]}`);
  });

  await check("a new browser (cold cache) gets the page and assets from the edge cache", async () => {
    const ctx = await newContext(browser, DESKTOP);
    const p = await ctx.newPage();
    const n = await monitor(p);
    await p.goto(`${EDGE}/`);
    await settled(p);
    await p.waitForLoadState("networkidle");
    const assets = n.all.filter((r) => /^\/(assets)\//.test(new URL(r.url).pathname) || r.type === "Document");
    const misses = assets.filter((r) => r.headers["x-cache"] !== "HIT");
    assert.deepEqual(misses.map((r) => `${r.url} ${r.headers["x-cache"]}`), [], "page and assets are edge hits");
    const thumbs = n.all.filter((r) => new URL(r.url).pathname.startsWith("/img/"));
    const hits = thumbs.filter((r) => r.headers["x-cache"] === "HIT").length;
    const s = n.summary();
    figures.push(`desktop, new browser, warm edge: ${s.requests} requests, ${(s.bytes / 1024).toFixed(1)} KiB, edge hits: page+assets ${assets.length}/${assets.length}, thumbnails ${hits}/${thumbs.length}`);
    await ctx.close();
  });
  await check("placeholders paint while thumbnails are held back, then the images replace them", async () => {
    // A new browser (nothing cached) whose /img requests are held in the route handler until
    // released: what a shopper on a slow link sees first.
    const ctx = await newContext(browser, DESKTOP);
    const p = await ctx.newPage();
    const perr = watchErrors(p);
    let release;
    const gate = new Promise((ok) => { release = ok; });
    let held = 0;
    await p.route((url) => url.pathname.startsWith("/img/"), async (route) => {
      held++;
      await gate;
      await route.continue();
    });
    const firstThumb = p.waitForRequest((r) => new URL(r.url()).pathname.startsWith("/img/"));
    await p.goto(`${EDGE}/`);
    await firstThumb;
    await p.waitForFunction(() => document.querySelectorAll("#grid li.card img.thumb").length > 0);
    const shown = await p.$eval("#grid li.card", (li) => {
      const img = li.querySelector("img.thumb");
      const cs = getComputedStyle(img);
      return {
        id: li.dataset.id, loaded: img.complete && img.naturalWidth > 0,
        color: cs.backgroundColor, image: cs.backgroundImage, size: cs.backgroundSize,
      };
    });
    assert.ok(held > 0, "a thumbnail request is being held");
    assert.equal(shown.loaded, false, "the thumbnail has not arrived");
    const product = await (await fetch(`${EDGE}/api/products/${shown.id}`)).json();
    const placeholder = product.images && product.images.placeholder;
    assert.ok(placeholder && /^#[0-9a-f]{6}$/.test(placeholder.color), `product ${shown.id} has a placeholder: ${JSON.stringify(product.images)}`);
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(placeholder.color.slice(i, i + 2), 16));
    assert.equal(shown.color, `rgb(${r}, ${g}, ${b})`, "the box is painted in the product's colour");
    assert.match(shown.image, /^url\("data:image\/png;base64,/, "the decoded ThumbHash is drawn behind the image");
    assert.equal(shown.size, "cover");
    // The ThumbHash picture itself: 32 px on its longer side, and not blank.
    const thumbhash = await p.evaluate(async (css) => {
      const url = /^url\("(.*)"\)$/.exec(css)[1];
      const img = new Image();
      img.src = url;
      await img.decode();
      const c = document.createElement("canvas");
      c.width = img.naturalWidth; c.height = img.naturalHeight;
      const ctx2 = c.getContext("2d");
      ctx2.drawImage(img, 0, 0);
      const mid = ctx2.getImageData(c.width >> 1, c.height >> 1, 1, 1).data;
      return { w: img.naturalWidth, h: img.naturalHeight, alpha: mid[3] };
    }, shown.image);
    assert.equal(Math.max(thumbhash.w, thumbhash.h), 32, JSON.stringify(thumbhash));
    assert.ok(thumbhash.alpha > 0, "the ThumbHash picture is not blank");
    await p.screenshot({ path: join(ARTIFACTS, "storefront-placeholders.png") });
    release();
    await p.waitForFunction((id) => {
      const img = document.querySelector(`#grid li.card[data-id="${id}"] img.thumb`);
      return img && img.complete && img.naturalWidth > 0 && getComputedStyle(img).backgroundImage === "none";
    }, shown.id);
    await settled(p);
    const cls = await p.evaluate(() => new Promise((ok) => {
      let sum = 0;
      new PerformanceObserver((l) => { for (const e of l.getEntries()) if (!e.hadRecentInput) sum += e.value; })
        .observe({ type: "layout-shift", buffered: true });
      setTimeout(() => ok(sum), 50);
    }));
    figures.push(`placeholders: ${held} thumbnail requests held, box painted ${placeholder.color} + ${thumbhash.w}×${thumbhash.h} ThumbHash; layout shift after release ${cls.toFixed(3)}`);
    assert.ok(cls < 0.01, `layout shift ${cls}`);
    assert.deepEqual(perr, [], "no console errors or CSP violations");
    await ctx.close();
  });
  await desktop.close();

  // --- phone -------------------------------------------------------------------------------------
  const phone = await newContext(browser, PHONE);
  const ppage = await phone.newPage();
  const perrors = watchErrors(ppage);
  const pnet = await monitor(ppage);
  await check("on a phone (390×844, DPR 3) the grid is readable and thumbnails are larger (up to the original)", async () => {
    await ppage.goto(`${EDGE}/`);
    await settled(ppage);
    const firstGrid = await ppage.evaluate(() => performance.getEntriesByName("vitrine:first-grid")[0]?.startTime);
    await ppage.waitForLoadState("networkidle");
    const s = pnet.summary();
    figures.push(`phone first visit: first result grid at ${firstGrid.toFixed(0)} ms, ${s.requests} requests, ${(s.bytes / 1024).toFixed(1)} KiB transferred`);
    const overflow = await ppage.evaluate(() => document.documentElement.scrollWidth - innerWidth);
    assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow} px`);
    const fontSize = await ppage.$eval("#grid li.card h3", (e) => parseFloat(getComputedStyle(e).fontSize));
    assert.ok(fontSize >= 14, `card titles are ${fontSize} px`);
    const list = await chosenWidths(ppage, "#grid img.thumb");
    const phoneWidth = checkWidths(list, "phone");
    figures.push(`phone: thumbnails w=${phoneWidth} chosen (desktop DPR 1: w=${desktopWidth})`);
    // Larger than on the desktop, unless the desktop already got the largest the original offers.
    const largest = Math.max(...list[0].candidates);
    assert.ok(phoneWidth > desktopWidth || phoneWidth === largest,
      `phone DPR 3 chose w=${phoneWidth}, desktop DPR 1 w=${desktopWidth}, largest offered ${largest}`);
    const cameras = await ppage.$eval("#photo-camera", (i) => ({ accept: i.accept, capture: i.getAttribute("capture") }));
    assert.deepEqual(cameras, { accept: "image/*", capture: "environment" });
    assert.ok(await ppage.locator("#camera-label").isVisible(), "the camera button shows on a touch screen");
    assert.deepEqual(perrors, []);
  });
  await ppage.screenshot({ path: join(ARTIFACTS, "storefront-phone.png"), fullPage: false });
  await phone.close();

  console.log(`screenshots: ${["desktop", "product", "placeholders", "phone"].map((n) => join(ARTIFACTS, `storefront-${n}.png`)).join(" ")}`);
}

try {
  await main();
} catch (e) {
  failed++;
  console.log(`not ok - the browser run itself\n    ${String(e && e.stack || e)}`);
}
console.log("page performance figures:");
for (const f of figures) console.log(`  ${f}`);
console.log(`browser e2e: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
