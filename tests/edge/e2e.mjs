// End-to-end tests through `wrangler dev`: one Worker in front of the stub origin (controlled
// headers, delays, outages) and one in front of the real origin. scripts/ci/edge-test.sh starts
// everything and passes the addresses in:
//   EDGE_STUB, EDGE_REAL  the two Workers;  STUB  the stub origin;  ORIGIN  the real origin
//   PURGE_TOKEN, SIGNING_KEY, ORIGIN_SECRET  the secrets both Workers were given
// Prints one line per test and closes with `edge e2e: N passed, M failed`; exits 1 on failure.
import assert from "node:assert/strict";
import zlib from "node:zlib";
import { raw, imgUrl, webpSize, sleep } from "./lib.mjs";

const { EDGE_STUB, EDGE_REAL, STUB, ORIGIN, PURGE_TOKEN, SIGNING_KEY, ORIGIN_SECRET } = process.env;
for (const [k, v] of Object.entries({ EDGE_STUB, EDGE_REAL, STUB, ORIGIN, PURGE_TOKEN, SIGNING_KEY, ORIGIN_SECRET }))
  if (!v) {
    console.error(`missing ${k}: run scripts/ci/edge-test.sh, which starts the origins and Workers`);
    process.exit(2);
  }

const tests = [];
const test = (name, fn) => tests.push({ name, fn });
// Like a browser: undo the content coding the edge (or the front line) applied.
const decoded = (r) => {
  const enc = r.headers["content-encoding"];
  if (enc === "br") return zlib.brotliDecompressSync(r.body);
  if (enc === "gzip") return zlib.gunzipSync(r.body);
  return r.body;
};
const json = (r) => JSON.parse(decoded(r).toString());
const stubCount = async (path) => (json(await raw(`${STUB}/__stub/counters`))[path] || 0);
const xcache = (r) => r.headers["x-cache"];

/** A rendered thumbnail is stored in the background (`ctx.waitUntil`) after its MISS is
 * answered, so on a slow machine the next request may read the cache before the store
 * lands: ask again, briefly, until it is a HIT. */
async function untilHit(url, init, tries = 40) {
  let r;
  for (let i = 0; i < tries; i++) {
    r = await raw(url, init);
    if (xcache(r) === "HIT") return r;
    await sleep(50);
  }
  return r;
}

let ids; // fixture image ids on the stub
let realImage; // an image id of the real origin's demo catalog

test("cache MISS then HIT (one origin request), x-cache and Server-Timing on every response", async () => {
  const a = await raw(`${EDGE_STUB}/cached?b=2&a=1`);
  assert.equal(a.status, 200);
  assert.equal(xcache(a), "MISS");
  assert.match(a.headers["server-timing"], /edge;dur=.*cache;desc=MISS.*origin;dur=/);
  const b = await raw(`${EDGE_STUB}/cached?a=1&b=2`); // same canonical URL
  assert.equal(xcache(b), "HIT");
  assert.match(b.headers["server-timing"], /cache;desc=HIT/);
  assert.deepEqual(json(b), json(a));
  assert.equal(await stubCount("/cached"), 1);
});

test("304 at the edge for a matching If-None-Match", async () => {
  const a = await raw(`${EDGE_STUB}/etag`);
  assert.equal(a.headers.etag, '"v1"');
  const b = await raw(`${EDGE_STUB}/etag`, { headers: { "if-none-match": '"v1"' } });
  assert.equal(b.status, 304);
  assert.equal(xcache(b), "HIT");
  assert.equal(b.body.length, 0);
  assert.equal(await stubCount("/etag"), 1, "answered by the edge, not the origin");
  const c = await raw(`${EDGE_STUB}/etag`, { headers: { "if-none-match": '"other"' } });
  assert.equal(c.status, 200);
});

test("stale-while-revalidate: STALE served at once, refreshed in the background", async () => {
  const a = await raw(`${EDGE_STUB}/swr`);
  assert.equal(xcache(a), "MISS");
  assert.equal(json(a).version, 1);
  assert.equal(xcache(await raw(`${EDGE_STUB}/swr`)), "HIT");
  await sleep(3100); // past s-maxage=2 (whole seconds), well inside stale-while-revalidate=30
  const b = await raw(`${EDGE_STUB}/swr`);
  assert.equal(xcache(b), "STALE");
  assert.equal(json(b).version, 1, "the stale body, without waiting");
  assert.equal(b.headers.warning, '110 - "Response is Stale"', "SWR stale is marked as stale");
  let c;
  for (let i = 0; i < 20; i++) {
    await sleep(150);
    c = await raw(`${EDGE_STUB}/swr`);
    if (json(c).version === 2) break;
  }
  assert.equal(json(c).version, 2, "refreshed by ctx.waitUntil");
  assert.equal(xcache(c), "HIT");
});

test("br/gzip negotiation: one normalised variant, origin bytes passed through undecoded", async () => {
  // Under wrangler dev (as on Cloudflare) the Worker sees `Accept-Encoding: br, gzip` whatever
  // the client sent, and the front line transcodes for clients that want something else. So
  // the Worker asks the origin for exactly one normalised coding (br), caches that one variant,
  // and every client gets a body in the coding it accepts from that single entry.
  const origin = await raw(`${STUB}/compress`, { headers: { "accept-encoding": "br" } });
  const br = await raw(`${EDGE_STUB}/compress`, { headers: { "accept-encoding": "gzip;q=0.5, br" } });
  assert.equal(br.headers["content-encoding"], "br");
  assert.equal(xcache(br), "MISS");
  assert.match(br.headers.vary, /accept-encoding/i);
  assert.ok(br.body.equals(origin.body), "the origin's br bytes, not decoded and re-encoded");
  const text = zlib.brotliDecompressSync(br.body).toString();
  assert.equal(JSON.parse(text).products.length, 60);
  const gz = await raw(`${EDGE_STUB}/compress`, { headers: { "accept-encoding": "gzip" } });
  assert.equal(gz.headers["content-encoding"], "gzip");
  assert.equal(xcache(gz), "HIT", "served from the same normalised entry");
  assert.equal(zlib.gunzipSync(gz.body).toString(), text);
  const id = await raw(`${EDGE_STUB}/compress`, { headers: { "accept-encoding": "identity" } });
  assert.equal(id.headers["content-encoding"], undefined);
  assert.equal(id.body.toString(), text);
  const asked = json(await raw(`${STUB}/__stub/seen`))
    .filter((s) => s.path === "/compress" && s.headers["x-request-id"])
    .map((s) => s.headers["accept-encoding"]);
  assert.deepEqual(asked, ["br"], "the origin was asked once, for one normalised token");
});

test("not stored: private and Set-Cookie responses", async () => {
  for (const p of ["/private", "/cookie"]) {
    assert.equal(xcache(await raw(`${EDGE_STUB}${p}`)), "MISS");
    assert.equal(xcache(await raw(`${EDGE_STUB}${p}`)), "MISS");
    assert.equal(await stubCount(p), 2);
  }
});

test("purge by tag: authenticated, then the next request is a MISS", async () => {
  await raw(`${EDGE_STUB}/tagged`);
  assert.equal(xcache(await raw(`${EDGE_STUB}/tagged`)), "HIT");
  await sleep(300); // the tag index is written in the background
  const body = JSON.stringify({ tags: ["product:7"] });
  const denied = await raw(`${EDGE_STUB}/__edge/purge`, { method: "POST", body, headers: { authorization: "Bearer wrong-token-000000000" } });
  assert.equal(denied.status, 401);
  assert.equal(denied.headers["content-type"], "application/problem+json");
  const ok = await raw(`${EDGE_STUB}/__edge/purge`, { method: "POST", body, headers: { authorization: `Bearer ${PURGE_TOKEN}` } });
  assert.equal(ok.status, 200, ok.body.toString());
  assert.ok(json(ok).purged >= 1, ok.body.toString());
  assert.equal(xcache(await raw(`${EDGE_STUB}/tagged`)), "MISS");
});

test("forwarding: x-request-id, x-forwarded-for, shared secret, normalised Accept-Encoding, bodies", async () => {
  const r = await raw(`${EDGE_STUB}/echo`, {
    headers: { "x-request-id": "e2e-req-1", "accept-encoding": "gzip, br", "x-edge-secret": "spoofed" },
  });
  const seen = json(r).headers;
  assert.equal(r.headers["x-request-id"], "e2e-req-1");
  assert.equal(seen["x-request-id"], "e2e-req-1");
  assert.ok(seen["x-forwarded-for"], "x-forwarded-for is set");
  assert.equal(seen["x-edge-secret"], ORIGIN_SECRET, "the client's spoof is replaced");
  assert.equal(seen["accept-encoding"], "br");
  const post = await raw(`${EDGE_STUB}/echo`, { method: "POST", body: '{"x":1}', headers: { "content-type": "application/json" } });
  assert.equal(json(post).method, "POST");
  assert.equal(json(post).body, '{"x":1}');
  const generated = await raw(`${EDGE_STUB}/echo`, { headers: { "x-request-id": "bad id with spaces" } });
  assert.notEqual(generated.headers["x-request-id"], "bad id with spaces");
});

test("origin timeout → 504 problem+json at ORIGIN_TIMEOUT_MS (1 s), not when the origin answers (3 s)", async () => {
  const started = Date.now();
  const r = await raw(`${EDGE_STUB}/slow`);
  const took = Date.now() - started;
  assert.equal(r.status, 504);
  assert.equal(r.headers["content-type"], "application/problem+json");
  assert.equal(json(r).code, "origin_timeout");
  assert.equal(json(r).status, 504);
  assert.ok(r.headers["x-request-id"], "the problem carries the request id");
  // The stub answers after 3 s; the edge gives up after its 1 s limit. Generous bound for a
  // loaded machine, but strictly below the stub's delay: the edge did not wait it out.
  assert.ok(took >= 900 && took < 2900, `answered after ${took} ms`);
});

test("edge thumbnail: 640×480 JPEG → 300 px WebP made in wasm, cached", async () => {
  ids = json(await raw(`${STUB}/__stub/ids`));
  const url = `${EDGE_STUB}${imgUrl(SIGNING_KEY, "w:300/f:webp", ids["small.jpg"])}`;
  const a = await raw(url);
  assert.equal(a.status, 200, a.body.toString());
  assert.equal(a.headers["content-type"], "image/webp");
  assert.equal(a.headers["x-edge-thumbnail"], "edge");
  assert.deepEqual(webpSize(a.body), { width: 300, height: 225 });
  const b = await raw(url);
  assert.equal(xcache(b), "HIT");
  assert.ok(b.body.equals(a.body));
  const auto = await raw(`${EDGE_STUB}${imgUrl(SIGNING_KEY, "w:120/f:auto", ids["small.jpg"])}`, { headers: { accept: "image/avif,image/webp,*/*" } });
  assert.equal(auto.headers["content-type"], "image/webp", "f:auto → WebP (no AVIF encoder at the edge)");
  assert.match(auto.headers.vary, /accept/i);
  const jpeg = await raw(`${EDGE_STUB}${imgUrl(SIGNING_KEY, "w:120/f:auto", ids["small.jpg"])}`, { headers: { accept: "*/*" } });
  assert.equal(jpeg.headers["content-type"], "image/jpeg");
});

test("large original (3000×2000) forwarded to the origin's /img route", async () => {
  const r = await raw(`${EDGE_STUB}${imgUrl(SIGNING_KEY, "w:300/f:webp", ids["large.jpg"])}`);
  assert.equal(r.status, 200);
  assert.equal(r.headers["x-edge-thumbnail"], "origin");
  assert.equal(r.headers["x-stub-img"], "rendered-by-origin");
  const big = await raw(`${EDGE_STUB}${imgUrl(SIGNING_KEY, "w:800/f:webp", ids["small.jpg"])}`);
  assert.equal(big.headers["x-edge-thumbnail"], "origin", "outputs over 512 px too");
});

test("bad signature → 403 problem, before any fetch", async () => {
  const before = json(await raw(`${STUB}/__stub/seen`)).length;
  const good = imgUrl(SIGNING_KEY, "w:100/f:webp", ids["small.jpg"]);
  for (const bad of [good.replace("w:100", "w:101"), good.replace(/^\/img\/[^/]+/, "/img/_"), good.replace(/^\/img\/[^/]+/, "/img/AAAA")]) {
    const r = await raw(`${EDGE_STUB}${bad}`);
    assert.equal(r.status, 403, bad);
    assert.equal(r.headers["content-type"], "application/problem+json");
  }
  assert.equal(json(await raw(`${STUB}/__stub/seen`)).length, before, "the origin saw nothing");
});

test("origin answering 5xx → stale served within stale-if-error with Warning 111", async () => {
  const a = await raw(`${EDGE_STUB}/flaky`);
  assert.equal(a.status, 200);
  assert.equal(xcache(a), "MISS");
  await sleep(2100); // past s-maxage=1; the stub now answers 503
  const b = await raw(`${EDGE_STUB}/flaky`);
  assert.equal(b.status, 200, "the stale copy, not the origin's 503");
  assert.equal(xcache(b), "STALE");
  assert.equal(b.headers.warning, '111 - "Revalidation Failed"');
  assert.deepEqual(json(b), json(a));
  assert.ok((await stubCount("/flaky")) >= 2, "the origin was asked again");
  // Without a cached copy the origin's own 503 problem passes through (Retry-After kept).
  const c = await raw(`${EDGE_STUB}/error`);
  assert.equal(c.status, 503);
});

test("origin down → stale served within stale-if-error; uncached paths get 502", async () => {
  const a = await raw(`${EDGE_STUB}/sie`);
  assert.equal(xcache(a), "MISS");
  await sleep(300);
  await raw(`${STUB}/__stub/shutdown`).catch(() => {});
  await sleep(2100); // past s-maxage=1
  const b = await raw(`${EDGE_STUB}/sie`);
  assert.equal(b.status, 200);
  assert.equal(xcache(b), "STALE");
  assert.equal(b.headers.warning, '111 - "Revalidation Failed"', "stale-if-error is flagged");
  assert.deepEqual(json(b), json(a));
  const started = Date.now();
  const c = await raw(`${EDGE_STUB}/never-cached`);
  assert.equal(c.status, 502);
  assert.equal(c.headers["content-type"], "application/problem+json");
  assert.equal(json(c).code, "origin_unreachable");
  assert.equal(json(c).status, 502);
  assert.equal(c.headers.warning, undefined, "an error is not a stale answer");
  // A refused connection fails fast: well under the 1 s origin timeout (no hang).
  assert.ok(Date.now() - started < 1000, `answered after ${Date.now() - started} ms`);
});

test("real origin: original image MISS then HIT, and 304 from the edge", async () => {
  const list = json(await raw(`${ORIGIN}/api/products?limit=1`));
  realImage = list.products[0].image_id;
  const url = `${EDGE_REAL}/api/images/${realImage}`;
  const a = await raw(url);
  assert.equal(a.status, 200);
  assert.equal(a.headers["content-type"], "image/jpeg");
  assert.equal(xcache(a), "MISS");
  const b = await raw(url);
  assert.equal(xcache(b), "HIT");
  assert.ok(a.body.equals(b.body));
  const c = await raw(url, { headers: { "if-none-match": a.headers.etag } });
  assert.equal(c.status, 304);
});

test("real origin: /admin keeps its security headers through the edge, assets immutable, authenticated reads never stored", async () => {
  const a = await raw(`${EDGE_REAL}/admin`);
  assert.equal(a.status, 200);
  for (const r of [a, await raw(`${EDGE_REAL}/admin`)]) {
    // The first from the origin, the second from the edge's entry (revalidated): both carry the policy.
    assert.match(r.headers["content-security-policy"] || "", /default-src 'none'.*frame-ancestors 'none'/);
    assert.equal(r.headers["x-frame-options"], "DENY");
    assert.equal(r.headers["referrer-policy"], "no-referrer");
    assert.equal(r.headers["cache-control"], "public, max-age=0, stale-if-error=86400");
  }
  const c = await raw(`${EDGE_REAL}/admin`, { headers: { "if-none-match": a.headers.etag } });
  assert.equal(c.status, 304);
  const assets = [...decoded(a).toString().matchAll(/\/admin\/assets\/[a-z]+\.[0-9a-f]{12}\.(?:js|css)/g)].map((m) => m[0]);
  assert.equal(assets.length, 3, String(assets));
  for (const p of assets) {
    const r = await raw(`${EDGE_REAL}${p}`);
    assert.equal(r.status, 200, p);
    assert.equal(r.headers["cache-control"], "public, max-age=31536000, immutable", p);
    assert.equal(xcache(await untilHit(`${EDGE_REAL}${p}`)), "HIT", p);
  }
  // The console's reads carry the key: the edge passes them on and keeps none of them.
  const auth = { headers: { authorization: `Bearer ${process.env.API_KEY || "edge-test-api-key"}` } };
  for (const path of ["/api/auth/check", "/api/performance", "/api/health/detailed"]) {
    for (let i = 0; i < 2; i++) {
      const r = await raw(`${EDGE_REAL}${path}`, auth);
      assert.equal(r.status, 200, `${path}: ${decoded(r)}`);
      assert.equal(xcache(r), "MISS", path);
    }
  }
  assert.equal((await raw(`${EDGE_REAL}/api/auth/check`)).status, 401, "no key, no cached 200");
});

test("real origin: an image's JSON metadata passes through, the cached original stays", async () => {
  const url = `${EDGE_REAL}/api/images/${realImage}`;
  // The placeholder computed at ingest reaches the edge unchanged, in the metadata and in the
  // products' `images`.
  const direct = json(await raw(`${ORIGIN}/api/images/${realImage}`, { headers: { accept: "application/json" } }));
  assert.match(direct.placeholder.color, /^#[0-9a-f]{6}$/);
  assert.ok(Buffer.from(direct.placeholder.thumbhash, "base64").length >= 5);
  const viaEdge = json(await raw(`${EDGE_REAL}/api/products?limit=1`));
  assert.equal(viaEdge.products[0].image_id, realImage);
  assert.deepEqual(viaEdge.products[0].images.placeholder, direct.placeholder);
  for (let i = 0; i < 2; i++) {
    const m = await raw(url, { headers: { accept: "application/json" } });
    assert.equal(m.status, 200, m.body.toString());
    assert.match(m.headers["content-type"], /^application\/json/);
    assert.equal(m.headers["cache-control"], "private, max-age=60");
    assert.equal(xcache(m), "MISS");
    assert.match(m.headers.vary, /accept/i);
    const meta = json(m);
    assert.equal(meta.id, realImage);
    assert.deepEqual(meta.placeholder, direct.placeholder);
    assert.ok(Array.isArray(meta.labels));
  }
  const b = await raw(url);
  assert.equal(b.headers["content-type"], "image/jpeg");
  assert.equal(xcache(b), "HIT");
});

test("real origin: edge thumbnail from the original (f:auto, Vary: Accept)", async () => {
  const url = `${EDGE_REAL}${imgUrl(SIGNING_KEY, "w:100/h:100/fit:cover/f:auto", realImage)}`;
  const a = await raw(url, { headers: { accept: "image/webp,*/*" } });
  assert.equal(a.status, 200, a.body.toString());
  assert.equal(a.headers["x-edge-thumbnail"], "edge");
  assert.deepEqual(webpSize(a.body), { width: 100, height: 100 });
  assert.match(a.headers.vary, /accept/i);
  const b = await untilHit(url, { headers: { accept: "image/webp,*/*" } });
  assert.equal(xcache(b), "HIT");
  assert.deepEqual(webpSize(b.body), { width: 100, height: 100 });
});

test("real origin: 429 with Retry-After and RateLimit headers after the burst", async () => {
  const statuses = [];
  let last;
  for (let i = 0; i < 6; i++) {
    last = await raw(`${EDGE_REAL}/api/search/text?q=red`);
    statuses.push(last.status);
  }
  assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429]);
  assert.ok(Number(last.headers["retry-after"]) >= 1);
  assert.equal(last.headers["ratelimit-policy"], '"search";q=5;w=60');
  assert.match(last.headers["ratelimit"], /^"search";r=0;t=\d+$/);
  assert.equal(json(last).code, "rate_limited");
  // Another class is not affected.
  assert.equal((await raw(`${EDGE_REAL}/api/images/${realImage}`)).status, 200);
});

const deadline = Date.now() + Number(process.env.E2E_BUDGET_MS || 180000);
let passed = 0;
let failed = 0;
for (const t of tests) {
  if (Date.now() > deadline) {
    console.log(`not ok - ${t.name}: skipped, over the time budget`);
    failed++;
    continue;
  }
  const started = Date.now();
  try {
    await Promise.race([t.fn(), sleep(30000).then(() => { throw new Error("test timed out after 30 s"); })]);
    passed++;
    console.log(`ok - ${t.name} (${Date.now() - started} ms)`);
  } catch (e) {
    failed++;
    console.log(`not ok - ${t.name}: ${e.message}`);
  }
}
console.log(`edge e2e: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
