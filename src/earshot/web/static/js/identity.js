/* Identity by hand (person and call pages): link and unlink call sides, merge and split
   persons, add evidence (the file is sent as the request body, streamed by the browser).
   Every change reloads the page, whose history then shows it. */
"use strict";
(function () {
  const E = window.Earshot;
  // The call page's block stays open across the reload that shows a decision.
  const sides = document.getElementById("call-sides");
  const KEEP = "earshot:call-sides-open";
  if (sides && sessionStorage.getItem(KEEP)) { sides.open = true; sessionStorage.removeItem(KEEP); }
  const done = (message) => {
    if (sides && sides.open) sessionStorage.setItem(KEEP, "1");
    E.toast(message, "ok");
    setTimeout(() => location.reload(), 300);
  };
  const failed = (r, button) => { if (button) button.disabled = false; E.toast(E.errorText(r), "error"); };
  const submitting = (form) => { const b = form.querySelector("button[type=submit]"); if (b) b.disabled = true; return b; };
  const text = (form, name) => (form.elements[name] ? form.elements[name].value.trim() : "");

  // Call page: one form per side; person page: link a call side to this person.
  document.querySelectorAll("form.side-link").forEach((form) => {
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const chosen = text(form, "person_id");
      const body = chosen ? { person_id: Number(chosen), note: text(form, "note") || null }
        : { new_name: text(form, "new_name"), new_role: text(form, "new_role") || "other", note: text(form, "note") || null };
      const button = submitting(form);
      const r = await E.api("POST", form.dataset.url, body);
      if (r.ok) done(`Side ${r.data.party} is now ${r.data.person}.`); else failed(r, button);
    });
  });
  document.querySelectorAll("form.side-verify-form").forEach((form) => {
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const evidence = Array.from(form.querySelectorAll('input[name="evidence"]:checked'), (c) => Number(c.value));
      const button = submitting(form);
      const r = await E.api("POST", form.dataset.url, { status: text(form, "status"), reason: text(form, "reason"), evidence_ids: evidence });
      if (r.ok) done("Decision recorded."); else failed(r, button);
    });
  });
  const linkForm = document.getElementById("link-form");
  if (linkForm) {
    linkForm.addEventListener("submit", async (e) => {
      e.preventDefault();
      const url = `${linkForm.dataset.url}${Number(text(linkForm, "call"))}/sides/${text(linkForm, "party")}/person`;
      const button = submitting(linkForm);
      const r = await E.api("POST", url, { person_id: Number(linkForm.dataset.person), note: text(linkForm, "note") || null });
      if (r.ok) done(`Call ${r.data.call_id} side ${r.data.party} linked.`); else failed(r, button);
    });
  }
  document.querySelectorAll("button.unlink").forEach((b) => {
    b.addEventListener("click", async () => {
      b.disabled = true;
      const r = await E.api("POST", b.dataset.url, { person_id: Number(b.dataset.person) });
      if (r.ok) done(`Call ${r.data.call_id} side ${r.data.party} unlinked.`); else failed(r, b);
    });
  });

  const split = document.getElementById("split-form");
  if (split) {
    split.addEventListener("submit", async (e) => {
      e.preventDefault();
      const sides = Array.from(document.querySelectorAll("input.split-pick:checked"), (c) => {
        const [call, party] = c.value.split(":");
        return { call_id: Number(call), party };
      });
      const button = submitting(split);
      const r = await E.api("POST", split.dataset.url, { sides, name: text(split, "name"), reason: text(split, "reason") || null });
      if (r.ok) done(`Moved ${r.data.sides.length} call side(s) to ${r.data.new_name}.`); else failed(r, button);
    });
  }
  const merge = document.getElementById("merge-form");
  if (merge) {
    merge.addEventListener("submit", async (e) => {
      e.preventDefault();
      const button = submitting(merge);
      const r = await E.api("POST", merge.dataset.url, { other_id: Number(text(merge, "other_id")), reason: text(merge, "reason") || null });
      if (r.ok) done(`Merged #${r.data.merged_id} into #${r.data.kept_id}.`); else failed(r, button);
    });
  }
  const unmerge = document.getElementById("unmerge");
  if (unmerge) {
    unmerge.addEventListener("click", async () => {
      unmerge.disabled = true;
      const r = await E.api("POST", unmerge.dataset.url, { merge_id: Number(unmerge.dataset.merge) });
      if (r.ok) done(`Merge #${r.data.merge_id} undone.`); else failed(r, unmerge);
    });
  }

  // Evidence: metadata in the query, the file itself as the body (never read into a string).
  document.querySelectorAll("form.evidence-form").forEach((evidence) => {
    evidence.addEventListener("submit", async (e) => {
      e.preventDefault();
      const file = evidence.elements.file.files[0];
      const query = new URLSearchParams({ kind: text(evidence, "kind"), summary: text(evidence, "summary") });
      if (text(evidence, "url")) query.set("url", text(evidence, "url"));
      if (file) query.set("name", file.name);
      const button = submitting(evidence);
      const bar = evidence.querySelector("progress");
      bar.hidden = false; bar.removeAttribute("value");
      let response;
      try {
        response = await fetch(`${evidence.dataset.url}?${query}`, {
          method: "POST",
          headers: { "Content-Type": "application/octet-stream", "X-CSRF-Token": E.meta("csrf-token"), Accept: "application/json" },
          body: file || new Blob([]),
          credentials: "same-origin",
        });
      } catch (err) {
        bar.hidden = true;
        failed({ data: { detail: `Upload failed: ${err.message}` } }, button);
        return;
      }
      let data = null;
      try { data = await response.json(); } catch (err) { data = null; }
      bar.hidden = true;
      if (response.ok) done(`Evidence #${data.id} added.`); else failed({ ok: false, status: response.status, data }, button);
    });
  });
})();
