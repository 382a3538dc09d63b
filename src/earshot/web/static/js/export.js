/* Export page: select all, refuse an empty selection. */
"use strict";
(function () {
  const all = document.getElementById("export-all");
  const form = document.getElementById("export-form");
  if (!form) return;
  all.addEventListener("change", () => form.querySelectorAll("input[name=calls]").forEach((c) => { c.checked = all.checked; }));
  form.addEventListener("submit", (e) => {
    if (!form.querySelector("input[name=calls]:checked")) { e.preventDefault(); window.Earshot.toast("Choose at least one call.", "error"); }
  });
})();
