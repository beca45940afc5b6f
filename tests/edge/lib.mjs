// Helpers shared by the edge end-to-end tests and the benchmark: raw HTTP (no automatic
// decompression, so the test sees exactly the bytes and codings the edge sent), URL signing
// (HMAC-SHA256, base64url without padding — the same scheme as common/src/signature.rs),
// WebP/JPEG size parsing, percentiles.
import http from "node:http";
import crypto from "node:crypto";

export const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

export function raw(url, { method = "GET", headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    req.setTimeout(30000, () => req.destroy(new Error(`timeout: ${method} ${url}`)));
    if (body) req.write(body);
    req.end();
  });
}

export function sign(key, signedPath) {
  return crypto.createHmac("sha256", key).update(signedPath).digest("base64url");
}

export function imgUrl(key, options, id) {
  const signed = `/${options}/${id}`;
  return `/img/${key ? sign(key, signed) : "_"}${signed}`;
}

/** Width and height of a WebP (VP8L lossless or VP8 lossy). */
export function webpSize(buf) {
  if (buf.length < 30 || buf.toString("ascii", 0, 4) !== "RIFF" || buf.toString("ascii", 8, 12) !== "WEBP")
    throw new Error("not a WebP");
  const chunk = buf.toString("ascii", 12, 16);
  if (chunk === "VP8L") {
    const b = buf.readUInt32LE(21);
    return { width: (b & 0x3fff) + 1, height: ((b >> 14) & 0x3fff) + 1 };
  }
  if (chunk === "VP8 ") return { width: buf.readUInt16LE(26) & 0x3fff, height: buf.readUInt16LE(28) & 0x3fff };
  if (chunk === "VP8X") return { width: buf.readUIntLE(24, 3) + 1, height: buf.readUIntLE(27, 3) + 1 };
  throw new Error(`unknown WebP chunk ${chunk}`);
}

export function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.round((sorted.length - 1) * p))];
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
