/* The call page: waveform player in sync with the transcript, translation editing,
   theme tags and entity links. Keyboard: Space play/pause, j/k previous/next
   segment, Ctrl+Enter save the translation being edited. */
"use strict";
(function () {
  const E = window.Earshot;
  const cfg = JSON.parse(document.getElementById("player-data").textContent);
  const segs = Array.from(document.querySelectorAll("article.seg"));
  const timed = segs.filter((s) => s.dataset.start !== "");
  const playBtn = document.getElementById("play");
  const clockEl = document.getElementById("clock");
  let ws = null;
  let current = null;

  /* -- player ----------------------------------------------------------------- */
  async function initPlayer() {
    let peaks = null;
    try {
      const r = await fetch(cfg.peaks, { credentials: "same-origin" });
      if (!r.ok) throw new Error((await r.json()).detail || r.statusText);
      peaks = await r.json();
    } catch (err) {
      const el = document.getElementById("player-error");
      el.textContent = `Audio unavailable: ${err.message}`;
      el.hidden = false;
      playBtn.disabled = true;
      return;
    }
    const plugins = [];
    if (window.WaveSurfer && WaveSurfer.Timeline) {
      plugins.push(WaveSurfer.Timeline.create({ height: 14, timeInterval: 1, primaryLabelInterval: 10, style: { fontSize: "10px", color: "#667" } }));
    }
    ws = WaveSurfer.create({
      container: "#waveform",
      height: window.innerWidth < 600 ? (peaks.channels > 1 ? 28 : 44) : (peaks.channels > 1 ? 56 : 80),
      waveColor: "#9db3d6",
      progressColor: "#2f5fa8",
      cursorColor: "#c0392b",
      cursorWidth: 2,
      normalize: true,
      splitChannels: peaks.channels > 1 ? [{ waveColor: "#9db3d6" }, { waveColor: "#d6b49d", progressColor: "#a8652f" }] : undefined,
      url: cfg.audio,
      peaks: peaks.peaks,
      duration: peaks.duration,
      cspNonce: E.meta("csp-nonce"),
      plugins,
    });
    ws.on("timeupdate", (t) => { tick(t); });
    ws.on("play", () => { playBtn.textContent = "Pause"; });
    ws.on("pause", () => { playBtn.textContent = "Play"; });
    // A link to a second of the call (#t=83, from a quote's provenance) opens there.
    // A search hit (#seg-ID) opens at that segment's second.
    const at = /^#t=(\d+(?:\.\d+)?)$/.exec(location.hash);
    const hitSeg = /^#seg-\d+$/.test(location.hash) ? document.getElementById(location.hash.slice(1)) : null;
    const hitAt = hitSeg && hitSeg.dataset.start !== "" ? parseFloat(hitSeg.dataset.start) : null;
    ws.on("ready", () => {
      const t = at ? parseFloat(at[1]) : hitAt;
      if (t !== null) { ws.setTime(t); tick(t); }
      else tick(0);
    });
    ws.on("error", (e) => E.toast(`Audio error: ${e && e.message ? e.message : e}`, "error"));
    drawLanes(peaks.duration);
    window.earshotRedrawLanes = () => drawLanes(peaks.duration);
    window.earshotPlayer = ws;
  }

  function drawLanes(duration) {
    const lanes = document.getElementById("lanes");
    const speakers = [...new Set(timed.map((s) => s.dataset.speaker))];
    lanes.replaceChildren();
    speakers.forEach((sp, i) => {
      const lane = document.createElement("div");
      lane.className = `lane lane-${i % 4}`;
      const label = document.createElement("span");
      label.className = "lane-label";
      label.textContent = sp;
      lane.appendChild(label);
      timed.filter((s) => s.dataset.speaker === sp).forEach((s) => {
        const start = parseFloat(s.dataset.start);
        const end = parseFloat(s.dataset.end || s.dataset.start);
        const block = document.createElement("button");
        block.type = "button";
        block.className = "lane-block";
        block.tabIndex = -1; // the lanes are a picture (aria-hidden); the time buttons are the way in
        block.title = `${sp} ${E.clock(start)}`;
        block.style.left = `${(100 * start) / duration}%`;
        block.style.width = `${Math.max(0.4, (100 * (end - start)) / duration)}%`;
        block.addEventListener("click", () => seekTo(s, true));
        lane.appendChild(block);
      });
      lanes.appendChild(lane);
    });
  }

  function tick(t) {
    if (!ws) return;
    clockEl.textContent = `${E.clock(t)} / ${E.clock(ws.getDuration())}`;
    // The segment that started last among those still running at t (overlaps happen).
    let found = null;
    for (const s of timed) {
      const start = parseFloat(s.dataset.start);
      const end = parseFloat(s.dataset.end || s.dataset.start);
      if (t + 0.001 >= start && t < Math.max(end, start + 0.05)) found = s;
    }
    if (found !== current) {
      if (current) current.classList.remove("playing");
      current = found;
      if (current) document.dispatchEvent(new CustomEvent("earshot:segment", { detail: current }));
      if (current) {
        current.classList.add("playing");
        const editing = document.activeElement && document.activeElement.closest("article.seg");
        if (!editing) current.scrollIntoView({ block: "nearest", behavior: "smooth" });
        else if (current.getBoundingClientRect().top < (player ? player.getBoundingClientRect().bottom : 0)) current.scrollIntoView({ block: "nearest" });
      }
    }
  }

  function seekTo(seg, play) {
    if (!ws || seg.dataset.start === "") return;
    ws.setTime(parseFloat(seg.dataset.start));
    if (current) current.classList.remove("playing");
    current = seg;
    seg.classList.add("playing");
    document.dispatchEvent(new CustomEvent("earshot:segment", { detail: seg }));
    seg.scrollIntoView({ block: "nearest" });
    if (play) ws.play().catch(() => {});
  }

  function step(delta) {
    if (!timed.length) return;
    const t = ws ? ws.getCurrentTime() : 0;
    let idx = current ? timed.indexOf(current) : -1;
    if (idx < 0) idx = timed.findIndex((s) => parseFloat(s.dataset.start) > t) - (delta > 0 ? 1 : 0);
    const next = timed[Math.min(timed.length - 1, Math.max(0, idx + delta))];
    seekTo(next, ws && ws.isPlaying());
  }

  // play() is a promise that a quick pause interrupts; that is not an error worth showing.
  const playPause = () => { if (ws) Promise.resolve(ws.playPause()).catch(() => {}); };
  playBtn.addEventListener("click", playPause);
  document.getElementById("rate").addEventListener("change", (e) => ws && ws.setPlaybackRate(parseFloat(e.target.value), true));
  segs.forEach((s) => {
    const b = s.querySelector("button.seek");
    if (b) b.addEventListener("click", () => seekTo(s, true));
  });

  /* -- translations: autosaved drafts, optimistic concurrency --------------------- */
  const dirty = new Set();
  function draftKey(area) { return cfg.draft_key + area.dataset.segment; }

  function restoreDrafts() {
    let restored = 0;
    document.querySelectorAll("textarea.tr-text").forEach((area) => {
      const raw = localStorage.getItem(draftKey(area));
      if (!raw) return;
      try {
        const draft = JSON.parse(raw);
        if (draft.text !== area.value) {
          area.value = draft.text;
          // The draft was written against the version loaded then, not the one on this
          // page: saving it over a colleague's newer save must be refused (409), not win.
          if (draft.version !== undefined && draft.version !== null) area.dataset.version = String(draft.version);
          markDirty(area, `unsaved draft from ${new Date(draft.at).toLocaleString()}`);
          restored += 1;
        } else {
          localStorage.removeItem(draftKey(area));
        }
      } catch (e) { localStorage.removeItem(draftKey(area)); }
    });
    if (restored) E.toast(`Restored ${restored} unsaved draft(s) from this browser.`, "info");
  }

  function markDirty(area, note) {
    const seg = area.closest("article.seg");
    seg.classList.add("dirty");
    dirty.add(area);
    seg.querySelector(".tr-state").textContent = note || "unsaved";
  }

  let draftTimer = null;
  document.addEventListener("input", (e) => {
    const area = e.target.closest && e.target.closest("textarea.tr-text");
    if (!area) return;
    markDirty(area, "unsaved (draft kept in this browser)");
    // New text goes back to "edited": review and approval are of the text as it was.
    const status = area.closest("article.seg").querySelector("select.tr-status");
    if (status && status.value !== "edited") status.value = "edited";
    clearTimeout(draftTimer);
    draftTimer = setTimeout(() => {
      dirty.forEach((a) => localStorage.setItem(draftKey(a), JSON.stringify({ text: a.value, version: a.dataset.version, at: Date.now() })));
    }, 400);
  });
  document.addEventListener("change", (e) => {
    const sel = e.target.closest && e.target.closest("select.tr-status");
    if (sel) markDirty(sel.closest("article.seg").querySelector("textarea.tr-text"), "status changed, not saved");
  });

  async function save(seg) {
    const area = seg.querySelector("textarea.tr-text");
    if (!area) return;
    const status = seg.querySelector("select.tr-status").value;
    const state = seg.querySelector(".tr-state");
    state.textContent = "saving…";
    const result = await E.api("PUT", `${cfg.translation}${area.dataset.segment}/translation`, {
      text: area.value, status, version: parseInt(area.dataset.version, 10) || 0,
    });
    if (result.ok) {
      area.dataset.version = String(result.data.version);
      localStorage.removeItem(draftKey(area));
      dirty.delete(area);
      seg.classList.remove("dirty", "stale");
      const d = result.data;
      const by = d.status === "approved" ? `approved by ${d.approver}`
        : d.status === "reviewed" ? `reviewed by ${d.reviewer}` : d.translator || "";
      state.textContent = `v${result.data.version} · saved${by ? " · " + by : ""}`;
      E.toast("Saved.", "ok");
    } else if (result.status === 409) {
      seg.classList.add("stale");
      const cur = result.data.current || {};
      state.textContent = `conflict: someone saved v${cur.version || "?"} meanwhile`;
      showMerge(seg, area, cur);
      E.toast(E.errorText(result), "error");
    } else {
      state.textContent = "not saved";
      E.toast(E.errorText(result), "error");
    }
  }
  /* Both texts side by side: take theirs, or keep yours to save it over their version. */
  function showMerge(seg, area, cur) {
    const old = seg.querySelector(".merge");
    if (old) old.remove();
    const box = document.createElement("div");
    box.className = "merge";
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", "Merge your text with the newer saved one");
    const who = cur.translator || cur.reviewer || cur.approver || "a colleague";
    const part = (label, text, cls) => {
      const h = document.createElement("p");
      h.className = "muted small";
      h.textContent = label;
      const q = document.createElement("blockquote");
      q.className = cls;
      q.textContent = text;
      box.append(h, q);
    };
    part(`Saved meanwhile (v${cur.version || "?"}, ${who}):`, cur.text || "", "theirs");
    part("Your text (not saved):", area.value, "mine");
    const bar = document.createElement("div");
    bar.className = "merge-bar";
    const theirs = document.createElement("button");
    theirs.type = "button";
    theirs.className = "use-theirs";
    theirs.textContent = "Use the saved text";
    theirs.addEventListener("click", () => {
      area.value = cur.text || "";
      area.dataset.version = String(cur.version || 0);
      localStorage.removeItem(draftKey(area));
      dirty.delete(area);
      seg.classList.remove("dirty", "stale");
      seg.querySelector(".tr-state").textContent = `v${cur.version} · ${who}`;
      box.remove();
    });
    const mine = document.createElement("button");
    mine.type = "button";
    mine.className = "keep-mine";
    mine.textContent = "Keep mine (edit, then save over it)";
    mine.addEventListener("click", () => {
      area.dataset.version = String(cur.version || 0);
      seg.classList.remove("stale");
      seg.querySelector(".tr-state").textContent = `unsaved: based on v${cur.version} now`;
      box.remove();
      area.focus();
    });
    bar.append(theirs, mine);
    box.append(bar);
    seg.querySelector(".en").append(box);
  }

  segs.forEach((s) => {
    const b = s.querySelector("button.save");
    if (b) b.addEventListener("click", () => save(s));
  });
  window.addEventListener("beforeunload", (e) => {
    if (dirty.size) { e.preventDefault(); e.returnValue = ""; }
  });

  /* -- keyboard (oTranscribe / noScribe habits: the player answers while typing) ----- */
  const help = document.getElementById("keys-help");
  const openHelp = () => { if (help && !help.open) help.showModal(); };
  const keysBtn = document.getElementById("keys-open");
  if (keysBtn) keysBtn.addEventListener("click", openHelp);
  const skip = (delta) => {
    if (!ws) return;
    const t = Math.min(ws.getDuration(), Math.max(0, ws.getCurrentTime() + delta));
    ws.setTime(t);
    tick(t);
  };
  window.earshotSkip = skip;
  document.addEventListener("keydown", (e) => {
    const t = e.target;
    const typing = t && (t.tagName === "TEXTAREA" || t.tagName === "INPUT" || t.tagName === "SELECT" || t.isContentEditable);
    if (help && help.open) return; // the dialog handles its own Esc
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      const seg = t && t.closest && t.closest("article.seg");
      if (seg && t.classList.contains("tr-text")) { e.preventDefault(); save(seg); }
      return;
    }
    if (e.key === "Escape" || (e.key === " " && e.ctrlKey)) { e.preventDefault(); playPause(); return; }
    if (e.ctrlKey && (e.key === "ArrowLeft" || e.key === "ArrowRight")) {
      e.preventDefault();
      skip(e.key === "ArrowLeft" ? -5 : 5);
      return;
    }
    if (typing || e.altKey || e.ctrlKey || e.metaKey) return;
    // Space on a time button plays/pauses too, instead of jumping back to that button.
    if (e.key === " " && !(t && t.tagName === "BUTTON" && !t.classList.contains("seek") && !t.classList.contains("lane-block"))) { e.preventDefault(); playPause(); }
    else if (e.key === "?") { e.preventDefault(); openHelp(); }
    else if (e.key === "j") { e.preventDefault(); step(-1); }
    else if (e.key === "k") { e.preventDefault(); step(1); }
  });
  /* The playing line is scrolled to just under the sticky player, whatever its height. */
  const player = document.querySelector("section.player");
  const margin = () => { if (player) document.documentElement.style.setProperty("--player-h", `${player.offsetHeight}px`); };
  margin();
  window.addEventListener("resize", margin);

  /* -- themes ----------------------------------------------------------------------- */
  const themes = document.getElementById("themes");
  function renderThemes(list) {
    const box = document.getElementById("theme-list");
    box.replaceChildren();
    list.forEach((name) => {
      const tag = document.createElement("span");
      tag.className = "tag";
      tag.dataset.theme = name;
      tag.textContent = name;
      const x = document.createElement("button");
      x.className = "tag-x";
      x.dataset.theme = name;
      x.setAttribute("aria-label", `Remove theme ${name}`);
      x.textContent = "×";
      tag.appendChild(x);
      box.appendChild(tag);
    });
  }
  async function setTheme(theme, present) {
    const r = await E.api("POST", cfg.themes, { theme, present });
    if (r.ok) { renderThemes(r.data.themes); E.toast(present ? `Tagged “${theme}”.` : `Removed “${theme}”.`, "ok"); }
    else E.toast(E.errorText(r), "error");
  }
  if (themes && themes.dataset.canTag === "yes") {
    themes.addEventListener("click", (e) => {
      const x = e.target.closest("button.tag-x");
      if (x) setTheme(x.dataset.theme, false);
    });
    document.getElementById("theme-add").addEventListener("submit", (e) => {
      e.preventDefault();
      const input = e.target.elements.theme;
      const v = input.value.trim();
      if (v) { setTheme(v, true); input.value = ""; }
    });
  }

  /* -- entity -> person links --------------------------------------------------------- */
  const dialog = document.getElementById("entity-dialog");
  if (dialog) {
    let entity = null;
    const open = (mark) => {
      entity = mark;
      document.getElementById("entity-name").textContent = mark.textContent;
      dialog.showModal();
    };
    document.querySelectorAll("mark.ent-PER[data-entity]").forEach((m) => {
      m.addEventListener("click", () => open(m));
      m.addEventListener("keydown", (e) => { if (e.key === "Enter") open(m); });
    });
    dialog.addEventListener("close", async () => {
      if (dialog.returnValue !== "link" || !entity) return;
      const value = document.getElementById("entity-form").elements.person_id.value;
      const r = await E.api("PUT", `${cfg.entities}${entity.dataset.entity}/person`, { person_id: value ? parseInt(value, 10) : null });
      if (r.ok) { entity.classList.toggle("linked", !!value); E.toast(value ? "Linked." : "Unlinked.", "ok"); }
      else E.toast(E.errorText(r), "error");
    });
  }

  /* -- the words a search found (?hl=word, from a hit), marked in the transcript ---- */
  function highlightWords(words) {
    const wanted = words.map((w) => w.trim().toLocaleLowerCase()).filter((w) => w.length > 0);
    if (!wanted.length) return;
    const escape = (w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const re = new RegExp(`(${wanted.map(escape).join("|")})`, "giu");
    document.querySelectorAll("article.seg .ru, article.seg .en p").forEach((root) => {
      const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
      const nodes = [];
      while (walker.nextNode()) nodes.push(walker.currentNode);
      nodes.forEach((node) => {
        const text = node.nodeValue;
        re.lastIndex = 0;
        if (!re.test(text)) return;
        const frag = document.createDocumentFragment();
        text.split(re).forEach((part, i) => {
          if (!part) return;
          if (i % 2) {
            const m = document.createElement("mark");
            m.className = "hl";
            m.textContent = part;
            frag.append(m);
          } else frag.append(part);
        });
        node.replaceWith(frag);
      });
    });
  }
  highlightWords(new URLSearchParams(location.search).getAll("hl").slice(0, 20));

  restoreDrafts();
  if (location.hash && location.hash.startsWith("#seg-")) {
    const target = document.getElementById(location.hash.slice(1));
    if (target) { target.classList.add("playing"); current = target; target.scrollIntoView({ block: "center" }); }
  }
  window.earshotSelected = () => current;
  initPlayer();
})();
