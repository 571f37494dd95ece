// Vitals status page: a windowed list of checks, search and filters kept in
// the URL, live updates over Server-Sent Events, relative times. No
// framework, no build step. Without this script the page still shows the
// summary, the checks needing attention and one page of the list, with
// links to the next pages and a filter form that submits as a GET.
//
// Rows are drawn from compact JSON (checks.json, live "rows" events) with
// the same markup as the server's row template, through the DOM (text is
// set as text, never parsed as HTML).
"use strict";
(function () {
  const body = document.body;
  const onlyCheck = body.dataset.check || "";
  const CHUNK = 100;      // rows per checks.json request
  const MAX_CHUNKS = 30;  // chunks kept in memory (3,000 rows)
  const OVERSCAN = 8;     // rows drawn above and below the viewport
  const SVGNS = "http://www.w3.org/2000/svg";
  let es = null, lostAt = 0;

  function setLive(on) {
    const live = document.getElementById("live");
    if (!live) return;
    live.classList.toggle("on", on);
    live.title = on ? "live updates on" : "live updates off (reconnecting)";
  }

  function ago(t) {
    const s = Math.max(0, Math.round((Date.now() - t) / 1000));
    if (s < 60) return s + "s ago";
    if (s < 3600) return Math.floor(s / 60) + "m ago";
    if (s < 86400) return Math.floor(s / 3600) + "h ago";
    return Math.floor(s / 86400) + "d ago";
  }
  function times(root) {
    for (const el of (root || document).querySelectorAll("time[datetime]")) {
      const t = Date.parse(el.getAttribute("datetime"));
      if (!isNaN(t)) { el.title = el.getAttribute("datetime"); el.textContent = ago(t); }
    }
  }

  // --- rows from JSON: the markup of the "row" template in page.html.
  const LABELS = { grace: "late", started: "running" };
  function label(s) { return LABELS[s] || s; }
  function elem(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    return e;
  }
  function svg(cls, box, stretch) {
    const s = document.createElementNS(SVGNS, "svg");
    s.setAttribute("class", cls);
    s.setAttribute("viewBox", box);
    if (stretch) s.setAttribute("preserveAspectRatio", "none");
    return s;
  }
  function path(parent, cls, d) {
    const p = document.createElementNS(SVGNS, "path");
    if (cls) p.setAttribute("class", cls);
    p.setAttribute("d", d);
    parent.appendChild(p);
  }
  // The bars: one path per colour, each run of days one segment (barsSVG).
  function bars(days) {
    const s = svg("u", "0 0 90 1", true);
    for (const cls of "nabcd") {
      let d = "";
      for (let i = 0; i < days.length;) {
        if (days[i] !== cls) { i++; continue; }
        let j = i;
        while (j < days.length && days[j] === cls) j++;
        d += "M" + i + " .5h" + (j - i);
        i = j;
      }
      if (d) path(s, cls, d);
    }
    return s;
  }
  function rowEl(r) {
    const li = elem("li", "ck s-" + r.s + (r.f ? " failing" : "") + (r.w ? " cw" : ""));
    li.dataset.id = r.id;
    if (r.w) li.title = r.w;
    const a = elem("a", "nm", r.n);
    a.href = "check/" + r.id;
    const st = elem("span", "st", label(r.s));
    if (r.f) st.title = "failing below its threshold";
    const sp = svg("s", "0 0 58 20", !!r.k);
    if (r.k) path(sp, "", r.k);
    li.append(a, st, bars(r.d || ""), elem("span", "pc", r.p || "–"), sp, elem("span", "ms", r.m || ""));
    return li;
  }

  // --- the windowed list: only the rows in view (and OVERSCAN more) are in
  // the DOM; padding above and below stands for the others. Rows come in
  // chunks of CHUNK from checks.json, the server-rendered first page first.
  let W = null;
  let drawQueued = false;

  function params() {
    const form = document.getElementById("filter");
    const p = new URLSearchParams();
    if (form) for (const [k, v] of new FormData(form)) if (v) p.set(k, v);
    return p;
  }

  function initList() {
    W = null;
    const list = document.getElementById("checks");
    if (!list || onlyCheck || list.dataset.offset !== "1") return; // a later page: plain paging
    W = {
      list: list, total: +list.dataset.total || 0, rowH: 0, seq: 0, q: params(),
      server: [...list.querySelectorAll(":scope > li.ck")], cache: new Map(), pending: new Set(), drawn: "",
    };
    const pager = document.getElementById("pager");
    if (pager) pager.hidden = true;
    if (W.server.length) W.rowH = W.server[0].getBoundingClientRect().height;
    queueDraw();
  }

  function queueDraw() {
    if (drawQueued || !W) return;
    drawQueued = true;
    requestAnimationFrame(function () { drawQueued = false; draw(); });
  }

  function rowAt(i) {
    if (W.server && i < W.server.length) return W.server[i];
    const c = W.cache.get(Math.floor(i / CHUNK));
    if (!c) return null;
    const k = i % CHUNK;
    if (!c.rows[k]) return null;
    return c.els[k] || (c.els[k] = rowEl(c.rows[k]));
  }

  // needChunk reports whether rows [s, e) of chunk c must be fetched: not
  // all served by the server's first page, and not cached (or stale).
  function needChunk(c, s, e) {
    if (W.server && !W.serverOld && Math.min(e, (c + 1) * CHUNK) <= W.server.length) return false;
    const got = W.cache.get(c);
    return !got || got.old;
  }

  function draw() {
    if (!W || !W.list.isConnected) return;
    const list = W.list, h = W.rowH || 40;
    const top = Math.max(0, -list.getBoundingClientRect().top);
    const s = Math.max(0, Math.floor(top / h) - OVERSCAN);
    const e = Math.min(W.total, Math.ceil((top + window.innerHeight) / h) + OVERSCAN);
    for (let c = Math.floor(s / CHUNK); c * CHUNK < e; c++) if (needChunk(c, s, e)) fetchChunk(c);
    const els = [];
    let missing = 0;
    for (let i = s; i < e; i++) {
      let el = rowAt(i);
      if (!el) {
        missing++;
        el = elem("li", "ck ph");
        el.style.height = h + "px";
        el.setAttribute("aria-busy", "true");
      }
      el.setAttribute("aria-posinset", i + 1);
      el.setAttribute("aria-setsize", W.total);
      els.push(el);
    }
    const key = s + ":" + e + ":" + W.total + ":" + missing + ":" + W.cache.size;
    if (key === W.drawn) return;
    W.drawn = key;
    // Move no row that stays (moving the focused one would blur it, and
    // keyboard users would lose their place): drop the rows that left,
    // insert the ones that came.
    const keep = new Set(els);
    for (const ch of [...list.children]) if (!keep.has(ch)) ch.remove();
    let at = list.firstChild;
    for (const el of els) {
      if (el === at) { at = at.nextSibling; continue; }
      list.insertBefore(el, at);
    }
    list.style.paddingTop = s * h + "px";
    list.style.paddingBottom = Math.max(0, W.total - e) * h + "px";
    if (!W.rowH && els.length && !missing) { W.rowH = els[0].getBoundingClientRect().height; W.drawn = ""; queueDraw(); }
  }

  function fetchChunk(c) {
    if (W.pending.has(c)) return;
    W.pending.add(c);
    const w = W, seq = W.seq;
    const q = new URLSearchParams(w.q);
    q.set("offset", c * CHUNK);
    q.set("limit", CHUNK);
    fetch("checks.json?" + q, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (d) {
        w.pending.delete(c);
        if (!d || w !== W || seq !== w.seq) return;
        w.cache.delete(c);
        w.cache.set(c, { rows: d.rows, els: [] });
        if (c === 0 && w.serverOld) { w.server = null; w.serverOld = false; }
        while (w.cache.size > MAX_CHUNKS) w.cache.delete(w.cache.keys().next().value);
        if (d.total !== w.total) { w.total = d.total; setTotal(); }
        w.drawn = "";
        queueDraw();
      })
      .catch(function () { w.pending.delete(c); });
  }

  function setTotal() {
    const t = document.getElementById("total");
    if (t) t.textContent = "(" + W.total + ")";
    const h = document.getElementById("all-h");
    if (h && h.firstChild) h.firstChild.textContent = (W.q.toString() ? "Matching checks " : "All checks ");
  }

  // refetch drops the cached rows and draws again from checks.json (a new
  // filter).
  function refetch() {
    if (!W) return;
    W.seq++;
    W.server = null;
    W.cache.clear();
    W.pending.clear();
    W.drawn = "";
    W.q = params();
    W.total = 0;
    fetchChunk(0); // gives the total
    queueDraw();
  }

  // stale marks the cached rows old (too many changes to follow, or a
  // check removed): the rows in view are fetched again and replace the old
  // ones when they arrive, without a blank in between.
  function stale() {
    if (!W) return;
    for (const c of W.cache.values()) c.old = true;
    if (W.server) W.serverOld = true;
    W.drawn = "";
    queueDraw();
  }

  // --- search and filters: applied as typed, kept in the URL (a link can
  // be shared; the server renders the same first screen from it).
  let typing = 0;
  function initForm() {
    const form = document.getElementById("filter");
    if (!form || !W) return;
    const apply = function () {
      const p = params();
      history.replaceState(null, "", p.toString() ? "?" + p : location.pathname);
      refetch();
      setTotal();
    };
    form.addEventListener("submit", function (e) { e.preventDefault(); apply(); });
    form.addEventListener("input", function () { clearTimeout(typing); typing = setTimeout(apply, 250); });
    form.addEventListener("change", function () { clearTimeout(typing); apply(); });
  }
  // "/" focuses the search box.
  document.addEventListener("keydown", function (e) {
    const t = e.target;
    if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey || (t && (t.isContentEditable || /^(INPUT|SELECT|TEXTAREA)$/.test(t.tagName)))) return;
    const q = document.querySelector("#filter input[name=q]");
    if (q) { e.preventDefault(); q.focus(); }
  });

  // --- live updates.
  function applyRow(r) {
    let inList; // the new element of the row in the list, to cache
    for (const cur of document.querySelectorAll('#main li.ck[data-id="' + r.id + '"]')) {
      const el = rowEl(r);
      for (const a of ["aria-posinset", "aria-setsize"]) if (cur.hasAttribute(a)) el.setAttribute(a, cur.getAttribute(a));
      if (W && cur.parentNode === W.list) inList = el;
      cur.replaceWith(el);
    }
    for (const g of document.querySelectorAll('.gl li[data-id="' + r.id + '"]')) {
      g.className = "s-" + r.s;
      const st = g.querySelector(".st");
      if (st) st.textContent = label(r.s);
    }
    if (!W) return;
    if (W.server) {
      const i = W.server.findIndex(function (e) { return e.dataset.id === r.id; });
      if (i >= 0) W.server[i] = inList || rowEl(r);
    }
    for (const c of W.cache.values()) {
      const k = c.rows.findIndex(function (x) { return x.id === r.id; });
      if (k >= 0) { c.rows[k] = r; c.els[k] = inList; }
    }
    W.drawn = "";
  }

  function applySummary(m) {
    const b = document.getElementById("banner");
    if (b && (b.textContent !== m.banner.text || b.className !== "banner " + m.banner.class)) {
      b.className = "banner " + m.banner.class;
      b.textContent = m.banner.text;
    }
    const c = document.getElementById("counts");
    if (c) c.textContent = m.counts;
    const sec = document.getElementById("attention");
    if (sec) {
      sec.hidden = m.nattn === 0;
      for (const n of sec.querySelectorAll(".nattn")) n.textContent = n.textContent.startsWith("(") ? "(" + m.nattn + ")" : m.nattn;
      const ul = sec.querySelector("ul");
      if (ul) ul.replaceChildren(...m.attention.map(rowEl));
    }
  }

  // reload fetches the page again and swaps its main content: checks were
  // added or removed, or the stream was lost and updates may be missing.
  let reloading = false;
  async function reload() {
    if (reloading) return;
    reloading = true;
    try {
      const res = await fetch(location.href, { headers: { Accept: "text/html" }, cache: "no-store" });
      if (!res.ok) return;
      const doc = new DOMParser().parseFromString(await res.text(), "text/html");
      const fresh = doc.getElementById("main"), cur = document.getElementById("main");
      if (fresh && cur) {
        const y = window.scrollY;
        cur.replaceWith(fresh);
        times(fresh);
        initList();
        initForm();
        window.scrollTo(0, y);
      }
    } catch (e) { /* offline: the next event or reconnect tries again */ }
    finally { reloading = false; }
  }

  function html(s) {
    const t = document.createElement("template");
    t.innerHTML = s;
    return t.content.firstElementChild;
  }

  function connect() {
    if (!window.EventSource || !body.dataset.events) return;
    es = new EventSource(body.dataset.events);
    es.onopen = function () {
      setLive(true);
      if (lostAt) { lostAt = 0; reload(); }
    };
    es.onerror = function () {
      setLive(false);
      if (!lostAt) lostAt = Date.now();
    };
    es.addEventListener("rows", function (e) {
      const m = JSON.parse(e.data);
      if (onlyCheck) { if (m.rows.some(function (r) { return r.id === onlyCheck; })) reload(); return; }
      for (const r of m.rows) applyRow(r);
      queueDraw();
    });
    es.addEventListener("stale", function () { if (!onlyCheck) stale(); });
    es.addEventListener("summary", function (e) { if (!onlyCheck) applySummary(JSON.parse(e.data)); });
    es.addEventListener("remove", function (e) {
      const m = JSON.parse(e.data);
      for (const cur of document.querySelectorAll('#main [data-id="' + m.id + '"]')) cur.remove();
      stale();
    });
    es.addEventListener("flips", function (e) {
      if (onlyCheck) return;
      const m = JSON.parse(e.data);
      const cur = document.querySelector("section.flips");
      const el = html(m.html);
      if (cur && el) { cur.replaceWith(el); times(el); }
    });
    es.addEventListener("reload", reload);
  }

  window.addEventListener("scroll", queueDraw, { passive: true });
  window.addEventListener("resize", function () { if (W) { W.rowH = 0; W.drawn = ""; } queueDraw(); });
  times();
  setInterval(times, 30000);
  initList();
  initForm();
  connect();
})();
