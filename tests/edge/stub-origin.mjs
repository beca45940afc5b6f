// A tiny controllable origin for the edge tests and benchmark (Node, no dependencies).
//
// Why a stub beside the real origin: the edge's cache rules depend on exact Cache-Control,
// ETag and timing, which the real origin does not (yet) let a test choose. Each route here
// returns controlled headers; /__stub/* reports what the edge sent and lets a test take the
// origin down. Images come from FIXTURES_DIR (small.jpg 640×480, large.jpg 3000×2000) under
// their SHA-256 as the 64-hex image id, like the real origin's /api/images/{id}.
//
// Usage: FIXTURES_DIR=dir node stub-origin.mjs <port>
import http from "node:http";
import zlib from "node:zlib";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

const port = Number(process.argv[2] || 0);
const fixtures = process.env.FIXTURES_DIR || ".";
const images = {};
for (const name of ["small.jpg", "large.jpg"]) {
  const file = path.join(fixtures, name);
  if (fs.existsSync(file)) {
    const bytes = fs.readFileSync(file);
    const id = crypto.createHash("sha256").update(bytes).digest("hex");
    images[id] = { name, bytes };
  }
}

const counters = {};
const seen = []; // {path, headers} of every request
const bump = (k) => (counters[k] = (counters[k] || 0) + 1);

// ~6 KB of JSON: worth compressing.
const bigJson = JSON.stringify({
  products: Array.from({ length: 60 }, (_, i) => ({
    id: i + 1,
    title: `Product number ${i + 1} with a reasonably long title`,
    price: 1000 + i,
  })),
});

function send(res, status, headers, body) {
  res.writeHead(status, headers);
  res.end(body);
}

function encode(body, acceptEncoding) {
  const token = (acceptEncoding || "identity").trim();
  if (token === "br") return ["br", zlib.brotliCompressSync(body)];
  if (token === "gzip") return ["gzip", zlib.gzipSync(body)];
  return [null, Buffer.from(body)];
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, "http://stub");
  const p = url.pathname;
  if (!p.startsWith("/__stub/")) seen.push({ method: req.method, path: p, headers: req.headers });
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const reqBody = Buffer.concat(chunks).toString();
    const n = bump(p);
    const json = (status, obj, extra = {}) =>
      send(res, status, { "content-type": "application/json", ...extra }, JSON.stringify(obj));

    if (p === "/__stub/seen") return json(200, seen, { "cache-control": "no-store" });
    if (p === "/__stub/counters") return json(200, counters, { "cache-control": "no-store" });
    if (p === "/__stub/ids")
      return json(200, Object.fromEntries(Object.entries(images).map(([id, v]) => [v.name, id])));
    if (p === "/__stub/shutdown") {
      json(200, { bye: true });
      // Go down for real: stop listening and drop every connection, then exit.
      server.close();
      server.closeAllConnections?.();
      setTimeout(() => process.exit(0), 50);
      return;
    }
    if (p === "/cached")
      return json(200, { n, path: p }, { "cache-control": "public, max-age=60, s-maxage=600" });
    if (p === "/etag") {
      const headers = { "cache-control": "public, s-maxage=600", etag: '"v1"' };
      if (req.headers["if-none-match"] === '"v1"') return send(res, 304, headers);
      return json(200, { etag: "v1" }, headers);
    }
    if (p === "/swr")
      return json(200, { version: n }, {
        "cache-control": "public, max-age=0, s-maxage=2, stale-while-revalidate=30",
      });
    if (p === "/sie")
      return json(200, { version: n }, {
        "cache-control": "public, max-age=0, s-maxage=1, stale-if-error=300",
      });
    if (p === "/private")
      return json(200, { n }, { "cache-control": "private, max-age=60" });
    if (p === "/cookie")
      return json(200, { n }, { "cache-control": "public, s-maxage=60", "set-cookie": "a=b" });
    if (p === "/tagged")
      return json(200, { n }, { "cache-control": "public, s-maxage=600", "cache-tag": "product:7" });
    if (p === "/compress") {
      const [enc, body] = encode(bigJson, req.headers["accept-encoding"]);
      const headers = {
        "content-type": "application/json",
        "cache-control": "public, s-maxage=600",
        vary: "Accept-Encoding",
      };
      if (enc) headers["content-encoding"] = enc;
      return send(res, 200, headers, body);
    }
    if (p === "/plain-large")
      return json(200, JSON.parse(bigJson), { "cache-control": "public, s-maxage=600" });
    if (p === "/slow") {
      setTimeout(() => json(200, { slow: true }, { "cache-control": "no-store" }), 3000);
      return;
    }
    if (p === "/echo")
      return json(200, { method: req.method, headers: req.headers, body: reqBody }, {
        "cache-control": "no-store",
      });
    if (p === "/error") return json(503, { error: "down" }, { "cache-control": "no-store" });
    // Healthy once, then failing with 503 (an origin up but broken, e.g. its database down).
    if (p === "/flaky")
      return n === 1
        ? json(200, { version: n }, { "cache-control": "public, max-age=0, s-maxage=1, stale-if-error=300" })
        : send(res, 503, { "content-type": "application/problem+json", "cache-control": "no-store", "retry-after": "5" },
            JSON.stringify({ title: "Service Unavailable", status: 503, detail: "database down" }));
    const img = p.match(/^\/api\/images\/([0-9a-f]{64})$/);
    if (img) {
      const found = images[img[1]];
      if (!found) return json(404, { title: "Not Found", status: 404 });
      return send(res, 200, {
        "content-type": "image/jpeg",
        "cache-control": "public, max-age=31536000, immutable",
        etag: `"${img[1]}"`,
      }, found.bytes);
    }
    if (p.startsWith("/img/"))
      return send(res, 200, {
        "content-type": "image/webp",
        "cache-control": "public, max-age=31536000, immutable",
        "x-stub-img": "rendered-by-origin",
      }, Buffer.from("RIFF-stub-origin-thumbnail"));
    return json(404, { title: "Not Found", status: 404 }, { "cache-control": "no-store" });
  });
});

server.listen(port, "127.0.0.1", () => {
  console.log(`stub origin on http://127.0.0.1:${server.address().port}`);
});
