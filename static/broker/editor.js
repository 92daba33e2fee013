/* The editor: a plain <textarea> (no wrapping) beside a line-number gutter; the lines with
 * problems are marked in the gutter (with the messages as its title) and behind the text. */

import { $, el } from "./page.js";

const LINE = 20; // px; the CSS line-height of the gutter and the textarea
const PAD = 6;   // px; their top padding

let lineCount = -1;
let errLines = {}; // line -> ["col: message", ...]

/** Mark the lines of these problems ({line, col, message}); the gutter is redrawn by the
 * caller (renderGutter). */
export function setProblems(problems) {
  errLines = {};
  problems.forEach(function (p) {
    (errLines[p.line] = errLines[p.line] || []).push(p.col + ": " + p.message);
  });
}

export function renderGutter() {
  const text = $("bk-text"), gutter = $("bk-gutter"), marks = $("bk-marks");
  const n = text.value.split("\n").length;
  const frag = document.createDocumentFragment();
  for (let i = 1; i <= n; i++) {
    const d = el("div", { "data-line": String(i) }, String(i));
    if (errLines[i]) {
      d.className = "bk-err";
      d.title = errLines[i].join("\n");
      d.setAttribute("data-testid", "err-line-" + i);
    }
    frag.appendChild(d);
  }
  gutter.textContent = "";
  gutter.appendChild(frag);
  lineCount = n;
  marks.textContent = "";
  Object.keys(errLines).forEach(function (ln) {
    const m = el("div", { "data-line": ln });
    m.style.top = (PAD + (Number(ln) - 1) * LINE) + "px";
    marks.appendChild(m);
  });
  syncScroll();
}

function syncScroll() {
  const text = $("bk-text");
  $("bk-gutter").scrollTop = text.scrollTop;
  const kids = $("bk-marks").children;
  for (let i = 0; i < kids.length; i++) {
    kids[i].style.transform = "translateY(" + (-text.scrollTop) + "px)";
  }
}

/** Put the caret at line, col (1-based) and scroll it into view. */
export function goTo(line, col) {
  const text = $("bk-text");
  const lines = text.value.split("\n");
  let pos = 0;
  for (let i = 0; i < Math.min(line - 1, lines.length); i++) pos += lines[i].length + 1;
  pos += Math.max(0, (col || 1) - 1);
  text.focus();
  text.setSelectionRange(pos, pos);
  const top = (line - 1) * LINE;
  if (top < text.scrollTop || top > text.scrollTop + text.clientHeight - 2 * LINE) {
    text.scrollTop = Math.max(0, top - text.clientHeight / 3);
  }
}

/** Wire the textarea and the gutter; onEdit runs after every edit (the check is scheduled). */
export function bindEditor(onEdit) {
  const text = $("bk-text");
  text.addEventListener("input", function () {
    if (text.value.split("\n").length !== lineCount) renderGutter();
    onEdit();
  });
  text.addEventListener("scroll", syncScroll);
  text.addEventListener("keydown", function (e) {
    if (e.key === "Tab" && !e.shiftKey) { // two spaces: YAML forbids tab indentation
      e.preventDefault();
      const s = text.selectionStart;
      text.setRangeText("  ", s, text.selectionEnd, "end");
      text.dispatchEvent(new Event("input"));
    }
  });
  $("bk-gutter").addEventListener("click", function (e) {
    const line = e.target.getAttribute && e.target.getAttribute("data-line");
    if (line && errLines[line]) goTo(Number(line), 1);
  });
}
