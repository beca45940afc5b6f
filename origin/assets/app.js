// Vitrine storefront: search as you type, facets, a product view with similar products, and
// search by photo. Plain JS, no dependencies. Every search is a GET of a canonical URL (fixed
// parameter order, normalised query, empty parameters left out) so the edge can cache it.
// Thumbnail URLs come signed from the API (`images.srcset`); the browser picks a width from
// `srcset`/`sizes` for its viewport and DPR.
"use strict";
(() => {
  const PAGE = 24;
  const DEBOUNCE_MS = 200;
  const GRID_SIZES = "(max-width: 599px) calc(50vw - 22px), 240px";
  const DETAIL_SIZES = "(max-width: 599px) calc(100vw - 66px), 480px";
  const UPLOAD_SHRINK_BYTES = 1.5 * 1024 * 1024;
  const $ = (id) => document.getElementById(id);
  const el = {
    form: $("search-form"), q: $("q"), status: $("status"), grid: $("grid"), more: $("more"),
    product: $("product"), cat: document.querySelector("#facet-category .options"),
    brand: document.querySelector("#facet-brand .options"), min: $("price-min"), max: $("price-max"),
    clear: $("clear-filters"), photoPanel: $("photo-panel"), preview: $("photo-preview"),
    photoClear: $("photo-clear"), drop: $("drop"), results: $("results"),
  };
  // `category` and `brand` hold the ticked values (any of them matches), kept sorted so the
  // search URL is canonical.
  const state = { q: "", category: [], brand: [], sort: "", min: "", max: "", offset: 0, mode: "text" };
  const seen = new Map(); // product id → product, from the latest lists
  let currency = "USD";
  let controller = null;
  let timer = 0;
  let previewUrl = "";
  let firstGrid = true;
  let lastCard = null;
  let moreAvailable = false;
  let facetsShown = false;

  // --- helpers -------------------------------------------------------------------------------
  const normalise = (q) => q.trim().replace(/\s+/g, " ").toLowerCase();
  const digits = (cur) => {
    try { return new Intl.NumberFormat("en", { style: "currency", currency: cur }).resolvedOptions().maximumFractionDigits; }
    catch { return 2; }
  };
  const money = (minor, cur) => {
    const d = digits(cur);
    try { return new Intl.NumberFormat(undefined, { style: "currency", currency: cur }).format(minor / 10 ** d); }
    catch { return `${(minor / 10 ** d).toFixed(d)} ${cur}`; }
  };
  const toMinor = (major) => {
    if (major === "") return "";
    const n = Number(major);
    return Number.isFinite(n) && n >= 0 ? String(Math.round(n * 10 ** digits(currency))) : null;
  };
  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") node.className = v; else if (k === "text") node.textContent = v;
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) if (c) node.append(c);
    return node;
  }
  const setStatus = (text) => { el.status.textContent = text; };
  async function problem(resp) {
    try { const p = await resp.json(); return p.detail || p.title || `HTTP ${resp.status}`; }
    catch { return `HTTP ${resp.status}`; }
  }
  async function getJson(url, signal) {
    const resp = await fetch(url, { signal, headers: { accept: "application/json" } });
    if (!resp.ok) {
      const err = new Error(await problem(resp));
      err.status = resp.status;
      err.retryAfter = Number(resp.headers.get("retry-after")) || 0;
      throw err;
    }
    return resp.json();
  }

  /** The canonical search URL for the current state. */
  function searchUrl() {
    const p = new URLSearchParams();
    p.set("q", normalise(state.q));
    for (const v of state.category) p.append("category", v);
    for (const v of state.brand) p.append("brand", v);
    if (state.sort) p.set("sort", state.sort);
    const min = toMinor(state.min), max = toMinor(state.max);
    if (min) p.set("price_min", min);
    if (max) p.set("price_max", max);
    p.set("limit", String(PAGE));
    if (state.offset) p.set("offset", String(state.offset));
    return `/api/search/text?${p}`;
  }

  /** Mirrors the search in the address bar (shareable, restored on load). */
  function syncAddress() {
    const p = new URLSearchParams();
    if (state.q.trim()) p.set("q", state.q.trim());
    for (const k of ["category", "brand"]) for (const v of state[k]) p.append(k, v);
    for (const k of ["sort", "min", "max"]) if (state[k]) p.set(k, state[k]);
    const qs = p.toString();
    history.replaceState(history.state, "", (qs ? `/?${qs}` : "/") + location.hash);
  }

  // --- placeholders ----------------------------------------------------------------------------
  // Each product image carries `images.placeholder`: a dominant colour, painted at once as the
  // image's background, and a ThumbHash (a ~25-byte DCT of the image), decoded here to a 32 px
  // picture drawn behind the image (`background-size: cover`, the same crop as the image's
  // `object-fit: cover`). The image paints over both when it arrives; they are cleared then
  // (a transparent product photo should not show them through). Same box, so no layout shift.
  // Styles are set through the CSSOM, which the page's CSP (`style-src 'self'`) allows; the
  // picture is a `data:` URL, which its `img-src` allows.

  /** Decodes a ThumbHash into `{ w, h, rgba }` (32 px on the longer side), or null when the
   * bytes are not one. The format is Evan Wallace's ThumbHash: a 24-bit and a 16-bit header
   * (DC terms, scales, alpha and landscape flags, the luminance grid), then 4-bit AC terms for
   * luminance L, the colour differences P (yellow–blue) and Q (red–green) and alpha A. */
  function decodeThumbHash(hash) {
    if (hash.length < 5) return null;
    const h24 = hash[0] | (hash[1] << 8) | (hash[2] << 16), h16 = hash[3] | (hash[4] << 8);
    const hasAlpha = (h24 >> 23) & 1, landscape = (h16 >> 15) & 1;
    const lMax = hasAlpha ? 5 : 7, lMin = h16 & 7;
    const ratio = landscape ? lMax / lMin : lMin / lMax;
    if (!(ratio > 0 && Number.isFinite(ratio))) return null;
    const lx = Math.max(3, landscape ? lMax : lMin), ly = Math.max(3, landscape ? lMin : lMax);
    const dc = { l: (h24 & 63) / 63, p: ((h24 >> 6) & 63) / 31.5 - 1, q: ((h24 >> 12) & 63) / 31.5 - 1, a: 1 };
    let aScale = 1;
    let nibble = 2 * 5;
    if (hasAlpha) {
      if (hash.length < 6) return null;
      dc.a = (hash[5] & 15) / 15;
      aScale = (hash[5] >> 4) / 15;
      nibble = 2 * 6;
    }
    // The AC terms of a channel: a triangle of an nx × ny grid, 4 bits each, low nibble first.
    const terms = (nx, ny, scale) => {
      const out = [];
      for (let cy = 0; cy < ny; cy++) {
        for (let cx = cy ? 0 : 1; cx * ny < nx * (ny - cy); cx++, nibble++) {
          const byte = hash[nibble >> 1];
          if (byte === undefined) throw new RangeError("short ThumbHash");
          out.push((((nibble & 1) ? byte >> 4 : byte & 15) / 7.5 - 1) * scale);
        }
      }
      return out;
    };
    let ac;
    try {
      ac = {
        l: terms(lx, ly, ((h24 >> 18) & 31) / 31),
        // Saturation boosted 1.25× against quantisation, as the format's decoder does.
        p: terms(3, 3, ((h16 >> 3) & 63) / 63 * 1.25),
        q: terms(3, 3, ((h16 >> 9) & 63) / 63 * 1.25),
        a: hasAlpha ? terms(5, 5, aScale) : [],
      };
    } catch { return null; }
    const w = ratio > 1 ? 32 : Math.max(1, Math.round(32 * ratio));
    const hgt = ratio > 1 ? Math.max(1, Math.round(32 / ratio)) : 32;
    const rgba = new Uint8ClampedArray(w * hgt * 4);
    const n = Math.max(lx, ly, hasAlpha ? 5 : 3);
    const fx = new Float64Array(n), fy = new Float64Array(n);
    // Sum of a channel's terms over the triangle `cx * ny < nx * (ny - cy)` at this pixel.
    const sum = (coeffs, nx, ny) => {
      let v = 0;
      for (let cy = 0, j = 0; cy < ny; cy++) {
        for (let cx = cy ? 0 : 1; cx * ny < nx * (ny - cy); cx++, j++) v += coeffs[j] * fx[cx] * fy[cy] * 2;
      }
      return v;
    };
    for (let y = 0, i = 0; y < hgt; y++) {
      for (let k = 0; k < n; k++) fy[k] = Math.cos(Math.PI / hgt * (y + 0.5) * k);
      for (let x = 0; x < w; x++, i += 4) {
        for (let k = 0; k < n; k++) fx[k] = Math.cos(Math.PI / w * (x + 0.5) * k);
        const l = dc.l + sum(ac.l, lx, ly), p = dc.p + sum(ac.p, 3, 3), q = dc.q + sum(ac.q, 3, 3);
        const a = hasAlpha ? dc.a + sum(ac.a, 5, 5) : 1;
        const b = l - 2 / 3 * p, r = (3 * l - b + q) / 2, g = r - q;
        rgba[i] = r * 255; rgba[i + 1] = g * 255; rgba[i + 2] = b * 255; rgba[i + 3] = a * 255;
      }
    }
    return { w, h: hgt, rgba };
  }

  const thumbHashUrls = new Map(); // base64 ThumbHash → data: URL (or "" when undecodable)
  /** The ThumbHash as a PNG `data:` URL, "" when it cannot be decoded. */
  function thumbHashUrl(b64) {
    if (thumbHashUrls.has(b64)) return thumbHashUrls.get(b64);
    let url = "";
    try {
      const picture = decodeThumbHash(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
      if (picture) {
        const canvas = h("canvas", { width: picture.w, height: picture.h });
        canvas.getContext("2d").putImageData(new ImageData(picture.rgba, picture.w, picture.h), 0, 0);
        url = canvas.toDataURL("image/png");
      }
    } catch { url = ""; }
    thumbHashUrls.set(b64, url);
    return url;
  }

  /** Paints `placeholder` behind `img` until the image has loaded. */
  function paintPlaceholder(img, placeholder) {
    if (!placeholder || img.complete && img.naturalWidth > 0) return;
    if (/^#[0-9a-f]{6}$/i.test(placeholder.color || "")) img.style.backgroundColor = placeholder.color;
    const url = typeof placeholder.thumbhash === "string" ? thumbHashUrl(placeholder.thumbhash) : "";
    if (url) img.style.backgroundImage = `url("${url}")`;
    img.addEventListener("load", () => {
      img.style.removeProperty("background-color");
      img.style.removeProperty("background-image");
    }, { once: true });
  }

  // --- rendering -------------------------------------------------------------------------------
  function picture(product, sizes, cls, eager) {
    const set = product.images && product.images.srcset;
    if (!set || !set.length) return h("div", { class: `${cls} placeholder`, "aria-hidden": "true" });
    const fallback = set.find((c) => c.w >= 320) || set[set.length - 1];
    const img = h("img", {
      class: cls, alt: product.title, src: fallback.url, width: fallback.w, height: fallback.w,
      srcset: set.map((c) => `${c.url} ${c.w}w`).join(", "), sizes,
      loading: eager ? "eager" : "lazy", decoding: "async",
    });
    paintPlaceholder(img, product.images.placeholder);
    return img;
  }

  /** A highlight from the API (text escaped by the server, `<mark>` around matches) as DOM
   * nodes: split on the marks, each piece decoded as text (never parsed as HTML). */
  function marked(html) {
    const decode = (s) => { const t = document.createElement("textarea"); t.innerHTML = s; return t.value; };
    const nodes = html.split(/<mark>|<\/mark>/).map((part, i) => (i % 2 ? h("mark", { text: decode(part) }) : decode(part)));
    return nodes.filter((n) => n !== "");
  }

  function card(hit) {
    seen.set(hit.id, hit);
    const title = hit.highlight ? h("h3", {}, ...marked(hit.highlight.title)) : h("h3", { text: hit.title });
    const info = h("div", { class: "info" },
      title,
      h("p", { class: "meta", text: `${hit.brand} · ${hit.category}` }),
      h("p", { class: "price", text: money(hit.price, hit.currency) }),
      typeof hit.score === "number" && state.mode === "photo"
        ? h("span", { class: "score", text: hit.duplicate ? "same photo" : `match ${Math.round(hit.score * 100)} %` })
        : null);
    const link = h("a", { href: `#/product/${hit.id}`, "data-id": hit.id }, picture(hit, GRID_SIZES, "thumb"), info);
    return h("li", { class: "card", "data-id": hit.id }, link);
  }

  function renderGrid(results, append) {
    if (!append) el.grid.replaceChildren();
    el.grid.append(...results.map(card));
    if (firstGrid && results.length) {
      firstGrid = false;
      performance.mark("vitrine:first-grid");
    }
  }

  /** One checkbox per value with its count. The API counts each facet without its own
   * filter, so unticked values keep their counts and can be added (any ticked value matches).
   * Focus stays on the box the shopper just toggled when the list is redrawn. */
  function facetOptions(box, name, counts, selected) {
    const focused = document.activeElement && box.contains(document.activeElement) ? document.activeElement.value : null;
    const values = new Set([...Object.keys(counts), ...selected]);
    const items = [...values].sort((a, b) => a.localeCompare(b)).map((value) =>
      h("label", {}, h("input", { type: "checkbox", name, value, checked: selected.includes(value) }),
        value, h("span", { class: "count", text: `(${counts[value] || 0})` })));
    box.replaceChildren(...items);
    if (focused !== null) {
      const again = [...box.querySelectorAll("input")].find((i) => i.value === focused);
      if (again) again.focus();
    }
  }

  function renderPrice(price) {
    const hint = $("price-range");
    if (!price || price.min === null || price.min === undefined) { hint.textContent = ""; return; }
    const d = 10 ** digits(currency);
    el.min.placeholder = String(Math.floor(price.min / d));
    el.max.placeholder = String(Math.ceil(price.max / d));
    const bars = (price.histogram || []).map((b) => `${money(b.from, currency)}–${money(b.to, currency)}: ${b.count}`);
    hint.textContent = `${money(price.min, currency)} – ${money(price.max, currency)}`;
    hint.title = bars.join("\n");
  }

  function renderFacets(facets) {
    facetOptions(el.cat, "category", facets.category || {}, state.category);
    facetOptions(el.brand, "brand", facets.brand || {}, state.brand);
    renderPrice(facets.price);
    // Filters are open beside the grid on wide screens, folded above it on narrow ones; opened
    // once they have content, so nothing in them moves (no layout shift).
    if (!facetsShown && matchMedia("(min-width: 900px)").matches) $("filters-box").open = true;
    facetsShown = true;
  }

  // --- text search -----------------------------------------------------------------------------
  async function runSearch(append) {
    if (!append) state.offset = 0;
    if (state.min && toMinor(state.min) === null || state.max && toMinor(state.max) === null) {
      setStatus("Prices must be positive numbers.");
      return;
    }
    state.mode = "text";
    el.photoPanel.hidden = true;
    syncAddress();
    if (controller) controller.abort();
    controller = new AbortController();
    const url = searchUrl();
    el.grid.setAttribute("aria-busy", "true");
    try {
      const body = await getJson(url, controller.signal);
      if (body.results[0]) currency = body.results[0].currency;
      renderFacets(body.facets || {});
      renderGrid(body.results, append);
      moreAvailable = state.offset + body.results.length < body.total;
      el.more.hidden = !moreAvailable;
      const what = normalise(state.q) ? ` for “${state.q.trim()}”` : "";
      setStatus(body.total ? `${body.total} product${body.total === 1 ? "" : "s"}${what}` : `No products${what}.`);
    } catch (e) {
      if (e.name === "AbortError") return;
      setStatus(e.status === 429 ? `Too many searches; try again in ${e.retryAfter || 1} s.` : `Search failed: ${e.message}`);
    } finally {
      el.grid.removeAttribute("aria-busy");
    }
  }

  const searchSoon = () => { clearTimeout(timer); timer = setTimeout(() => runSearch(false), DEBOUNCE_MS); };

  // --- search by photo -------------------------------------------------------------------------
  /** Large camera photos are scaled down before upload (the search looks at shapes and colours,
   * not megapixels); small files go as they are. */
  async function shrink(file) {
    if (file.size <= UPLOAD_SHRINK_BYTES || typeof createImageBitmap !== "function") return file;
    try {
      const bmp = await createImageBitmap(file);
      const scale = Math.min(1, 1024 / Math.max(bmp.width, bmp.height));
      const canvas = h("canvas", { width: Math.round(bmp.width * scale), height: Math.round(bmp.height * scale) });
      canvas.getContext("2d").drawImage(bmp, 0, 0, canvas.width, canvas.height);
      const blob = await new Promise((ok) => canvas.toBlob(ok, "image/jpeg", 0.9));
      return blob || file;
    } catch { return file; }
  }

  async function photoSearch(file) {
    if (!file) return;
    if (file.type && !file.type.startsWith("image/")) {
      setStatus("That file is not an image.");
      return;
    }
    closeProduct(true);
    state.mode = "photo";
    if (controller) controller.abort();
    controller = new AbortController();
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = URL.createObjectURL(file);
    el.preview.src = previewUrl;
    el.photoPanel.hidden = false;
    el.more.hidden = true;
    setStatus("Searching by photo…");
    const form = new FormData();
    form.append("image", await shrink(file), file.name || "photo.jpg");
    form.append("limit", String(PAGE));
    for (const v of state.category) form.append("category", v);
    for (const v of state.brand) form.append("brand", v);
    try {
      const resp = await fetch("/api/search/image", { method: "POST", body: form, signal: controller.signal });
      if (!resp.ok) throw Object.assign(new Error(await problem(resp)), { status: resp.status });
      const body = await resp.json();
      renderGrid(body.results, false);
      setStatus(body.results.length ? `${body.results.length} products look like your photo` : "No similar products found.");
    } catch (e) {
      if (e.name !== "AbortError") setStatus(`Photo search failed: ${e.message}`);
    }
  }

  // --- product view ----------------------------------------------------------------------------
  async function openProduct(id) {
    el.grid.hidden = true; el.more.hidden = true; el.status.hidden = true; el.photoPanel.hidden = true;
    el.product.hidden = false;
    const back = h("button", { type: "button", class: "link", text: "← Back to results" });
    back.addEventListener("click", () => closeProduct(true));
    el.product.replaceChildren(back, h("p", { text: "Loading…" }));
    let p = seen.get(id);
    try {
      if (!p) p = await getJson(`/api/products/${id}`);
    } catch (e) {
      el.product.replaceChildren(back, h("p", { text: `Could not load the product: ${e.message}` }));
      return;
    }
    if (location.hash !== `#/product/${id}`) return;
    const attrs = h("dl", {});
    for (const [k, v] of Object.entries(p.attributes || {})) {
      if (typeof v === "object") continue;
      attrs.append(h("dt", { text: k }), h("dd", { text: String(v) }));
    }
    const title = h("h2", { id: "product-title", tabindex: "-1", text: p.title });
    const similar = h("ul", { class: "grid", id: "similar", "aria-label": "Similar products" });
    const note = h("p", { class: "meta", text: "Finding similar products…" });
    el.product.replaceChildren(back,
      h("div", { class: "detail" }, picture(p, DETAIL_SIZES, "large", true),
        h("div", {}, title, h("p", { class: "meta", text: `${p.brand} · ${p.category}` }),
          h("p", { class: "price", text: money(p.price, p.currency) }),
          h("p", { text: p.description }), attrs)),
      h("h3", { text: "Similar products" }), note, similar);
    document.title = `${p.title} — Vitrine`;
    title.focus();
    for (let attempt = 0; attempt < 4; attempt++) {
      try {
        const body = await getJson(`/api/products/${id}/similar?limit=8`);
        if (location.hash !== `#/product/${id}`) return;
        similar.append(...body.results.map(card));
        note.textContent = body.results.length ? "" : "No similar products yet.";
        return;
      } catch (e) {
        if (e.status !== 503 || attempt === 3) { note.textContent = `Could not load similar products: ${e.message}`; return; }
        note.textContent = "Similar products are being prepared…";
        await new Promise((ok) => setTimeout(ok, Math.min(5, Math.max(1, e.retryAfter)) * 1000));
      }
    }
  }

  function closeProduct(navigate) {
    if (el.product.hidden) return;
    el.product.hidden = true;
    el.product.replaceChildren();
    el.grid.hidden = false; el.status.hidden = false;
    el.photoPanel.hidden = state.mode !== "photo";
    document.title = "Vitrine — find products by text or photo";
    if (navigate && location.hash) history.pushState(null, "", location.pathname + location.search);
    el.more.hidden = state.mode !== "text" || !moreAvailable;
    if (lastCard && lastCard.isConnected) lastCard.focus(); else el.results.focus();
  }

  function route() {
    const m = /^#\/product\/(\d+)$/.exec(location.hash);
    if (m) openProduct(Number(m[1])); else closeProduct(false);
  }

  // --- events ----------------------------------------------------------------------------------
  el.form.addEventListener("submit", (e) => { e.preventDefault(); clearTimeout(timer); runSearch(false); });
  el.q.addEventListener("input", () => { state.q = el.q.value; closeProduct(true); searchSoon(); });
  for (const [box, key] of [[el.cat, "category"], [el.brand, "brand"]]) {
    box.addEventListener("change", (e) => {
      const ticked = [...box.querySelectorAll("input:checked")].map((i) => i.value);
      state[key] = ticked.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      closeProduct(true); runSearch(false);
    });
  }
  $("sort").addEventListener("change", (e) => { state.sort = e.target.value; closeProduct(true); runSearch(false); });
  for (const [input, key] of [[el.min, "min"], [el.max, "max"]]) {
    input.addEventListener("input", () => { state[key] = input.value.trim(); searchSoon(); });
  }
  el.clear.addEventListener("click", () => {
    Object.assign(state, { category: [], brand: [], min: "", max: "" });
    el.min.value = ""; el.max.value = "";
    runSearch(false);
  });
  el.more.addEventListener("click", () => { state.offset += PAGE; runSearch(true); });
  el.grid.addEventListener("click", (e) => {
    const a = e.target.closest("a[data-id]");
    if (a) lastCard = a;
  });
  el.product.addEventListener("click", (e) => {
    const a = e.target.closest("a[data-id]");
    if (a) lastCard = null;
  });
  for (const input of [$("photo-camera"), $("photo-file")]) {
    input.addEventListener("change", () => { photoSearch(input.files && input.files[0]); input.value = ""; });
  }
  el.photoClear.addEventListener("click", () => runSearch(false));
  window.addEventListener("hashchange", route);
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !el.product.hidden) closeProduct(true);
    if (e.key === "/" && document.activeElement !== el.q && !/INPUT|TEXTAREA/.test(document.activeElement.tagName)) {
      e.preventDefault(); el.q.focus();
    }
  });
  // Drag and drop anywhere on the page.
  let dragDepth = 0;
  const hasFiles = (e) => e.dataTransfer && Array.from(e.dataTransfer.types || []).includes("Files");
  document.addEventListener("dragenter", (e) => { if (hasFiles(e)) { dragDepth++; el.drop.hidden = false; } });
  document.addEventListener("dragleave", () => { if (--dragDepth <= 0) { dragDepth = 0; el.drop.hidden = true; } });
  document.addEventListener("dragover", (e) => { if (hasFiles(e)) e.preventDefault(); });
  document.addEventListener("drop", (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    dragDepth = 0; el.drop.hidden = true;
    photoSearch(e.dataTransfer.files[0]);
  });

  // --- start -----------------------------------------------------------------------------------
  const initial = new URLSearchParams(location.search);
  state.q = initial.get("q") || "";
  const sorted = (values) => [...new Set(values)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  state.category = sorted(initial.getAll("category"));
  state.brand = sorted(initial.getAll("brand"));
  state.sort = initial.get("sort") || "";
  $("sort").value = state.sort;
  state.min = initial.get("min") || "";
  state.max = initial.get("max") || "";
  el.q.value = state.q; el.min.value = state.min; el.max.value = state.max;
  runSearch(false).then(route);
})();
