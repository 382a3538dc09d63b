/* Quote builder: chosen segments -> English and Russian text with a citation. */
"use strict";
(function () {
  const E = window.Earshot;
  const callSelect = document.getElementById("quote-call");
  if (callSelect) callSelect.addEventListener("change", () => callSelect.form.submit());
  const form = document.getElementById("quote-form");
  if (!form) return;
  let last = null;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const ids = Array.from(form.querySelectorAll("input[name=segments]:checked")).map((i) => i.value);
    if (!ids.length) { E.toast("Choose at least one segment.", "error"); return; }
    const qs = ids.map((id) => `segments=${encodeURIComponent(id)}`).join("&");
    const r = await fetch(`${form.dataset.url}?${qs}`, { credentials: "same-origin" });
    const data = await r.json();
    if (!r.ok) { E.toast(data.detail || "Could not build the quote.", "error"); return; }
    last = data;
    document.getElementById("quote-out").hidden = false;
    document.getElementById("quote-en").textContent = data.english;
    document.getElementById("quote-ru").textContent = data.russian;
    document.getElementById("quote-citation").textContent = data.citation;
    const warn = document.getElementById("quote-warnings");
    warn.replaceChildren(...data.warnings.map((w) => { const li = document.createElement("li"); li.textContent = w; return li; }));
  });
  document.getElementById("quote-copy").addEventListener("click", async () => {
    if (!last) return;
    try { await navigator.clipboard.writeText(`${last.english}\n— ${last.citation}`); E.toast("Copied.", "ok"); }
    catch (err) { E.toast("Copy failed: select the text and copy it.", "error"); }
  });
})();
