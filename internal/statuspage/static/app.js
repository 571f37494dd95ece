// Vitals status page: live updates over Server-Sent Events, relative times.
// No framework, no build step. Rows arrive already rendered (and escaped) by
// the server's html/template.
"use strict";
(function () {
  const body = document.body;
  const live = document.getElementById("live");
  const onlyCheck = body.dataset.check || "";
  let es = null, lostAt = 0;

  function setLive(on) {
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

  function counts() {
    const rows = document.querySelectorAll("#checks > li.ck");
    if (!rows.length) return;
    const n = {};
    let failing = 0, failingUp = 0, failingNew = 0;
    for (const r of rows) {
      const s = (r.className.match(/\bs-(\w+)/) || [])[1] || "";
      n[s] = (n[s] || 0) + 1;
      if (r.classList.contains("failing")) {
        failing++;
        if (s === "up" || s === "started") failingUp++;
        else if (s === "new") failingNew++;
      }
    }
    const parts = [rows.length + " checks: " + (n.up || 0) + " up"];
    const names = [["down", "down"], ["grace", "late"], ["started", "running"], ["flapping", "flapping"], ["paused", "paused"], ["new", "new"]];
    for (const [k, label] of names) if (n[k]) parts.push(n[k] + " " + label);
    const c = document.getElementById("counts");
    if (c) c.textContent = parts.join(", ");
    const b = document.getElementById("banner");
    if (b) {
      // The same rules as banner in overview.go.
      let cls = "ok", text = "All checks are up.";
      const up = (n.up || 0) + (n.started || 0);
      if (n.down === 1) { cls = "bad"; text = "1 check is down."; }
      else if (n.down > 1) { cls = "bad"; text = n.down + " checks are down."; }
      else if (failing > 0 || up !== rows.length) {
        const ps = [];
        const part = function (k, what) { if (k > 0) ps.push(k + " " + what); };
        part(up - failingUp, "up");
        part(n.grace || 0, "late");
        part(n.flapping || 0, "flapping");
        part(failing, failing === 1 ? "failing below its threshold" : "failing below their threshold");
        part(n.paused || 0, "paused");
        part((n.new || 0) - failingNew, "new");
        cls = (n.grace || 0) + (n.flapping || 0) + failing > 0 ? "warn" : "none";
        text = ps.join(", ") + ".";
      }
      b.className = "banner " + cls;
      b.textContent = text;
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
      if (fresh && cur) { cur.replaceWith(fresh); times(fresh); }
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
    es.addEventListener("check", function (e) {
      const m = JSON.parse(e.data);
      if (onlyCheck) { if (m.id === onlyCheck) reload(); return; }
      const cur = document.getElementById("c-" + m.id);
      const el = html(m.html);
      if (!cur || !el) return;
      cur.replaceWith(el);
      times(el);
      counts();
    });
    es.addEventListener("remove", function (e) {
      const m = JSON.parse(e.data);
      const cur = document.getElementById("c-" + m.id);
      if (cur) { cur.remove(); counts(); }
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

  times();
  setInterval(times, 30000);
  connect();
})();
