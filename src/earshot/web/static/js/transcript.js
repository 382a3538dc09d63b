/* Correcting the Russian text of a segment (editors): the line turns into a text box;
   saving sends the version it was based on, so a colleague's newer correction is never
   overwritten unseen (409: both texts shown). Only that segment is re-analysed. */
"use strict";
(function () {
  const E = window.Earshot;
  const dataEl = document.getElementById("player-data");
  if (!dataEl) return;
  const cfg = JSON.parse(dataEl.textContent);
  if (!cfg.can_correct) return;
  const el = (tag, cls, text) => {
    const n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined) n.textContent = text;
    return n;
  };

  async function open(seg) {
    const ru = seg.querySelector(".ru");
    if (seg.querySelector("form.ru-edit")) return;
    const hist = await E.api("GET", `${cfg.translation}${seg.dataset.id}/text/history`);
    if (!hist.ok) { E.toast(E.errorText(hist), "error"); return; }
    const version = hist.data.length ? hist.data[hist.data.length - 1].version : 1;
    const form = el("form", "ru-edit");
    const area = el("textarea", "ru-text");
    area.lang = "ru";
    area.rows = 2;
    area.value = seg.dataset.text;
    area.dataset.version = String(version);
    area.setAttribute("aria-label", "Corrected Russian text");
    const save = el("button", "primary", "Save Russian");
    save.type = "submit";
    const cancel = el("button", "", "Cancel");
    cancel.type = "button";
    const state = el("span", "muted small", `v${version}${hist.data.length ? ` · ${hist.data[hist.data.length - 1].actor}` : " · as transcribed"}`);
    const bar = el("div", "tr-bar");
    bar.append(save, cancel, state);
    form.append(area, bar);
    cancel.addEventListener("click", () => { form.remove(); ru.classList.remove("editing"); });
    form.addEventListener("submit", (e) => { e.preventDefault(); send(seg, area, state); });
    area.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); send(seg, area, state); }
    });
    ru.classList.add("editing");
    ru.append(form);
    area.focus();
  }

  async function send(seg, area, state) {
    state.textContent = "saving and re-analysing…";
    const r = await E.api("PUT", `${cfg.translation}${seg.dataset.id}/text`, { text: area.value, version: parseInt(area.dataset.version, 10) });
    if (r.ok) {
      E.toast(`Saved v${r.data.version}; the segment was analysed again.`, "ok");
      // Re-render the line with its new entities, slang and themes.
      window.location.hash = `seg-${seg.dataset.id}`;
      window.location.reload();
      return;
    }
    if (r.status === 409) {
      const cur = r.data.current || {};
      state.textContent = `conflict: ${cur.actor || "someone"} saved v${cur.version} meanwhile: “${cur.text || ""}”. Edit on top of it and save again.`;
      area.dataset.version = String(cur.version || 1);
      E.toast(E.errorText(r), "error");
      return;
    }
    state.textContent = "not saved";
    E.toast(E.errorText(r), "error");
  }

  document.querySelectorAll("article.seg").forEach((seg) => {
    const ru = seg.querySelector(".ru");
    if (!ru) return;
    const b = el("button", "link-button ru-correct", "Correct");
    b.type = "button";
    b.title = "Correct the Russian text of this line";
    b.addEventListener("click", () => open(seg));
    ru.append(" ", b);
  });
})();
