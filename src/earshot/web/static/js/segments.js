/* The transcript's layout on the call page (editors): split a line before a word,
   merge it with the next, move its start/end (drag the handles on the waveform, or
   Alt+[ / Alt+] and Alt+Shift+[ / Alt+Shift+] by 0.1 s), change its party (Alt+P).
   The selected line (the one playing or last clicked) is shaded on a canvas over the
   waveform. Every change is a new layout version, checked by the server (409 when a
   colleague changed the call meanwhile); a split or merge reloads the page, since the
   lines' analysis is new. */
"use strict";
(function () {
  const E = window.Earshot;
  const dataEl = document.getElementById("player-data");
  if (!dataEl) return;
  const cfg = JSON.parse(dataEl.textContent);
  const wrap = document.getElementById("wave-wrap");
  if (!wrap) return;
  const base = cfg.translation; // …/calls/{call}/segments/
  const canEdit = !!cfg.can_correct;
  let version = cfg.layout_version || 0;
  let selected = null;
  let queue = Promise.resolve();
  const STEP = 0.1;

  const el = (tag, cls, text) => {
    const n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined) n.textContent = text;
    return n;
  };
  const fmt = (t) => `${Math.floor(t / 60)}:${(t % 60).toFixed(1).padStart(4, "0")}`;
  const player = () => window.earshotPlayer;
  const duration = () => (player() ? player().getDuration() : 0);
  const times = (seg) => [parseFloat(seg.dataset.start), parseFloat(seg.dataset.end || seg.dataset.start)];
  const timedSeg = (seg) => seg && seg.dataset.start !== "";

  /* -- the canvas over the waveform: every line's bounds, the selected one shaded ---- */
  const canvas = el("canvas", "seg-canvas");
  canvas.setAttribute("aria-hidden", "true");
  wrap.append(canvas);
  const handles = {};
  function draw() {
    const d = duration();
    const w = wrap.clientWidth;
    const h = wrap.clientHeight;
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.round(w * ratio);
    canvas.height = Math.round(h * ratio);
    canvas.style.width = `${w}px`;
    canvas.style.height = `${h}px`;
    const g = canvas.getContext("2d");
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, w, h);
    if (!d) return;
    g.fillStyle = "rgba(47, 95, 168, 0.35)";
    document.querySelectorAll("article.seg").forEach((seg) => {
      if (!timedSeg(seg)) return;
      g.fillRect(Math.round((times(seg)[0] / d) * w), h - 4, 1, 4);
    });
    if (timedSeg(selected)) {
      const [s, e] = times(selected);
      g.fillStyle = "rgba(255, 200, 60, 0.28)";
      g.fillRect((s / d) * w, 0, ((e - s) / d) * w, h);
    }
    for (const which of ["start", "end"]) {
      const handle = handles[which];
      if (!handle) continue;
      handle.hidden = !timedSeg(selected);
      if (handle.hidden) continue;
      const t = times(selected)[which === "start" ? 0 : 1];
      handle.style.left = `${(t / d) * 100}%`;
      handle.setAttribute("aria-valuenow", t.toFixed(2));
      handle.setAttribute("aria-valuetext", fmt(t));
      handle.setAttribute("aria-valuemax", d.toFixed(2));
    }
  }
  function select(seg) {
    if (!seg || seg === selected) return;
    selected = seg;
    draw();
  }
  document.addEventListener("earshot:segment", (e) => select(e.detail));
  window.addEventListener("resize", draw);

  /* -- sending a change (one at a time, so each is based on the version before) ---- */
  function send(method, url, body, after) {
    queue = queue.then(async () => {
      const payload = typeof body === "function" ? body() : body; // read when its turn comes
      if (payload === null) return;
      const r = await E.api(method, url, { ...payload, version });
      if (r.ok) {
        version = r.data.version;
        after(r.data);
        return;
      }
      if (r.status === 409) {
        E.toast(`${E.errorText(r)} (reloading)`, "error");
        setTimeout(() => window.location.reload(), 1500);
        return;
      }
      E.toast(E.errorText(r), "error");
      draw();
    }).catch((err) => E.toast(`Not saved: ${err && err.message ? err.message : err}`, "error"));
    return queue;
  }
  function reloadAt(id) {
    window.location.hash = `seg-${id}`;
    window.location.reload();
  }
  function applyTimes(seg, data) {
    const now = data.after.segments[0];
    seg.dataset.start = String(now.start);
    seg.dataset.end = String(now.end);
    const seek = seg.querySelector("button.seek");
    if (seek) seek.textContent = E.clock(now.start);
    if (window.earshotRedrawLanes) window.earshotRedrawLanes();
    draw();
    E.toast(`Moved to ${fmt(now.start)}–${fmt(now.end)} (layout v${data.version}).`, "ok");
  }
  function move(seg, start, end) {
    if (!timedSeg(seg)) return Promise.resolve();
    return send("PUT", `${base}${seg.dataset.id}/bounds`, { start, end }, (data) => applyTimes(seg, data));
  }
  /* Each nudge starts from the times the one before it saved (keys repeat fast). */
  function nudge(seg, which, delta) {
    if (!timedSeg(seg)) return;
    const round = (t) => Math.round(t * 100) / 100;
    send("PUT", `${base}${seg.dataset.id}/bounds`, () => {
      const [s, e] = times(seg);
      if (which === "start") return { start: round(Math.max(0, s + delta)), end: null };
      return { start: null, end: round(Math.min(duration() || e + delta, e + delta)) };
    }, (data) => applyTimes(seg, data));
  }
  function split(seg, word, at) {
    return send("POST", `${base}${seg.dataset.id}/split`, { word, at }, (data) => {
      E.toast(`Split (layout v${data.version}); both lines were analysed again.`, "ok");
      reloadAt(data.other_segment_id);
    });
  }
  function merge(seg) {
    return send("POST", `${base}${seg.dataset.id}/merge`, {}, (data) => {
      E.toast(`Merged (layout v${data.version}).`, "ok");
      reloadAt(data.segment_id);
    });
  }
  function nextParty(seg) {
    const parties = cfg.parties || ["A", "B"];
    const now = seg.dataset.party || "";
    return parties[(parties.indexOf(now) + 1) % parties.length];
  }
  function setParty(seg, party) {
    return send("PUT", `${base}${seg.dataset.id}/party`, { party }, (data) => {
      const now = data.after.segments[0];
      seg.dataset.party = now.party;
      seg.dataset.speaker = now.speaker_label || now.party;
      const sp = seg.querySelector(".speaker");
      if (sp) { sp.textContent = seg.dataset.speaker; sp.dataset.speaker = seg.dataset.speaker; }
      const b = seg.querySelector("button.seg-party");
      if (b) b.textContent = `Party ${now.party} → ${nextParty(seg)}`;
      if (window.earshotRedrawLanes) window.earshotRedrawLanes();
      E.toast(`Now party ${now.party} (layout v${data.version}).`, "ok");
    });
  }
  /* The word nearest to second `t` of the segment, by its share of the characters. */
  function wordAt(seg, t) {
    const words = seg.dataset.text.split(/\s+/).filter(Boolean);
    const [s, e] = times(seg);
    const share = Math.min(1, Math.max(0, (t - s) / Math.max(0.01, e - s)));
    const target = share * seg.dataset.text.length;
    let best = 1;
    let pos = 0;
    let bestGap = Infinity;
    words.forEach((w, i) => {
      if (i > 0 && Math.abs(pos - target) < bestGap) { bestGap = Math.abs(pos - target); best = i; }
      pos += w.length + 1;
    });
    return Math.min(words.length - 1, Math.max(1, best));
  }

  /* On a phone the box being typed in takes the screen under the player (app.css);
     bring its top just under the player once it has grown. */
  document.addEventListener("focusin", (e) => {
    const box = e.target;
    if (!box || !box.matches || !box.matches(".seg textarea.tr-text, .seg textarea.ru-text")) return;
    if (!window.matchMedia("(max-width: 600px)").matches) return;
    requestAnimationFrame(() => box.scrollIntoView({ block: "start" }));
  });

  if (!canEdit) { wait(); return; }

  /* -- drag handles for the selected line's start and end ------------------------- */
  for (const which of ["start", "end"]) {
    const h = el("div", `seg-handle seg-handle-${which}`);
    h.tabIndex = 0;
    h.hidden = true;
    h.setAttribute("role", "slider");
    h.setAttribute("aria-label", which === "start" ? "Start of the selected line" : "End of the selected line");
    h.setAttribute("aria-valuemin", "0");
    h.title = `Drag to move the ${which} of the selected line (Alt+${which === "start" ? "" : "Shift+"}[ / ])`;
    wrap.append(h);
    handles[which] = h;
    let dragging = false;
    h.addEventListener("pointerdown", (e) => {
      if (!selected) return;
      e.preventDefault();
      e.stopPropagation();
      dragging = true;
      h.setPointerCapture(e.pointerId);
      h.classList.add("dragging");
    });
    h.addEventListener("pointermove", (e) => {
      if (!dragging) return;
      e.preventDefault();
      const rect = wrap.getBoundingClientRect();
      const t = Math.min(duration(), Math.max(0, ((e.clientX - rect.left) / rect.width) * duration()));
      selected.dataset[which] = String(Math.round(t * 100) / 100);
      draw();
    });
    const drop = (e) => {
      if (!dragging) return;
      dragging = false;
      h.classList.remove("dragging");
      h.releasePointerCapture(e.pointerId);
      const seg = selected;
      const t = parseFloat(seg.dataset[which]);
      move(seg, which === "start" ? t : null, which === "end" ? t : null);
    };
    h.addEventListener("pointerup", drop);
    h.addEventListener("pointercancel", drop);
    h.addEventListener("click", (e) => e.stopPropagation());
    h.addEventListener("keydown", (e) => {
      if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
      e.preventDefault();
      e.stopPropagation();
      if (selected) nudge(selected, which, e.key === "ArrowLeft" ? -STEP : STEP);
    });
  }

  /* -- tools under each line ------------------------------------------------------ */
  function openSplit(seg) {
    const ru = seg.querySelector(".ru");
    if (ru.querySelector(".split-pick")) return;
    const words = seg.dataset.text.split(/\s+/).filter(Boolean);
    if (words.length < 2) { E.toast("A line of one word cannot be split.", "error"); return; }
    const box = el("div", "split-pick");
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", "Split before which word");
    box.append(el("span", "muted small", "Split before: "));
    words.forEach((w, i) => {
      if (i === 0) { box.append(el("span", "split-first", w), " "); return; }
      const b = el("button", "split-word", w);
      b.type = "button";
      b.dataset.word = String(i);
      b.addEventListener("click", () => split(seg, i, null));
      box.append(b, " ");
    });
    const cancel = el("button", "link-button", "Cancel");
    cancel.type = "button";
    cancel.addEventListener("click", () => box.remove());
    box.append(cancel);
    ru.append(box);
    box.querySelector("button.split-word").focus();
  }
  const segs = Array.from(document.querySelectorAll("article.seg"));
  segs.forEach((seg, i) => {
    const ru = seg.querySelector(".ru");
    if (!ru) return;
    const bar = el("span", "seg-tools");
    const b = (cls, text, title, fn) => {
      const n = el("button", `link-button ${cls}`, text);
      n.type = "button";
      n.title = title;
      n.addEventListener("click", () => { select(seg); fn(); });
      bar.append(" ", n);
    };
    b("seg-split", "Split", "Split this line before a word (Alt+S: at the playing second)", () => openSplit(seg));
    if (i < segs.length - 1) b("seg-merge", "Merge with next", "Join this line and the next (Alt+M)", () => merge(seg));
    b("seg-party", `Party ${seg.dataset.party || "?"} → ${nextParty(seg)}`, "Say the other side speaks this line (Alt+P)", () => setParty(seg, nextParty(seg)));
    ru.append(bar);
  });

  /* -- keys: on the selected line (or the line holding the focus) ------------------- */
  document.addEventListener("keydown", (e) => {
    if (!e.altKey || e.ctrlKey || e.metaKey) return;
    const help = document.getElementById("keys-help");
    if (help && help.open) return;
    const focused = e.target && e.target.closest && e.target.closest("article.seg");
    const seg = focused || selected;
    if (!seg) return;
    if (e.code === "BracketLeft" || e.code === "BracketRight") {
      e.preventDefault();
      select(seg);
      nudge(seg, e.shiftKey ? "end" : "start", e.code === "BracketLeft" ? -STEP : STEP);
    } else if (e.code === "KeyS" && !e.shiftKey) {
      e.preventDefault();
      const t = player() ? player().getCurrentTime() : NaN;
      const [s, end] = times(seg);
      if (!(t > s && t < end)) { E.toast("Play to the second where the line should be cut, then Alt+S.", "error"); return; }
      split(seg, wordAt(seg, t), Math.round(t * 100) / 100);
    } else if (e.code === "KeyM" && !e.shiftKey) {
      e.preventDefault();
      merge(seg);
    } else if (e.code === "KeyP" && !e.shiftKey) {
      e.preventDefault();
      setParty(seg, nextParty(seg));
    }
  });

  function wait() {
    if (player() && player().getDuration() > 0) {
      if (window.earshotSelected) select(window.earshotSelected());
      draw();
      return;
    }
    setTimeout(wait, 100);
  }
  wait();
  window.earshotLayout = { version: () => version, selected: () => selected, draw };
})();
