/* Live validation: the server's check (POST urls.check), debounced after each edit; its
 * problems and speech warnings are listed (a click goes to the line) and marked in the gutter.
 * Only the newest edit's answer is shown. */

import { $, el, page, state, status } from "./page.js";
import { body, post } from "./api.js";
import { goTo, renderGutter, setProblems } from "./editor.js";
import { renderSteps, setLocales } from "./prompts.js";

let seq = 0, timer = null;

/** After an edit: say "Checking…" and check once the broker pauses for debounce_ms. */
export function scheduleCheck() {
  clearTimeout(timer);
  status("Checking…", "");
  timer = setTimeout(check, page.cfg.debounce_ms);
}

function listed(p, attrs, text) {
  const li = el("li", attrs, text);
  li.addEventListener("click", function () { goTo(p.line, p.col); });
  $("bk-problems").appendChild(li);
}

/** Check the editor's text now; resolves once the answer is shown (or dropped as stale). */
export function check() {
  const mine = ++seq;
  return post(page.cfg.urls.check, body()).then(function (res) {
    if (mine !== seq) return; // a newer edit is being checked
    state.checks++;
    state.problems = res.problems;
    state.valid = res.valid;
    setProblems(res.problems);
    state.warnings = res.warnings || [];
    $("bk-problems").textContent = "";
    res.problems.forEach(function (p) {
      listed(p, { "data-line": String(p.line), "data-testid": "problem" },
             "line " + p.line + ", column " + p.col + ": " + p.message);
    });
    // Speech warnings: the script is valid, but the guide's voice would say this badly.
    state.warnings.forEach(function (p) {
      listed(p, { "data-line": String(p.line), "data-testid": "warning", class: "bk-warning" },
             "line " + p.line + ", column " + p.col + ": voice: " + p.message);
    });
    if (res.valid) {
      const nw = state.warnings.length;
      status("✓ Valid: version " + res.version + ", " +
        res.steps[res.locales[0]].length + " steps, " + res.locales.join(" + ") +
        (nw ? " · " + nw + (nw === 1 ? " speech warning" : " speech warnings") : ""), "bk-ok");
      state.steps = res.steps;
      state.version = res.version;
      setLocales(res.locales);
      renderSteps();
    } else {
      const n = res.problems.length;
      status(n + (n === 1 ? " problem" : " problems") +
        " — fix before playing, dry-running or publishing", "bk-bad");
    }
    renderGutter();
  }).catch(function (e) {
    if (mine !== seq) return;
    state.error = e.message;
    status("Could not check: " + e.message, "bk-bad");
  });
}
