/* Person page: record a verification decision, confirm or reject voice matches. */
"use strict";
(function () {
  const E = window.Earshot;
  const form = document.getElementById("verify-form");
  if (form) {
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const evidence = Array.from(form.querySelectorAll('input[name="evidence"]:checked'), (c) => Number(c.value));
      const r = await E.api("POST", form.dataset.url, { status: form.elements.status.value, reason: form.elements.reason.value, evidence_ids: evidence });
      if (r.ok) { E.toast("Decision recorded.", "ok"); setTimeout(() => location.reload(), 400); }
      else E.toast(E.errorText(r), "error");
    });
  }
  document.querySelectorAll("button.voice-decide").forEach((b) => {
    b.addEventListener("click", async () => {
      const r = await E.api("POST", b.dataset.url, { decision: b.dataset.decision, note: "" });
      if (r.ok) {
        const pill = b.parentElement.querySelector(".pill");
        pill.textContent = r.data.status;
        pill.className = `pill vl-${r.data.status}`;
        E.toast(`Voice match ${r.data.status}.`, "ok");
      } else E.toast(E.errorText(r), "error");
    });
  });
})();
