/* Intake: drop files, folders and archives plus a call-record table; each file is sent as
   the raw body of its own PUT (the server streams it to disk); then the preview of how the
   records are read and matched; then "Take in" queues the background job. */
"use strict";
(function () {
  const E = window.Earshot;
  const data = JSON.parse(document.getElementById("intake-data").textContent);
  const TABLES = [".csv", ".tsv", ".xlsx", ".xlsm", ".xls", ".ods"];
  let chosen = []; // {file, path, records}
  let upload = null;
  const $ = (id) => document.getElementById(id);

  const isTable = (name) => TABLES.some((s) => name.toLowerCase().endsWith(s));
  const size = (n) => (n > 1048576 ? `${(n / 1048576).toFixed(1)} MB` : `${Math.max(1, Math.round(n / 1024))} kB`);

  function add(file, path, asRecords) {
    const records = asRecords || (isTable(file.name) && !chosen.some((c) => c.records));
    if (records) chosen = chosen.filter((c) => !c.records);
    chosen.push({ file, path: path || file.name, records, sent: "" });
    show();
  }

  function show() {
    const body = $("chosen").querySelector("tbody");
    body.replaceChildren();
    chosen.forEach((c) => {
      const tr = document.createElement("tr");
      [c.path, size(c.file.size), c.records ? "call records" : "material", c.sent].forEach((text) => {
        const td = document.createElement("td");
        td.textContent = text;
        tr.appendChild(td);
      });
      if (c.file.size > data.limit) tr.className = "error";
      body.appendChild(tr);
    });
    $("chosen").hidden = chosen.length === 0;
    const records = chosen.find((c) => c.records);
    const files = chosen.filter((c) => !c.records).length;
    $("chosen-summary").textContent = chosen.length
      ? `${files} file(s)${records ? ` and the call records ${records.path}` : ", no call-record table"}`
      : "Nothing chosen yet.";
    $("send").disabled = chosen.length === 0 || upload !== null;
  }

  /* A dropped folder: walk its entries (DataTransfer items -> FileSystemEntry). */
  function walk(entry, prefix) {
    return new Promise((resolve) => {
      if (entry.isFile) {
        entry.file((file) => { add(file, prefix + file.name, false); resolve(); }, () => resolve());
      } else if (entry.isDirectory) {
        const reader = entry.createReader();
        const all = [];
        const more = () => reader.readEntries((batch) => {
          if (!batch.length) {
            Promise.all(all.map((e) => walk(e, `${prefix}${entry.name}/`))).then(() => resolve());
          } else { all.push(...batch); more(); }
        }, () => resolve());
        more();
      } else resolve();
    });
  }

  const drop = $("drop");
  ["dragenter", "dragover"].forEach((name) => drop.addEventListener(name, (event) => {
    event.preventDefault();
    drop.classList.add("over");
  }));
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", async (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    const dt = event.dataTransfer;
    const entries = Array.from(dt.items || []).map((i) => (i.webkitGetAsEntry ? i.webkitGetAsEntry() : null));
    if (entries.length && entries.every((e) => e)) {
      await Promise.all(entries.map((e) => walk(e, "")));
    } else {
      Array.from(dt.files).forEach((f) => add(f, f.name, false));
    }
  });
  $("pick-files").addEventListener("change", (e) => Array.from(e.target.files).forEach((f) => add(f, f.name, false)));
  $("pick-folder").addEventListener("change", (e) => Array.from(e.target.files).forEach((f) => add(f, f.webkitRelativePath || f.name, false)));
  $("pick-records").addEventListener("change", (e) => { if (e.target.files[0]) add(e.target.files[0], e.target.files[0].name, true); });
  $("clear").addEventListener("click", async () => {
    if (upload && !upload.started) await E.api("DELETE", `${data.api}/uploads/${upload.id}`);
    chosen = []; upload = null; $("preview").hidden = true; show();
  });

  async function send(c) {
    const url = `${data.api}/uploads/${upload.id}/files?path=${encodeURIComponent(c.path)}&records=${c.records}`;
    const response = await fetch(url, {
      method: "PUT", body: c.file, credentials: "same-origin",
      headers: { "X-CSRF-Token": E.meta("csrf-token"), "Content-Type": "application/octet-stream" },
    });
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    return { ok: response.ok, status: response.status, data: body };
  }

  $("send").addEventListener("click", async () => {
    $("send").disabled = true;
    const opened = await E.api("POST", `${data.api}/uploads`);
    if (!opened.ok) { E.toast(E.errorText(opened), "error"); $("send").disabled = false; return; }
    upload = opened.data;
    for (const c of chosen) {
      c.sent = "sending…"; show();
      const result = await send(c);
      c.sent = result.ok ? "sent" : E.errorText(result);
      show();
      if (!result.ok) { E.toast(`${c.path}: ${E.errorText(result)}`, "error"); return; }
    }
    await preview();
  });

  function cells(tr, values) {
    values.forEach((v) => { const td = document.createElement("td"); td.textContent = v == null ? "" : String(v); tr.appendChild(td); });
  }

  async function preview() {
    const result = await E.api("GET", `${data.api}/uploads/${upload.id}/preview`);
    if (!result.ok) { E.toast(E.errorText(result), "error"); return; }
    const p = result.data;
    $("preview").hidden = false;
    const errors = $("preview-errors");
    errors.replaceChildren();
    p.errors.forEach((m) => { const el = document.createElement("p"); el.className = "error"; el.textContent = m; errors.appendChild(el); });
    $("records-name").textContent = p.records_file || "(no call-record table)";
    $("records-read").textContent = p.records_file ? `Read as ${p.encoding || "?"}; times without a zone taken as ${p.timezone || "?"} (${p.naive_times} such).` : "";
    const columns = $("columns").querySelector("tbody");
    columns.replaceChildren();
    p.columns.forEach((c) => { const tr = document.createElement("tr"); cells(tr, [c.column, c.field, c.basis]); columns.appendChild(tr); });
    const rows = $("rows").querySelector("tbody");
    rows.replaceChildren();
    p.rows.forEach((r) => { const tr = document.createElement("tr"); cells(tr, [r.row, r.started_at, r.caller, r.callee, r.file || "—", r.basis]); rows.appendChild(tr); });
    const n = p.counts;
    $("match-counts").textContent = `${n.rows} row(s): ${n.rows_with_recording} with a recording, ${n.rows_without_recording} become calls without audio; ${n.files} recording(s), ${n.files_without_record} without a row.`;
    const unmatched = $("unmatched");
    unmatched.replaceChildren();
    p.files.filter((f) => f.record_row == null).forEach((f) => { const li = document.createElement("li"); li.textContent = f.file; unmatched.appendChild(li); });
    const problems = $("preview-problems");
    problems.replaceChildren();
    p.problems.forEach((m) => { const el = document.createElement("p"); el.className = "notice"; el.textContent = m; problems.appendChild(el); });
    $("preview").scrollIntoView({ block: "start" });
  }

  $("start").addEventListener("click", async () => {
    $("start").disabled = true;
    const result = await E.api("POST", `${data.api}/uploads/${upload.id}/start`, { process: $("then-process").checked });
    if (!result.ok) { E.toast(E.errorText(result), "error"); $("start").disabled = false; return; }
    upload.started = true;
    $("started").hidden = false;
    $("started-link").textContent = String(result.data.id);
    $("started-link").href = `${data.jobs}#job-${result.data.id}`;
  });
  show();
})();
