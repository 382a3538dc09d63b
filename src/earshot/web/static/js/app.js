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
    const m = result.data && result.data.message; // the page's wording, when the API gives one
    if (typeof m === "string") return m;
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

  /* A refusal (leak guard, quote rules, missing confirmation) as text plus, for a
     leak, a table of what was found where. Built with textContent only. */
  function showRefusal(box, result) {
    if (!box) return;
    box.replaceChildren();
    const p = document.createElement("p");
    p.className = "refusal-text";
    p.textContent = errorText(result);
    box.appendChild(p);
    const leaks = (result.data && result.data.leaks) || [];
    if (leaks.length) {
      const head = document.createElement("p");
      head.textContent = `Nothing was written. The leak guard found ${leaks.length} protected term(s):`;
      const table = document.createElement("table");
      table.className = "compact leaks";
      const hr = table.createTHead().insertRow();
      ["Where", "Found", "Category", "Matched as"].forEach((h) => { const th = document.createElement("th"); th.textContent = h; hr.appendChild(th); });
      const body = table.createTBody();
      leaks.slice(0, 50).forEach((l) => {
        const row = body.insertRow();
        [l.location, l.found, l.category, l.kind].forEach((v) => { row.insertCell().textContent = v; });
      });
      const wrap = document.createElement("div");
      wrap.className = "table-wrap";
      wrap.appendChild(table);
      box.append(head, wrap);
    }
    box.hidden = false;
  }

  function filenameFrom(disposition) {
    const m = /filename="([A-Za-z0-9._-]+)"/.exec(disposition || "");
    return m ? m[1] : "earshot-download";
  }

  /* GET a file and save it; a refusal is shown in `box` instead. Busy state on `button`. */
  async function download(url, box, button) {
    if (box) box.hidden = true;
    const label = button ? button.textContent : "";
    if (button) { button.disabled = true; button.textContent = "Preparing…"; }
    try {
      const response = await fetch(url, { credentials: "same-origin" });
      if (!response.ok) {
        let data = null;
        try { data = await response.json(); } catch (e) { data = null; }
        showRefusal(box, { ok: false, status: response.status, data });
        toast("Refused: nothing was written.", "error");
        return false;
      }
      const blob = await response.blob();
      const link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = filenameFrom(response.headers.get("content-disposition"));
      link.hidden = true;
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 60000);
      toast(`Downloaded ${link.download}.`, "ok");
      return true;
    } catch (err) {
      showRefusal(box, { ok: false, status: 0, data: { detail: `Download failed: ${err.message}` } });
      return false;
    } finally {
      if (button) { button.disabled = false; button.textContent = label; }
    }
  }

  window.Earshot = { api, toast, errorText, clock, meta, showRefusal, download };
  // Phone: the case menu folds into one button.
  const navToggle = document.querySelector(".nav-toggle");
  if (navToggle) {
    navToggle.addEventListener("click", () => {
      const nav = document.getElementById(navToggle.getAttribute("aria-controls"));
      const open = navToggle.getAttribute("aria-expanded") !== "true";
      navToggle.setAttribute("aria-expanded", String(open));
      nav.classList.toggle("open", open);
    });
  }
  // Voice proposals and attribution proposals: one decision, then the page again
  // (the attribution and its history change with it).
  document.querySelectorAll("button.decide").forEach((b) => {
    b.addEventListener("click", async () => {
      b.disabled = true;
      const r = await api("POST", b.dataset.url, JSON.parse(b.dataset.body));
      if (r.ok) { toast("Decision recorded.", "ok"); setTimeout(() => location.reload(), 300); }
      else { b.disabled = false; toast(errorText(r), "error"); }
    });
  });
})();
