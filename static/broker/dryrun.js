/* The dry run: every step of the script in the chosen language, its prompt played, and buttons
 * that stand for the investor's outcome; failures follow the live kiosk's rule (retries, then
 * on_fail: flag, refer or abort), logged in the page and in window.broker.dry.log. */

import { $, el, state, status } from "./page.js";
import { currentSteps, playStep, voiced } from "./prompts.js";
import { FAILED_OUTCOME, retriesAllowed, settle } from "./settle.js";

// Per step kind: the outcomes offered, each [label, passes].
const OUTCOMES = {
  question: function (s) {
    const ok = s.expect === "phrases" ? "Says an accepted phrase" :
      (s.expect === "deny" ? "Answers no" : "Answers yes");
    return [[ok, true], ["Other answer", false], ["Silence", false]];
  },
  read_aloud: function () { return [["Reads it correctly", true], ["Reads something else", false]]; },
  challenge: function () { return [["All challenges passed", true], ["A challenge failed", false]]; },
  show_id: function () { return [["ID shown and readable", true], ["No ID shown", false]]; },
  id_document: function () { return [["Card read on every side", true], ["A side not usable", false]]; }
};

function dryLog(msg, cls) {
  const li = el("li", cls ? { class: cls } : {}, msg);
  $("bk-dry-log").appendChild(li);
  state.dry.log.push(msg);
}

/** Start a dry run from the first step (a running one is abandoned). */
export function startDry() {
  if (!state.valid) {
    status("Fix the problems before a dry run");
    return;
  }
  $("bk-dry-log").textContent = "";
  state.dry = { steps: currentSteps().slice(), index: 0, attempt: 0, flags: [], log: [],
                ended: null, waiting: null, locale: $("bk-locale").value };
  runDryStep();
}

function runDryStep() {
  const d = state.dry;
  const s = d.steps[d.index];
  const buttons = $("bk-dry-buttons");
  buttons.textContent = "";
  d.waiting = null;
  $("bk-dry-step").textContent = "Step " + (d.index + 1) + "/" + d.steps.length + ": " +
    s.label + " (" + s.kind + (d.attempt ? ", attempt " + (d.attempt + 1) : "") + ")";
  $("bk-dry-text").textContent = "…";
  $("bk-dry-spoken").textContent = "";
  playStep(s.id, d.attempt).then(function (p) {
    if (state.dry !== d) return; // restarted meanwhile
    const extra = p.read_text ? " — to read: " + p.read_text :
      (p.challenges ? " — drawn: " + p.challenges.join(", ") : "");
    $("bk-dry-text").textContent = (p.text || "(silent)") + extra;
    $("bk-dry-spoken").textContent = voiced(p);
    if (s.kind === "say") return outcome(s, true, "spoken");
    if (s.kind === "wait") {
      d.waiting = "wait";
      const skip = el("button", { type: "button", class: "rv-btn", "data-testid": "sim-skip" },
                      "Skip the " + s.seconds + " s pause");
      const t = setTimeout(function () { outcome(s, true, "paused " + s.seconds + " s"); },
                           s.seconds * 1000);
      skip.addEventListener("click", function () { clearTimeout(t); outcome(s, true, "pause skipped"); });
      buttons.appendChild(skip);
      return;
    }
    d.waiting = s.kind;
    OUTCOMES[s.kind](s).forEach(function (o, i) {
      const b = el("button", { type: "button", class: "rv-btn" + (o[1] ? " rv-primary" : ""),
                               "data-testid": o[1] ? "sim-pass" : "sim-fail-" + i }, o[0]);
      b.addEventListener("click", function () { outcome(s, o[1], o[0]); });
      buttons.appendChild(b);
    });
  }).catch(function (e) {
    dryLog(s.id + ": could not play the prompt (" + e.message + ")", "bk-fail");
    d.ended = "error";
  });
}

function outcome(s, ok, what) {
  const d = state.dry;
  $("bk-dry-buttons").textContent = "";
  d.waiting = null;
  if (ok) {
    dryLog(s.id + ": pass (" + what + ")", "bk-pass");
    return next();
  }
  // The live kiosk's rule (kiosk.session.settle, in settle.js): retries, then on_fail.
  const failed = FAILED_OUTCOME[s.kind];
  const applied = settle(s, d.attempt, failed)[1];
  if (applied === "retry") {
    dryLog(s.id + ": fail (" + what + "), retry " + (d.attempt + 1) + " of " +
           retriesAllowed(s, failed), "bk-fail");
    d.attempt++;
    return runDryStep();
  }
  if (applied === "flag" && s.on_fail === "abort") {
    dryLog(s.id + ": fail (" + what + "), on_fail abort", "bk-fail");
    return end("aborted at " + s.id);
  }
  if (applied === "flag" && s.on_fail === "refer") {
    // As the live kiosk: a human agent finishes the witness (aborted, referred:<step id>).
    dryLog(s.id + ": fail (" + what + "), on_fail refer", "bk-fail");
    return end("aborted: referred:" + s.id + " (a member of staff continues)");
  }
  const flag = applied + ":" + s.id;
  d.flags.push(flag);
  dryLog(s.id + ": fail (" + what + "), " + flag, "bk-fail");
  return next();
}

function next() {
  const d = state.dry;
  d.index++;
  d.attempt = 0;
  if (d.index >= d.steps.length) {
    return end(d.flags.length ? "finished with flags " + d.flags.join(", ") : "finished, no flags");
  }
  runDryStep();
}

function end(how) {
  state.dry.ended = how;
  $("bk-dry-step").textContent = "Dry run " + how;
  $("bk-dry-text").textContent = "";
  $("bk-dry-buttons").textContent = "";
  dryLog("end: " + how);
}
