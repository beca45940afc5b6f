// Edge benchmark through `wrangler dev` (started by scripts/bench/edge.sh): the proxy floor
// (`/__edge/health`), cache HIT latency p50/p95 and throughput, and the edge thumbnail (640×480 JPEG → 300 px WebP) p50/p95.
// Prints `key=value` figures; the shell script adds the native comparison and the size.
//   EDGE  the Worker;  STUB  its stub origin;  HIT_N, THUMB_N, RPS_SECONDS, RPS_CONCURRENCY
import { raw, imgUrl, percentile } from "./lib.mjs";

const { EDGE, STUB } = process.env;
const HIT_N = Number(process.env.HIT_N || 1000);
const THUMB_N = Math.min(100, Number(process.env.THUMB_N || 100));
const RPS_SECONDS = Number(process.env.RPS_SECONDS || 5);
const CONC = Number(process.env.RPS_CONCURRENCY || 16);

const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: percentile(s, 0.5).toFixed(2), p95: percentile(s, 0.95).toFixed(2) };
};

// The floor: the Worker's own health endpoint (wrangler's proxy and the isolate, no Durable
// Object, no cache), sequential, keep-alive.
for (let i = 0; i < 20; i++) await raw(`${EDGE}/__edge/health`);
const floor = [];
for (let i = 0; i < HIT_N; i++) {
  const t0 = process.hrtime.bigint();
  const r = await raw(`${EDGE}/__edge/health`);
  floor.push(ms(t0));
  if (r.status !== 200) throw new Error(`edge health: ${r.status}`);
}
const f = stats(floor);
console.log(`floor_p50_ms=${f.p50} floor_p95_ms=${f.p95}`);

// Cache HIT latency, sequential, keep-alive.
const hitUrl = `${EDGE}/cached`;
const warm = await raw(hitUrl);
if (warm.status !== 200) throw new Error(`warm-up failed: ${warm.status}`);
for (let i = 0; i < 20; i++) await raw(hitUrl);
const hits = [];
for (let i = 0; i < HIT_N; i++) {
  const t0 = process.hrtime.bigint();
  const r = await raw(hitUrl);
  hits.push(ms(t0));
  if (r.headers["x-cache"] !== "HIT") throw new Error(`expected HIT, got ${r.headers["x-cache"]}`);
}
const h = stats(hits);
console.log(`hit_p50_ms=${h.p50} hit_p95_ms=${h.p95} hit_n=${HIT_N}`);

// Throughput of HITs with CONC concurrent keep-alive clients for RPS_SECONDS.
let done = 0;
let errors = 0;
const until = Date.now() + RPS_SECONDS * 1000;
const t0 = Date.now();
await Promise.all(
  Array.from({ length: CONC }, async () => {
    while (Date.now() < until) {
      const r = await raw(hitUrl).catch(() => null);
      if (r && r.status === 200) done++;
      else errors++;
    }
  }),
);
const secs = (Date.now() - t0) / 1000;
console.log(`hit_rps=${(done / secs).toFixed(0)} concurrency=${CONC} seconds=${secs.toFixed(1)} errors=${errors}`);

// Edge thumbnails: each request a new cache key (q:1..100; lossless WebP ignores q, so the
// work is identical), the original already in the edge cache.
const ids = JSON.parse((await raw(`${STUB}/__stub/ids`)).body.toString());
const small = ids["small.jpg"];
const first = await raw(`${EDGE}${imgUrl(null, "w:300/f:webp/q:100", small)}`);
if (first.status !== 200 || first.headers["x-edge-thumbnail"] !== "edge")
  throw new Error(`thumbnail warm-up failed: ${first.status} ${first.body.toString().slice(0, 200)}`);
const thumbs = [];
let bytes = 0;
for (let q = 1; q <= THUMB_N - 1; q++) {
  const t0 = process.hrtime.bigint();
  const r = await raw(`${EDGE}${imgUrl(null, `w:300/f:webp/q:${q}`, small)}`);
  thumbs.push(ms(t0));
  if (r.headers["x-cache"] !== "MISS" || r.headers["x-edge-thumbnail"] !== "edge")
    throw new Error(`expected an edge-made MISS, got ${r.headers["x-cache"]} ${r.headers["x-edge-thumbnail"]}`);
  bytes = r.body.length;
}
const t = stats(thumbs);
console.log(`thumb_p50_ms=${t.p50} thumb_p95_ms=${t.p95} thumb_n=${thumbs.length} thumb_bytes=${bytes}`);
process.exit(0);
