/* Call page: export a redacted clip (audio + provenance JSON in a zip) of a chosen
   stretch, with bleep or silence and optional voice disguise. */
"use strict";
(function () {
  const E = window.Earshot;
  const form = document.getElementById("clip-form");
  if (!form) return;
  const cfg = JSON.parse(document.getElementById("player-data").textContent);
  document.getElementById("clip-segment").addEventListener("click", () => {
    const seg = document.querySelector("article.seg.playing");
    if (!seg || seg.dataset.start === "") { E.toast("Play or pick a segment first (j/k or its time button).", "error"); return; }
    form.elements.start.value = parseFloat(seg.dataset.start).toFixed(1);
    form.elements.end.value = parseFloat(seg.dataset.end || seg.dataset.start).toFixed(1);
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const start = parseFloat(form.elements.start.value);
    const end = parseFloat(form.elements.end.value);
    const box = document.getElementById("clip-refusal");
    if (!(end > start)) {
      E.showRefusal(box, { status: 422, data: { detail: "The clip must end after it starts." } });
      return;
    }
    const params = new URLSearchParams({
      start: String(start), end: String(end), mode: form.elements.mode.value,
      audio: form.elements.audio.value, disguise: form.elements.disguise.checked ? "true" : "false",
    });
    E.download(`${cfg.clip}?${params.toString()}`, box, document.getElementById("clip-go"));
  });
})();
