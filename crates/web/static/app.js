// Tandem's keyboard-first review. No framework: plain DOM, progressive enhancement
// (every action is a normal link or form that works without this script).
(function () {
  "use strict";
  const page = document.body.dataset.page;
  const started = Date.now();
  const typing = (el) => el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT");
  let pendingG = false;

  // Seconds on the item go with every decision, for the audit trail and the review-time figures.
  document.querySelectorAll("form").forEach((f) =>
    f.addEventListener("submit", () => {
      // At least 0.1 s: a time rounded down to 0 would read as no time at all.
      f.querySelectorAll("input.seconds").forEach((i) => (i.value = Math.max(0.1, (Date.now() - started) / 1000).toFixed(1)));
    })
  );

  // Filters that apply as soon as they change (a button does it without this script).
  document.querySelectorAll("select[data-autosubmit]").forEach((s) =>
    s.addEventListener("change", () => s.form && s.form.submit())
  );

  // Simulator: after a point of the curve was picked (#result in the link), focus the
  // result so its threshold, inbox volume and hours are read out and in view.
  if (page === "simulate" && location.hash === "#result") {
    const r = document.getElementById("result");
    if (r) r.focus();
  }

  // Lists: j/k move, Enter/o open; a click anywhere on a row opens it.
  const rows = Array.from(document.querySelectorAll("#inbox-list tbody tr[data-href]"));
  let sel = rows.length ? 0 : -1;
  const select = (i) => {
    if (!rows.length) return;
    sel = Math.max(0, Math.min(rows.length - 1, i));
    rows.forEach((r, n) => r.classList.toggle("selected", n === sel));
    rows[sel].scrollIntoView({ block: "nearest" });
    const link = rows[sel].querySelector("a.row-link");
    if (link && document.activeElement !== link) link.focus({ preventScroll: true });
  };
  rows.forEach((r, n) => r.addEventListener("click", (e) => { if (!["A", "INPUT", "LABEL"].includes(e.target.tagName)) location.href = r.dataset.href; }));
  if (rows.length) select(0);

  // Item page: picking a field shows its evidence, and hovering evidence shows its field.
  const marks = Array.from(document.querySelectorAll("mark[data-fields]"));
  const fieldBoxes = Array.from(document.querySelectorAll(".field[data-field]"));
  const showField = (name, on) => {
    marks.forEach((m) => m.classList.toggle("active", on && m.dataset.fields.split(" ").includes(name)));
    fieldBoxes.forEach((b) => b.classList.toggle("active", on && b.dataset.field === name));
    if (on) { const m = marks.find((m) => m.dataset.fields.split(" ").includes(name)); if (m) m.scrollIntoView({ block: "nearest" }); }
  };
  fieldBoxes.forEach((b) => {
    const name = b.dataset.field;
    b.addEventListener("focusin", () => showField(name, true));
    b.addEventListener("focusout", () => showField(name, false));
    b.addEventListener("mouseenter", () => showField(name, true));
    b.addEventListener("mouseleave", () => showField(name, false));
  });
  marks.forEach((m) => {
    m.addEventListener("mouseenter", () => m.dataset.fields.split(" ").forEach((n) => showField(n, true)));
    m.addEventListener("mouseleave", () => m.dataset.fields.split(" ").forEach((n) => showField(n, false)));
  });

  // Selecting text in the input fills the field last picked (or the first flagged one).
  let lastField = null;
  document.querySelectorAll("#correct-form input[name^='field.'], #correct-form textarea[name^='field.']").forEach((el) =>
    el.addEventListener("focus", () => (lastField = el))
  );
  document.querySelectorAll(".input-text").forEach((pre) =>
    pre.addEventListener("mouseup", () => {
      const text = String(window.getSelection() || "").trim();
      if (!text) return;
      const target = lastField || document.querySelector("#correct-form .field.flagged input, #correct-form .field.flagged textarea");
      if (!target) return;
      target.value = text;
      target.dispatchEvent(new Event("input", { bubbles: true }));
      target.focus();
    })
  );

  // "This looks wrong": its text box has focus on arrival; Ctrl+Enter sends it.
  const wrongForm = document.getElementById("wrong-form");
  const wrongReason = document.getElementById("wrong-reason");
  if (wrongReason && document.activeElement !== wrongReason) wrongReason.focus();
  if (wrongForm) {
    wrongForm.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); wrongForm.requestSubmit(); }
    });
  }

  // Edits turn Approve off: approving would throw them away.
  const correctForm = document.getElementById("correct-form");
  const approve = document.getElementById("approve-button");
  const hint = document.getElementById("edit-hint");
  const edited = () => Array.from(correctForm ? correctForm.querySelectorAll("[data-original]") : []).some((el) => el.value !== el.dataset.original);
  if (correctForm) {
    correctForm.addEventListener("input", () => {
      const changed = edited();
      if (approve) approve.disabled = changed;
      if (hint) hint.hidden = !changed;
    });
    correctForm.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); correctForm.requestSubmit(); }
    });
  }

  // Review session: j/k move between the sampled items, a/d vote on the selected one
  // (one key), c goes to its comment box. After a vote the server sends the page back
  // to the next item (#sample-N), which is selected and focused here, so the reviewer
  // keeps their place.
  const samples = page === "session" ? Array.from(document.querySelectorAll("#sample > li.sample")) : [];
  let cur = -1;
  const mark = (n) => { cur = n; samples.forEach((s, m) => s.classList.toggle("selected", m === n)); };
  const pick = (i) => {
    if (!samples.length) return;
    mark(Math.max(0, Math.min(samples.length - 1, i)));
    samples[cur].focus();
  };
  samples.forEach((s, n) => s.addEventListener("focusin", () => mark(n)));
  const fromHash = samples.findIndex((s) => "#" + s.id === location.hash);
  if (fromHash >= 0) pick(fromHash);
  const vote = (choice) => {
    const b = cur >= 0 && samples[cur].querySelector("button[name=choice][value=" + choice + "]");
    if (b) b.click();
  };
  const confirmClose = document.getElementById("confirm-close-button");
  if (confirmClose) confirmClose.focus();

  // Bulk confirmation: its button has focus, so Enter approves; Esc goes back.
  const bulkConfirm = document.getElementById("bulk-confirm");
  if (bulkConfirm) bulkConfirm.focus();

  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && page === "bulk" && !typing(document.activeElement)) { location.href = "/inbox"; return; }
    if (e.key === "Escape" && typing(document.activeElement)) { document.activeElement.blur(); return; }
    if (typing(document.activeElement) || e.ctrlKey || e.metaKey || e.altKey) return;
    const help = document.getElementById("help");
    if (e.key === "?") { e.preventDefault(); if (help && !help.open) help.showModal(); return; }
    if (pendingG) { pendingG = false; if (e.key === "i") { location.href = "/inbox"; return; } }
    if (e.key === "g") { pendingG = true; return; }
    if (rows.length) {
      if (e.key === "j") { e.preventDefault(); select(sel + 1); return; }
      if (e.key === "k") { e.preventDefault(); select(sel - 1); return; }
      if (e.key === "x" && sel >= 0) { const c = rows[sel].querySelector("input[type=checkbox]"); if (c && !c.disabled) { e.preventDefault(); c.checked = !c.checked; } return; }
      if (e.key === "b") { const f = document.getElementById("bulk-form"); if (f && f.querySelector("input[name=item]:checked")) { e.preventDefault(); f.requestSubmit(); } return; }
      if ((e.key === "Enter" || e.key === "o") && sel >= 0) { e.preventDefault(); location.href = rows[sel].dataset.href; return; }
    }
    if (samples.length) {
      if (e.key === "j") { e.preventDefault(); pick(cur + 1); return; }
      if (e.key === "k") { e.preventDefault(); pick(cur - 1); return; }
      if (e.key === "a" || e.key === "d") { e.preventDefault(); vote(e.key === "a" ? "agree" : "disagree"); return; }
      if (e.key === "c" && cur >= 0) { const c = samples[cur].querySelector("input[name=body]"); if (c) { e.preventDefault(); c.focus(); } return; }
    }
    if (page === "report-wrong" && e.key === "k") { e.preventDefault(); history.back(); return; }
    if (page === "item") {
      if (e.key === "a" && approve && !approve.disabled) { e.preventDefault(); document.getElementById("approve-form").requestSubmit(); return; }
      if (e.key === "e" && correctForm) {
        e.preventDefault();
        const first = correctForm.querySelector(".field.flagged input, .field.flagged textarea, .field.flagged select") ||
          correctForm.querySelector("input:not([type=hidden]), textarea, select");
        if (first) { first.focus(); if (first.select) first.select(); }
        return;
      }
      if (e.key === "r") { const r = document.getElementById("reason"); if (r) { e.preventDefault(); r.focus(); } return; }
      if (e.key === "w") { const w = document.getElementById("report-wrong"); if (w) { e.preventDefault(); location.href = w.href; } return; }
      const next = document.querySelector("link[rel=next]");
      if (e.key === "j" && next) { e.preventDefault(); location.href = next.href; return; }
      if (e.key === "k") { e.preventDefault(); history.back(); return; }
    }
  });
})();
