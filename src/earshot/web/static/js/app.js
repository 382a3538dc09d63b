/* Earshot: shared page code (CSRF on every change, JSON calls, notices). No inline JS anywhere. */
"use strict";
(function () {
  const meta = (name) => {
    const el = document.querySelector(`meta[name="${name}"]`);
    return el ? el.getAttribute("content") : "";
  };
  const csrf = meta("csrf-token");

  document.addEventListener("htmx:configRequest", (event) => {
    event.detail.headers["X-CSRF-Token"] = csrf;
  });

  let toastTimer = null;
  function toast(message, kind) {
    const el = document.getElementById("toast");
    if (!el) return;
    el.textContent = message;
    el.className = kind || "info";
    el.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { el.hidden = true; }, kind === "error" ? 9000 : 3000);
  }

  async function api(method, url, body) {
    const response = await fetch(url, {
      method,
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, Accept: "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (response.status === 401) {
      toast("Your session ended; log in again (your unsaved text is kept in this browser).", "error");
    }
    return { ok: response.ok, status: response.status, data };
  }

  function errorText(result) {
    const d = result.data && result.data.detail;
    if (typeof d === "string") return d;
    if (Array.isArray(d)) return d.map((x) => x.msg).join("; ");
    return `request failed (${result.status})`;
  }

  function clock(seconds) {
    if (!isFinite(seconds)) return "0:00";
    const s = Math.max(0, Math.floor(seconds));
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  }

  window.Earshot = { api, toast, errorText, clock, meta };
})();
