/* Quote builder: pick a span, edit the English (cuts only, shown by …) with a live diff
   against the verbatim translation, save with provenance; download the quote sheet.
   The text being edited is kept as a draft in this browser until it is saved. */
"use strict";
(function () {
  const E = window.Earshot;
  const callSelect = document.getElementById("quote-call");
  if (callSelect) callSelect.addEventListener("change", () => callSelect.form.submit());

  /* -- quote sheet -------------------------------------------------------------- */
  const sheet = document.getElementById("sheet-form");
  if (sheet) {
    sheet.addEventListener("submit", (e) => {
      e.preventDefault();
      const format = sheet.elements.format.value;
      E.download(`${sheet.dataset.url}?format=${encodeURIComponent(format)}`, document.getElementById("sheet-refusal"), document.getElementById("sheet-go"));
    });
  }

  const dataEl = document.getElementById("quote-data");
  const work = document.getElementById("quote-work");
  if (!dataEl || !work) return;
  const cfg = JSON.parse(dataEl.textContent);
  const boxes = Array.from(document.querySelectorAll("#quote-pick input[name=segments]"));
  const text = document.getElementById("quote-text");
  const spanEl = document.getElementById("quote-span");
  const verbatimEl = document.getElementById("quote-verbatim");
  const diffEl = document.getElementById("quote-diff");
  const warnEl = document.getElementById("quote-warnings");
  const refusal = document.getElementById("quote-refusal");
  const refusalText = document.getElementById("quote-refusal-text");
  const state = document.getElementById("quote-state");
  const allowRewrite = document.getElementById("allow-rewrite");
  const allowUnapproved = document.getElementById("allow-unapproved");
  let span = null; // [first, last]
  let verbatim = "";
  let dirty = false;
  let timer = null;
  let seq = 0;

  function chosenSpan() {
    const on = boxes.filter((b) => b.checked).map((b) => parseInt(b.value, 10));
    if (!on.length) return null;
    return [Math.min(...on), Math.max(...on)];
  }

  function markSpan(s) {
    boxes.forEach((b) => {
      const pos = parseInt(b.value, 10);
      const inside = s !== null && pos >= s[0] && pos <= s[1];
      b.checked = inside;
      b.closest("li").classList.toggle("chosen", inside);
    });
  }

  function saveDraft() {
    if (!span) return;
    localStorage.setItem(cfg.draft_key, JSON.stringify({ first: span[0], last: span[1], text: text.value, at: Date.now() }));
  }

  function clearDraft() { localStorage.removeItem(cfg.draft_key); dirty = false; }

  function renderDiff(ops) {
    diffEl.replaceChildren();
    ops.forEach((op) => {
      const add = (tag, value) => {
        if (!value) return;
        const el = document.createElement(tag);
        el.textContent = value;
        diffEl.append(el, " ");
      };
      if (op.op === "equal") add("span", op.verbatim);
      else if (op.op === "cut") { add("del", op.verbatim); if (op.edited) add("span", op.edited); }
      else if (op.op === "added") add("ins", op.edited);
      else { add("del", op.verbatim); add("ins", op.edited); }
    });
  }

  function renderWarnings(d) {
    const items = [];
    if (d.unapproved.length) items.push(`Translation of segment(s) ${d.unapproved.join(", ")} is not approved: an editor should approve it first (or the quote is marked UNAPPROVED).`);
    if (d.added.length) items.push(`Words not in the verbatim translation: ${d.added.slice(0, 12).join(", ")} — a quote may only cut.`);
    if (d.unmarked_cuts.length) items.push(`Cut inside the quote without “…”: ${d.unmarked_cuts.slice(0, 5).join("; ")}.`);
    warnEl.replaceChildren(...items.map((w) => { const li = document.createElement("li"); li.textContent = w; return li; }));
  }

  function hideRefusal() {
    refusal.hidden = true;
    document.getElementById("override-rewrite").hidden = !allowRewrite.checked;
    document.getElementById("override-unapproved").hidden = !allowUnapproved.checked;
  }

  async function check(useVerbatim) {
    if (!span) return;
    const mine = ++seq;
    const r = await E.api("POST", cfg.check, {
      call_id: cfg.call, first: span[0], last: span[1], text: useVerbatim ? null : text.value,
    });
    if (mine !== seq) return; // a newer check is under way
    if (!r.ok) {
      work.hidden = false;
      refusalText.textContent = E.errorText(r);
      refusal.hidden = false;
      diffEl.replaceChildren();
      warnEl.replaceChildren();
      return;
    }
    const d = r.data;
    verbatim = d.verbatim;
    verbatimEl.textContent = d.verbatim;
    spanEl.textContent = `Call ${d.call_id}, ${d.start_hms}–${d.end_hms}, segment${d.first === d.last ? ` ${d.first}` : `s ${d.first}–${d.last}`}`;
    if (useVerbatim) text.value = d.verbatim;
    else dirty = text.value.trim() !== d.verbatim.trim();
    work.hidden = false;
    renderDiff(d.diff);
    renderWarnings(d);
    if (!refusal.hidden && refusal.dataset.reason === "invalid") hideRefusal();
  }

  function spanChanged() {
    const next = chosenSpan();
    markSpan(next);
    span = next;
    if (!span) { work.hidden = true; spanEl.textContent = "Choose segments first."; return; }
    hideRefusal();
    // An edited text is never thrown away: it stays and the diff shows how it now differs.
    check(!dirty);
    if (dirty) saveDraft();
  }
  boxes.forEach((b) => b.addEventListener("change", spanChanged));

  text.addEventListener("input", () => {
    dirty = text.value.trim() !== verbatim.trim();
    state.textContent = dirty ? "unsaved (draft kept in this browser)" : "";
    saveDraft();
    clearTimeout(timer);
    timer = setTimeout(() => check(false), 250);
  });
  document.getElementById("quote-ellipsis").addEventListener("click", () => {
    const at = text.selectionStart;
    const end = text.selectionEnd;
    text.setRangeText(" … ", at, end, "end");
    text.focus();
    text.dispatchEvent(new Event("input"));
  });
  document.getElementById("quote-reset").addEventListener("click", () => {
    text.value = verbatim;
    text.dispatchEvent(new Event("input"));
  });

  document.getElementById("quote-save").addEventListener("click", async () => {
    if (!span) return;
    state.textContent = "saving…";
    const r = await E.api("POST", cfg.save, {
      call_id: cfg.call, first: span[0], last: span[1], text: text.value,
      allow_rewrite: allowRewrite.checked, allow_unapproved: allowUnapproved.checked,
    });
    if (r.ok) {
      clearDraft();
      state.textContent = `saved as quote ${r.data.id}`;
      E.toast(`Saved quote ${r.data.id}.`, "ok");
      // Reload (a hash change alone would not) to list it, scrolled to the new row.
      window.location.hash = `quote-${r.data.id}`;
      window.location.reload();
      return;
    }
    state.textContent = "not saved";
    const reason = (r.data && r.data.reason) || "invalid";
    refusal.dataset.reason = reason;
    refusalText.textContent = E.errorText(r);
    if (reason === "rewrite" || reason === "unmarked_cut") document.getElementById("override-rewrite").hidden = false;
    if (reason === "unapproved") document.getElementById("override-unapproved").hidden = false;
    refusal.hidden = false;
    E.toast("Quote not saved; see why below.", "error");
  });

  window.addEventListener("beforeunload", (e) => {
    if (dirty) { e.preventDefault(); e.returnValue = ""; }
  });

  // Restore an unsaved draft of this call's quote.
  const raw = localStorage.getItem(cfg.draft_key);
  if (raw) {
    try {
      const draft = JSON.parse(raw);
      span = [draft.first, draft.last];
      markSpan(span);
      text.value = draft.text;
      dirty = true;
      state.textContent = `unsaved draft from ${new Date(draft.at).toLocaleString()}`;
      check(false);
      E.toast("Restored your unsaved quote from this browser.", "info");
    } catch (err) { localStorage.removeItem(cfg.draft_key); }
  }
})();
