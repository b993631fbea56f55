// The evidence on the page (item pages of documents): evidence links scroll to their box
// and mark it; words on the page fill the field picked last, by mouse or by keyboard.
(function () {
  "use strict";
  const fields = Array.from(document.querySelectorAll("#correct-form input[name^='field.'], #correct-form textarea[name^='field.']"));
  let lastField = null;
  fields.forEach((el) => el.addEventListener("focus", () => { lastField = el; mark(el.name.slice(6)); }));
  const target = () =>
    lastField ||
    document.querySelector("#correct-form .field.flagged input, #correct-form .field.flagged textarea") ||
    fields[0] || null;
  const fill = (text) => {
    const t = target();
    if (!t || !text) return;
    t.value = text;
    t.dispatchEvent(new Event("input", { bubbles: true }));
  };

  // A field's boxes are marked while the field is picked or its link followed.
  const mark = (name, scroll) => {
    let first = null;
    document.querySelectorAll("rect.evidence").forEach((r) => {
      const on = r.dataset.field === name;
      r.classList.toggle("current", on);
      if (on && !first) first = r;
    });
    if (scroll && first) first.scrollIntoView({ block: "center" });
  };
  document.querySelectorAll("a.show-evidence").forEach((a) =>
    a.addEventListener("click", (e) => {
      const r = document.getElementById(a.hash.slice(1));
      if (!r) return;
      e.preventDefault();
      mark(a.dataset.field, false);
      r.scrollIntoView({ block: "center" });
      const input = document.getElementById("f-" + a.dataset.field);
      if (input && input.name) lastField = input;
    })
  );

  // Words: click picks one, shift-click extends; on a focused page the arrow keys move,
  // Shift extends, Enter fills the field and goes back to it.
  document.querySelectorAll("svg.page-words").forEach((svg) => {
    const words = Array.from(svg.querySelectorAll("rect.word"));
    let anchor = -1;
    let cursor = -1;
    const lo = () => Math.min(anchor, cursor);
    const hi = () => Math.max(anchor, cursor);
    const show = () => words.forEach((w, i) => w.classList.toggle("picked", anchor >= 0 && i >= lo() && i <= hi()));
    const text = () => words.slice(lo(), hi() + 1).map((w) => w.dataset.text).join(" ");
    words.forEach((w, i) =>
      w.addEventListener("click", (e) => {
        if (!(e.shiftKey && anchor >= 0)) anchor = i;
        cursor = i;
        show();
        fill(text());
      })
    );
    svg.addEventListener("keydown", (e) => {
      if (!words.length) return;
      if (e.key === "ArrowRight" || e.key === "ArrowLeft" || e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        const step = e.key === "ArrowRight" || e.key === "ArrowDown" ? 1 : -1;
        cursor = cursor < 0 ? 0 : Math.max(0, Math.min(words.length - 1, cursor + step));
        if (!e.shiftKey || anchor < 0) anchor = cursor;
        show();
        words[cursor].scrollIntoView({ block: "nearest" });
      } else if (e.key === "Enter" && cursor >= 0) {
        e.preventDefault();
        e.stopPropagation();
        fill(text());
        const t = target();
        if (t) t.focus();
      }
    });
  });

  if (location.hash.startsWith("#ev-")) {
    const r = document.getElementById(location.hash.slice(1));
    if (r) { mark(r.dataset.field, false); r.scrollIntoView({ block: "center" }); }
  }
})();
