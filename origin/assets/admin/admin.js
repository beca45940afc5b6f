// The operator console: signs in with the API key (kept in sessionStorage, sent as
// `Authorization: Bearer`, never in a cookie, so there is no CSRF to defend against), polls
// the origin's own endpoints every few seconds, keeps a rolling history in the page and draws
// it (charts.js). Panels whose endpoint this origin does not have (404) say so and keep
// asking, so the page works on an origin with fewer job APIs.
"use strict";

(function () {
  const KEY = "vitrine.apiKey";
  const INTERVAL_MS = 3000;
  const HISTORY = 120; // samples kept: 6 minutes at 3 s
  const TOP_ROUTES = 4;
  const $ = (id) => document.getElementById(id);
  const C = window.Charts;
  const TITLES = {
    "c-rps": "Requests per second", "c-latency": "Latency", "c-errors": "Error rate",
    "c-cache-ns": "Cache hit rate by namespace", "c-compression": "Compression savings",
    "c-jobs": "Jobs: items per second", "c-pool": "Database pool",
  };

  let key = sessionStorage.getItem(KEY);
  let timer = null;
  let generation = 0; // bumps on sign-out, so a late answer of the old session is ignored
  const history = [];
  const lookedUp = new Map(); // job id → view, jobs the operator asked for by id
  let lastJobs = [];
  const pending = new Set(); // buttons whose action is in flight
  // Which optional routes this origin has, from its OpenAPI document (read at sign-in), so
  // the console does not ask for what is not there.
  let routes = null;

  // ---- API ----------------------------------------------------------------------------

  class Unavailable extends Error {}

  /** `fetch` with the key; the parsed JSON body (null when empty). 401 signs out; 404 is
   * `Unavailable`; other failures throw with the problem's `detail`. */
  async function api(path, { method = "GET", body, allow = [] } = {}) {
    const gen = generation;
    const headers = { Accept: "application/json", Authorization: "Bearer " + key };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store", credentials: "omit" });
    const text = await r.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch (_) { json = null; }
    if (gen !== generation) throw new Error("signed out");
    if (r.status === 401) { signOut("The API key was rejected; sign in again."); throw new Error("unauthorized"); }
    if (r.status === 404 && !allow.includes(404)) throw new Unavailable((json && json.detail) || "not found");
    if (!r.ok && !allow.includes(r.status)) throw new Error((json && (json.detail || json.title)) || `HTTP ${r.status}`);
    return { status: r.status, json };
  }

  const settle = (p) => p.then((v) => ({ ok: true, v }), (e) => ({ ok: false, e }));
  const has = (path) => !routes || routes.has(path);
  const ifHas = (path, url) => (has(path) ? api(url) : Promise.reject(new Unavailable(path)));

  async function loadRoutes() {
    try {
      const r = await fetch("/api/openapi.json", { headers: { Accept: "application/json" }, credentials: "omit" });
      if (r.ok) routes = new Set(Object.keys((await r.json()).paths || {}));
    } catch (_) { routes = null; /* unknown: ask every endpoint, 404s say "not available" */ }
  }
  const why = (e) => (e instanceof Unavailable ? "not available on this origin" : "failed: " + e.message);

  // ---- sign in / out ------------------------------------------------------------------

  function showSignedIn(on) {
    $("login").hidden = on;
    $("main").hidden = !on;
    $("logout").hidden = !on;
    $("live").textContent = on ? "Signed in; loading…" : "Signed out";
  }

  function signOut(message) {
    generation++;
    key = null;
    sessionStorage.removeItem(KEY);
    clearTimeout(timer);
    timer = null;
    history.length = 0;
    lookedUp.clear();
    showSignedIn(false);
    $("login-error").textContent = message || "";
    $("api-key").value = "";
    $("api-key").focus();
  }

  async function signIn(candidate) {
    const r = await fetch("/api/auth/check", { headers: { Authorization: "Bearer " + candidate, Accept: "application/json" }, cache: "no-store", credentials: "omit" });
    if (r.status !== 200) {
      const p = await r.json().catch(() => null);
      throw new Error(r.status === 401 ? "That key is not valid" + (p && p.detail ? ` (${p.detail})` : "") : `The origin answered ${r.status}`);
    }
    key = candidate;
    sessionStorage.setItem(KEY, key);
    start();
  }

  async function start() {
    showSignedIn(true);
    $("main").focus();
    if (!routes) await loadRoutes();
    tick();
  }

  // ---- sampling -----------------------------------------------------------------------

  async function tick() {
    const gen = generation;
    clearTimeout(timer);
    const [perf, health, jobs, dead, schedules] = await Promise.all([
      settle(api("/api/performance")),
      settle(api("/api/health/detailed", { allow: [503] })),
      settle(ifHas("/api/jobs", "/api/jobs?limit=50")),
      settle(ifHas("/api/jobs/dead", "/api/jobs/dead?limit=50")),
      settle(ifHas("/api/jobs/schedules", "/api/jobs/schedules")),
    ]);
    if (gen !== generation) return;
    const looked = await refreshLookedUp();
    if (gen !== generation) return;
    const sample = {
      t: Date.now(),
      perf: perf.ok ? perf.v.json : null,
      health: health.ok ? health.v.json : null,
      jobs: jobs.ok ? jobs.v.json.jobs : null,
      dead: dead.ok ? dead.v.json : null,
    };
    history.push(sample);
    if (history.length > HISTORY) history.shift();
    try {
      render(sample, { perf, health, jobs, dead, schedules, looked });
      const when = new Date(sample.t).toLocaleTimeString();
      $("live").textContent = perf.ok ? `Live · updated ${when}` : `Origin unreachable (${perf.e.message}) · ${when}`;
    } catch (e) {
      $("live").textContent = "Rendering failed: " + e.message;
      console.warn(e);
    }
    timer = setTimeout(tick, INTERVAL_MS);
  }

  async function refreshLookedUp() {
    const ids = [...lookedUp.keys()].filter((id) => !isFinal(lookedUp.get(id)));
    await Promise.all(ids.map(async (id) => {
      try { remember((await api("/api/jobs/" + id)).json); } catch (_) { /* keep the last view */ }
    }));
  }

  /** Keeps the newer of two views of a job (an answer that left before a cancel must not
   * undo it on screen). */
  function remember(view) {
    const old = lookedUp.get(view.job_id);
    if (!old || view.updated_at >= old.updated_at) lookedUp.set(view.job_id, view);
    return lookedUp.get(view.job_id);
  }
  const newest = (j) => { const l = lookedUp.get(j.job_id); return l && l.updated_at > j.updated_at ? l : j; };

  const isFinal = (j) => j && ["completed", "failed", "cancelled"].includes(j.state);

  // ---- series from the history --------------------------------------------------------

  const get = (o, path) => path.split(".").reduce((a, k) => (a == null ? a : a[k]), o);
  const seriesOf = (name, f, extra) => Object.assign({ name, points: history.map((s) => [s.t, f(s)]) }, extra);
  const routeKey = (e) => `${e.method} ${e.endpoint}`;
  const endpointOf = (s, k) => s.perf && s.perf.requests.endpoints.find((e) => routeKey(e) === k);

  /** Hit rate per tier over each sampling interval, from the since-start counters of
   * /api/health/detailed (`stats.namespaces.*.l1|l2`). */
  function tierRate(tier) {
    return history.map((s, i) => {
      const prev = history[i - 1];
      const now = get(s.health, "components.cache.stats.namespaces");
      const before = prev && get(prev.health, "components.cache.stats.namespaces");
      if (!now || !before) return [s.t, null];
      let hits = 0, lookups = 0;
      for (const ns in now) {
        const a = now[ns][tier], b = (before[ns] || {})[tier] || { hits: 0, misses: 0 };
        if (!a) continue;
        hits += a.hits - b.hits;
        lookups += a.hits - b.hits + (a.misses - b.misses);
      }
      return [s.t, lookups > 0 ? hits / lookups : null];
    });
  }

  /** Items still to run of the recent queued or running jobs, by priority. */
  function queueByPriority(jobs, priority) {
    return jobs
      .filter((j) => j.priority === priority && (j.state === "queued" || j.state === "running"))
      .reduce((n, j) => n + (j.progress.total - j.progress.done), 0);
  }

  // ---- rendering ----------------------------------------------------------------------

  function render(latest, r) {
    renderCharts(latest, r);
    if (r.perf.ok) { renderAlerts(r.perf.v.json.alerts); renderRoutes(r.perf.v.json.requests.endpoints); }
    renderJobs(r.jobs);
    renderDead(r.dead);
    renderSchedules(r.schedules);
  }

  function renderCharts(latest, r) {
    const fig = (id) => $(id);
    if (!r.perf.ok) {
      for (const id of ["c-rps", "c-latency", "c-errors", "c-cache-ns", "c-compression", "c-jobs", "c-pool"])
        C.unavailable(fig(id), TITLES[id], "/api/performance " + why(r.perf.e));
    } else {
      const p = latest.perf;
      const top = p.requests.endpoints.slice(0, TOP_ROUTES).map(routeKey);
      syncRouteSelect(p.requests.endpoints);
      C.line(fig("c-rps"), {
        title: "Requests per second", unit: "/s",
        series: [seriesOf("all", (s) => get(s.perf, "requests.overall.requests_per_second"))]
          .concat(top.map((k) => seriesOf(k, (s) => get(endpointOf(s, k), "requests_per_second")))),
      });
      const route = $("route").value;
      const lat = (s) => (route ? endpointOf(s, route) : get(s.perf, "requests.overall"));
      C.line(fig("c-latency"), {
        title: "Latency, " + (route || "all requests"), unit: "ms",
        series: ["p50", "p95", "p99"].map((q) => seriesOf(q, (s) => get(lat(s), q + "_ms"))),
      });
      C.line(fig("c-errors"), {
        title: "Error rate (5xx share)", unit: "%",
        series: [seriesOf("all", (s) => get(s.perf, "requests.overall.error_rate"))]
          .concat(top.map((k) => seriesOf(k, (s) => get(endpointOf(s, k), "error_rate")))),
      });
      const namespaces = Object.keys(p.cache.namespaces);
      C.line(fig("c-cache-ns"), {
        title: "Cache hit rate by namespace", unit: "%", max: 1,
        series: [seriesOf("all", (s) => get(s.perf, "cache.hit_rate"))]
          .concat(namespaces.map((ns) => seriesOf(ns, (s) => get(s.perf, `cache.namespaces.${ns}.hit_rate`)))),
      });
      const algs = Object.keys(p.compression.algorithms);
      C.line(fig("c-compression"), {
        title: "Compression savings", unit: "%", max: 1,
        series: algs.map((a) => seriesOf(a, (s) => get(s.perf, `compression.algorithms.${a}.savings_ratio`))),
      });
      C.line(fig("c-jobs"), {
        title: "Jobs: items per second", unit: "/s",
        series: [
          seriesOf("completed", (s) => get(s.perf, "jobs.completed_per_second")),
          seriesOf("failed", (s) => get(s.perf, "jobs.failed_per_second")),
        ],
      });
      C.line(fig("c-pool"), {
        title: "Database pool", unit: "",
        series: [
          seriesOf("active", (s) => get(s.perf, "database.pool.active")),
          seriesOf("open", (s) => get(s.perf, "database.pool.open")),
          seriesOf("max", (s) => get(s.perf, "database.pool.max"), { dashed: true }),
        ],
      });
    }
    // Queue depth: the queue's gauge (all priorities) from /api/performance, and per
    // priority from the recent jobs listing when this origin has it.
    const queueSeries = [seriesOf("all (queue gauge)", (s) => get(s.perf, "jobs.queued"))];
    if (r.jobs.ok)
      for (const pr of ["high", "normal", "low"])
        queueSeries.push(seriesOf(pr, (s) => (s.jobs ? queueByPriority(s.jobs, pr) : null)));
    C.line(fig("c-queue"), { title: r.jobs.ok ? "Queue depth (items; by priority: recent jobs)" : "Queue depth (items; per priority not available)", unit: "", series: queueSeries });
    const deadSeries = [seriesOf("dead-lettered, 5 min", (s) => get(s.perf, "jobs.dead_lettered"))];
    if (r.dead.ok) deadSeries.unshift(seriesOf("listed", (s) => (s.dead ? s.dead.dead_letters.length : null)));
    C.line(fig("c-dead"), { title: "Dead letters", unit: "", series: deadSeries });
    if (!r.health.ok) {
      C.unavailable(fig("c-memory"), "Memory", "/api/health/detailed " + why(r.health.e));
      C.unavailable(fig("c-cache-tier"), "Cache hit rate by tier", "/api/health/detailed " + why(r.health.e));
      C.unavailable(fig("c-visual"), "Visual index", "/api/health/detailed " + why(r.health.e));
    } else {
      const h = latest.health;
      const budget = get(h, "memory.budget_bytes");
      C.line(fig("c-memory"), {
        title: budget ? "Memory against its budget" : "Memory (no budget set)", unit: "bytes",
        series: [seriesOf("resident", (s) => get(s.health, "memory.resident_bytes"))]
          .concat(budget ? [seriesOf("budget", (s) => get(s.health, "memory.budget_bytes"), { dashed: true })] : []),
      });
      C.line(fig("c-cache-tier"), {
        title: "Cache hit rate by tier (per interval)", unit: "%", max: 1,
        series: [{ name: "l1 (in-process)", points: tierRate("l1") }, { name: "l2 (Redis)", points: tierRate("l2") }],
      });
      const running = get(h, "components.search.visual.reindex.running");
      C.line(fig("c-visual"), {
        title: "Visual index" + (running ? " (re-indexing)" : ""), unit: "",
        series: [
          seriesOf("re-indexed", (s) => get(s.health, "components.search.visual.reindex.done")),
          seriesOf("to re-index", (s) => get(s.health, "components.search.visual.reindex.queued"), { dashed: true }),
          seriesOf("indexed products", (s) => get(s.health, "components.search.visual.indexed_products")),
          seriesOf("pending images", (s) => get(s.health, "components.search.visual.pending_images")),
        ],
      });
    }
  }

  function syncRouteSelect(endpoints) {
    const sel = $("route");
    const have = new Set([...sel.options].map((o) => o.value));
    for (const e of endpoints) {
      const k = routeKey(e);
      if (!have.has(k)) { sel.add(new Option(k, k)); have.add(k); }
    }
  }

  function cell(tr, text, cls) {
    const td = document.createElement("td");
    if (text instanceof Node) td.appendChild(text); else td.textContent = text == null ? "—" : String(text);
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }

  function button(label, title, onClick, cls) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    b.setAttribute("aria-label", title);
    if (cls) b.className = cls;
    b.addEventListener("click", onClick);
    return b;
  }

  /** Replaces a tbody's rows, keeping keyboard focus on the same action when it survives. */
  function replaceRows(tbody, rows) {
    const focused = document.activeElement;
    const label = focused && tbody.contains(focused) ? focused.getAttribute("aria-label") : null;
    tbody.replaceChildren(...rows);
    if (label) {
      const again = [...tbody.querySelectorAll("button")].find((b) => b.getAttribute("aria-label") === label);
      if (again) again.focus();
    }
  }

  function emptyRow(cols, text) {
    const tr = document.createElement("tr");
    const td = cell(tr, text, "empty");
    td.colSpan = cols;
    return tr;
  }

  const ms = (v) => (v == null ? "—" : v.toFixed(v >= 100 ? 0 : 1));
  const time = (msEpoch) => (msEpoch ? new Date(msEpoch).toLocaleString() : "—");

  function renderAlerts(alerts) {
    const ul = $("alerts");
    ul.replaceChildren(...alerts.map((a) => {
      const li = document.createElement("li");
      li.className = "alert " + a.state;
      const state = document.createElement("strong");
      state.textContent = a.state.replace("_", " ");
      const value = a.value == null ? "no data"
        : a.condition.includes("duration") ? C.fmt(a.value * 1000, "ms")
        : a.condition.includes("hit rate") ? C.fmt(a.value, "%") : C.fmt(a.value, "");
      li.append(state, document.createTextNode(` ${a.name} (${a.severity}): ${a.condition}; value ${value}, threshold ${a.threshold}`));
      return li;
    }));
    if (!alerts.length) {
      const li = document.createElement("li");
      li.textContent = "No alert rules.";
      ul.replaceChildren(li);
    }
  }

  function renderRoutes(endpoints) {
    const rows = endpoints.map((e) => {
      const tr = document.createElement("tr");
      cell(tr, routeKey(e), "route");
      cell(tr, e.requests_per_second.toFixed(2), "num");
      cell(tr, ms(e.p50_ms), "num");
      cell(tr, ms(e.p95_ms), "num");
      cell(tr, ms(e.p99_ms), "num");
      cell(tr, e.server_errors, "num");
      return tr;
    });
    replaceRows($("routes").tBodies[0], rows.length ? rows : [emptyRow(6, "No requests in the window yet.")]);
  }

  function renderJobs(res) {
    const note = $("jobs-note");
    let list = [];
    if (res.ok) { list = res.v.json.jobs.map(newest); lastJobs = list; note.textContent = ""; }
    else note.textContent = "Recent jobs: " + why(res.e) + (res.e instanceof Unavailable ? "; look a job up by id." : "");
    const seen = new Set(list.map((j) => j.job_id));
    for (const [id, j] of lookedUp) if (!seen.has(id) && j) list = [j].concat(list);
    const rows = list.map((j) => {
      const tr = document.createElement("tr");
      tr.dataset.job = j.job_id;
      cell(tr, j.job_id.slice(0, 12) + "…", "mono").title = j.job_id;
      cell(tr, j.kind);
      cell(tr, j.priority);
      cell(tr, j.state, "state " + j.state);
      const bar = document.createElement("progress");
      bar.max = Math.max(1, j.progress.total);
      bar.value = j.progress.done;
      bar.setAttribute("aria-label", `job ${j.job_id.slice(0, 8)} progress`);
      const wrap = document.createElement("span");
      wrap.append(bar, document.createTextNode(` ${j.progress.done}/${j.progress.total}` + (j.progress.failed ? `, ${j.progress.failed} failed` : "")));
      cell(tr, wrap);
      cell(tr, time(j.created_at));
      const td = cell(tr, "");
      if (!isFinal(j)) td.replaceChildren(button("Cancel", `Cancel job ${j.job_id}`, (ev) => cancelJob(j.job_id, ev.currentTarget), "danger"));
      return tr;
    });
    replaceRows($("jobs").tBodies[0], rows.length ? rows : [emptyRow(7, res.ok ? "No recent jobs." : "No job looked up.")]);
  }

  function renderDead(res) {
    const status = $("dead-status");
    const all = [$("dead-retry-all"), $("dead-discard-all")];
    if (!res.ok) {
      status.textContent = "Dead letters: " + why(res.e);
      all.forEach((b) => (b.disabled = true));
      replaceRows($("dead").tBodies[0], [emptyRow(7, "—")]);
      return;
    }
    const page = res.v.json;
    const n = page.dead_letters.length;
    all.forEach((b) => (b.disabled = n === 0 || pending.has(b)));
    if (!status.dataset.sticky) status.textContent = n ? `${n}${page.next_cursor ? "+" : ""} dead letters` : "No dead letters.";
    const rows = page.dead_letters.map((d) => {
      const tr = document.createElement("tr");
      tr.dataset.dead = d.id;
      cell(tr, d.job_id.slice(0, 12) + "…", "mono").title = d.job_id;
      cell(tr, d.kind);
      cell(tr, d.index, "num");
      cell(tr, `${d.error.code}: ${d.error.message}`, "err");
      cell(tr, d.attempts, "num");
      cell(tr, time(d.dead_at));
      const td = cell(tr, "");
      td.append(
        button("Retry", `Retry dead letter ${d.id}`, (ev) => deadAction("POST", `/api/jobs/dead/${d.id}/retry`, ev.currentTarget, "Retried")),
        button("Discard", `Discard dead letter ${d.id}`, (ev) => deadAction("DELETE", `/api/jobs/dead/${d.id}`, ev.currentTarget, "Discarded"), "danger"),
      );
      return tr;
    });
    replaceRows($("dead").tBodies[0], rows.length ? rows : [emptyRow(7, "No dead letters.")]);
  }

  function renderSchedules(res) {
    const status = $("schedules-status");
    if (!res.ok) { status.textContent = "Periodic jobs: " + why(res.e); replaceRows($("schedules").tBodies[0], [emptyRow(5, "—")]); return; }
    status.textContent = "";
    const rows = res.v.json.schedules.map((s) => {
      const tr = document.createElement("tr");
      cell(tr, s.name);
      cell(tr, s.kind);
      cell(tr, s.schedule, "mono");
      cell(tr, s.next_run_at ? `${time(s.next_run_at)} (in ${Math.max(0, Math.round((s.next_run_at - Date.now()) / 1000))} s)` : "—");
      const last = s.runs && s.runs[0];
      cell(tr, last ? `${time(last.claimed_at)} by ${last.instance}` + (last.job_id ? `, job ${last.job_id.slice(0, 8)}…` : "") : "never");
      return tr;
    });
    replaceRows($("schedules").tBodies[0], rows.length ? rows : [emptyRow(5, "No periodic jobs.")]);
  }

  // ---- actions ------------------------------------------------------------------------

  async function busy(btn, fn) {
    if (pending.has(btn)) return;
    pending.add(btn);
    btn.disabled = true;
    btn.setAttribute("aria-busy", "true");
    try { await fn(); } finally { pending.delete(btn); btn.disabled = false; btn.removeAttribute("aria-busy"); }
  }

  function cancelJob(id, btn) {
    return busy(btn, async () => {
      const status = $("jobs-status");
      try {
        const r = await api("/api/jobs/" + id, { method: "DELETE", allow: [409] });
        status.textContent = r.status === 409 ? `Job ${id} had already finished.` : `Job ${id} cancelled.`;
        const view = remember((await api("/api/jobs/" + id)).json);
        renderJobs({ ok: true, v: { json: { jobs: lastJobs.map((j) => (j.job_id === id ? view : j)) } } });
      } catch (e) {
        status.textContent = `Cancelling job ${id} ${why(e)}`;
      }
    });
  }

  function deadAction(method, path, btn, done, body) {
    return busy(btn, async () => {
      const status = $("dead-status");
      status.dataset.sticky = "1";
      try {
        const r = (await api(path, { method, body })).json || {};
        status.textContent = `${done}: ${r.affected || 0}` + (r.dropped ? `, ${r.dropped} dropped (their job is gone)` : "") + (r.not_found && r.not_found.length ? `, ${r.not_found.length} already gone` : "") + ".";
      } catch (e) {
        status.textContent = `${done} ${why(e)}`;
      }
      setTimeout(() => delete status.dataset.sticky, 6000);
      tick();
    });
  }

  /** A destructive button asks once more: the first press arms it, the second acts. */
  function twoStep(btn, label, act) {
    btn.addEventListener("click", () => {
      if (btn.dataset.armed) { delete btn.dataset.armed; btn.textContent = label; act(); return; }
      btn.dataset.armed = "1";
      btn.textContent = label + ": press again to confirm";
      setTimeout(() => { if (btn.dataset.armed) { delete btn.dataset.armed; btn.textContent = label; } }, 5000);
    });
  }

  // ---- wiring -------------------------------------------------------------------------

  $("login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const input = $("api-key");
    const candidate = input.value.trim();
    const err = $("login-error");
    if (!candidate) { err.textContent = "Enter the API key."; input.focus(); return; }
    err.textContent = "Checking…";
    try { await signIn(candidate); input.value = ""; err.textContent = ""; }
    catch (e) { err.textContent = e.message; input.select(); }
  });

  $("logout").addEventListener("click", () => signOut("Signed out."));
  $("route").addEventListener("change", () => { if (history.length) renderCharts(history[history.length - 1], lastResults()); });
  const lastResults = () => {
    const s = history[history.length - 1];
    const wrap = (v) => (v ? { ok: true, v: { json: v } } : { ok: false, e: new Unavailable() });
    return { perf: wrap(s.perf), health: wrap(s.health), jobs: wrap(s.jobs && { jobs: s.jobs }), dead: wrap(s.dead) };
  };

  $("job-lookup").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const id = $("job-id").value.trim().toLowerCase();
    const status = $("jobs-status");
    if (!/^[0-9a-f]{32}$/.test(id)) { status.textContent = "A job id is 32 hexadecimal digits."; $("job-id").focus(); return; }
    try {
      remember((await api("/api/jobs/" + id)).json);
      status.textContent = `Job ${id} added to the table.`;
      $("job-id").value = "";
      renderJobs({ ok: true, v: { json: { jobs: lastJobs } } });
    } catch (e) {
      status.textContent = e instanceof Unavailable ? `No job with id ${id}.` : `Looking up job ${id} ${why(e)}`;
    }
  });

  $("dead-retry-all").addEventListener("click", (ev) => deadAction("POST", "/api/jobs/dead/retry", ev.currentTarget, "Retried"));
  twoStep($("dead-discard-all"), "Discard all", () => deadAction("DELETE", "/api/jobs/dead", $("dead-discard-all"), "Discarded"));

  $("purge-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const input = $("purge-tag");
    const tag = input.value.trim();
    const status = $("purge-status");
    if (!/^[A-Za-z0-9:_.-]{1,128}$/.test(tag)) { status.textContent = "A tag is 1–128 letters, digits or : _ . - (e.g. product:42)."; input.focus(); return; }
    const btn = ev.submitter || input.form.querySelector("button");
    await busy(btn, async () => {
      try {
        const r = (await api("/api/cache/invalidate", { method: "POST", body: { tag } })).json;
        status.textContent = `Purged tag ${r.invalidated.tag} from every cache tier, at ${new Date().toLocaleTimeString()}.`;
        input.value = "";
      } catch (e) {
        status.textContent = `Purging ${tag} ${why(e)}`;
      }
    });
  });

  $("interval").textContent = String(INTERVAL_MS / 1000);
  if (key) start(); else showSignedIn(false);
})();
