/* Export page: choose calls and a format, download the redacted export (or, for an
   editor who confirms it, an unredacted one); refusals are shown, not downloaded.
   Pseudonyms: an editor saves an editorial one per person. */
"use strict";
(function () {
  const E = window.Earshot;
  const form = document.getElementById("export-form");
  if (form) {
    const all = document.getElementById("export-all");
    const go = document.getElementById("export-go");
    const unredacted = document.getElementById("export-unredacted");
    const confirm = document.getElementById("export-confirm");
    all.addEventListener("change", () => form.querySelectorAll("input[name=calls]").forEach((c) => { c.checked = all.checked; }));
    if (unredacted) {
      unredacted.addEventListener("change", () => {
        confirm.disabled = !unredacted.checked;
        if (!unredacted.checked) confirm.checked = false;
        go.textContent = unredacted.checked ? "Download UNREDACTED export" : "Download redacted export";
        go.classList.toggle("danger", unredacted.checked);
      });
    }
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const box = document.getElementById("export-refusal");
      const calls = Array.from(form.querySelectorAll("input[name=calls]:checked")).map((c) => c.value);
      if (!calls.length) { E.toast("Choose at least one call.", "error"); return; }
      const params = new URLSearchParams();
      calls.forEach((c) => params.append("calls", c));
      params.set("format", form.elements.format.value);
      let url = form.dataset.redacted;
      if (unredacted && unredacted.checked) {
        if (!confirm.checked) {
          E.showRefusal(box, { status: 422, data: { detail: "Tick the confirmation: an unredacted export identifies people." } });
          return;
        }
        params.set("confirm", "true");
        url = form.dataset.identifying;
      }
      E.download(`${url}?${params.toString()}`, box, go);
    });
  }

  document.querySelectorAll("form.pseudonym-form").forEach((f) => {
    f.addEventListener("submit", async (e) => {
      e.preventDefault();
      const value = f.elements.pseudonym.value.trim();
      if (!value) return;
      const r = await E.api("PUT", f.dataset.url, { pseudonym: value });
      if (r.ok) {
        f.elements.pseudonym.value = r.data.pseudonym;
        const kind = f.closest("tr").querySelector(".ps-kind");
        if (kind) kind.textContent = `${r.data.kind} · ${r.data.set_by}`;
        E.toast(`Pseudonym set: ${r.data.pseudonym}.`, "ok");
      } else E.toast(E.errorText(r), "error");
    });
  });
})();
