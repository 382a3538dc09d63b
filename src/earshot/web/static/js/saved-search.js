/* Search page: keep the current query under a name, remove a saved one. */
"use strict";
(function () {
  const E = window.Earshot;
  const form = document.getElementById("save-search");
  if (form) {
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const r = await E.api("POST", form.dataset.url, { name: form.elements.name.value, query: form.elements.query.value });
      if (r.ok) { E.toast(`Saved as “${r.data.name}”.`, "ok"); setTimeout(() => location.reload(), 300); }
      else E.toast(E.errorText(r), "error");
    });
  }
  document.querySelectorAll("button.saved-remove").forEach((b) => {
    b.addEventListener("click", async () => {
      const r = await E.api("DELETE", b.dataset.url);
      if (r.ok) b.closest("li").remove();
      else E.toast(E.errorText(r), "error");
    });
  });
})();
