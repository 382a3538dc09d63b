/* The call page's notes and history: threaded comments on each segment (author, time,
   replies) and the translation's saved versions. Comments stay in the case: no export
   carries them. */
"use strict";
(function () {
  const E = window.Earshot;
  const dataEl = document.getElementById("player-data");
  if (!dataEl) return;
  const cfg = JSON.parse(dataEl.textContent);
  const segs = Array.from(document.querySelectorAll("article.seg"));
  if (!segs.length || !cfg.comments) return;
  const el = (tag, cls, text) => {
    const n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined) n.textContent = text;
    return n;
  };
  const when = (iso) => new Date(iso).toLocaleString();
  let all = [];

  function thread(list, parent) {
    const ul = el("ul", "note-thread");
    list.filter((c) => c.parent_id === parent).forEach((c) => {
      const li = el("li", "note");
      li.id = `note-${c.id}`;
      const head = el("p", "note-head");
      head.append(el("b", "", c.author), ` · `, el("time", "muted", when(c.at)));
      li.append(head, el("p", "note-text", c.text));
      if (cfg.can_comment) {
        const reply = el("button", "link-button note-reply", "Reply");
        reply.type = "button";
        reply.addEventListener("click", () => openForm(li, c.segment_id, c.id));
        li.append(reply);
      }
      const sub = thread(list, c.id);
      if (sub.children.length) li.append(sub);
      ul.append(li);
    });
    return ul;
  }

  function openForm(where, segmentId, parentId) {
    const old = where.querySelector(":scope > form.note-form");
    if (old) { old.querySelector("textarea").focus(); return; }
    const form = el("form", "note-form");
    const area = el("textarea");
    area.rows = 2;
    area.maxLength = 4000;
    area.required = true;
    area.setAttribute("aria-label", parentId ? "Your reply" : "Your comment on this segment");
    const send = el("button", "", parentId ? "Reply" : "Comment");
    send.type = "submit";
    form.append(area, send);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const r = await E.api("POST", `${cfg.translation}${segmentId}/comments`, { text: area.value, parent_id: parentId });
      if (!r.ok) { E.toast(E.errorText(r), "error"); return; }
      all.push(r.data);
      render();
      E.toast("Comment saved.", "ok");
    });
    where.append(form);
    area.focus();
  }

  function render() {
    segs.forEach((seg) => {
      const id = parseInt(seg.dataset.id, 10);
      const mine = all.filter((c) => c.segment_id === id);
      let box = seg.querySelector(":scope > details.notes");
      const wasOpen = box ? box.open : mine.length > 0 && location.hash === "#notes";
      if (box) box.remove();
      box = el("details", "notes");
      box.open = wasOpen;
      const summary = el("summary", "", mine.length ? `Notes (${mine.length})` : "Notes");
      box.append(summary);
      if (mine.length) box.append(thread(mine, null));
      if (cfg.can_comment) {
        const add = el("button", "link-button note-add", "Add a comment");
        add.type = "button";
        add.addEventListener("click", () => openForm(box, id, null));
        box.append(add);
      }
      const hist = el("button", "link-button tr-history", "Translation history");
      hist.type = "button";
      hist.addEventListener("click", () => history(box, id));
      box.append(hist);
      seg.append(box);
    });
  }

  async function history(box, segmentId) {
    const r = await E.api("GET", `${cfg.translation}${segmentId}/translation/history`);
    if (!r.ok) { E.toast(E.errorText(r), "error"); return; }
    const old = box.querySelector("ol.history");
    if (old) old.remove();
    const ol = el("ol", "history");
    if (!r.data.length) ol.append(el("li", "muted", "No translation saved yet."));
    r.data.forEach((v) => {
      const li = el("li");
      li.append(el("b", "", `v${v.version} ${v.action}`), ` · ${v.status} · ${v.actor} · `, el("time", "muted", when(v.at)));
      li.append(el("p", "history-text", v.text));
      if (v.note) li.append(el("p", "muted", v.note));
      ol.append(li);
    });
    box.append(ol);
  }

  E.api("GET", cfg.comments).then((r) => {
    if (r.ok) { all = r.data; render(); } else E.toast(E.errorText(r), "error");
  });
})();
