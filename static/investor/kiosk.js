/* Kiosk mode (the branch's shared screen): the attract screen between customers, the idle
 * and end-screen resets that wipe everything of the last investor, starting the next
 * customer's witness in the same page, and full screen.
 */

import * as I18N from "../i18n.js";
import * as Avatar from "../avatar.js";
import { $, body, clearTimer, config, kiosk, resetState, setTimer, state } from "./state.js";
import { connect, emit } from "./socket.js";
import { applyI18n, setPhase } from "./screens.js";
import { teardown } from "./session.js";
import { renderPreflight } from "./devices.js";
import { primeAudio } from "./guide.js";
import { renderHint } from "./cues.js";
import { setSpeed } from "./prefs.js";

let attractAvatar = null;

export function scheduleAttract() {
  if (!config.kioskMode) return;
  setTimer("attract", wipe, config.resetMs);
}

/** Kiosk: an untouched consent / device / error screen means the customer walked away. */
export function armIdle() {
  if (!config.kioskMode) return;
  clearTimer("idle");
  if (["consent", "devices", "error"].indexOf(kiosk.phase) < 0) return;
  setTimer("idle", function () {
    if (["consent", "devices", "error"].indexOf(kiosk.phase) < 0) return;
    if (state.joined && !state.over) emit("cancel", {});
    wipe();
  }, config.idleMs);
}

function clearNode(id) {
  var node = $(id);
  while (node.firstChild) node.removeChild(node.firstChild);
}

/** Kiosk mode: forget this investor entirely and show the attract screen. */
export function wipe() {
  teardown(true);
  var locale = I18N.normalizeLocale(body.getAttribute("data-locale"));
  resetState(locale);
  state.over = true;
  config.token = "";
  body.setAttribute("data-token", "");
  ["subtitle", "ended-message", "error-message", "error-code", "progress-label",
   "progress-title", "progress-steps", "listen-countdown", "status-text", "frame-hint",
   "challenge"].forEach(clearNode);
  $("challenge").hidden = true;
  $("witness-frame").classList.remove("is-card");
  try { window.sessionStorage.clear(); } catch (e) { /* storage disabled */ }
  try { window.localStorage.clear(); } catch (e) { /* storage disabled */ }
  // The link held the token: take it out of the address bar and the history entry too.
  try {
    if (window.location.pathname.indexOf(config.base + "/w/") === 0) {
      window.history.replaceState(null, "", config.base + "/kiosk");
    }
  } catch (e) { /* no history API */ }
  kiosk.stepIndex = null;
  kiosk.stepId = null;
  kiosk.lastError = null;
  kiosk.hint = null;
  kiosk.challenge = null;
  kiosk.sessionId = null;
  kiosk.events.length = 0;
  // Resource timings list every URL this investor's witness fetched.
  try { performance.clearResourceTimings(); } catch (e) { /* old browsers */ }
  kiosk.preflight = { camera: false, mic: false, connection: false, rtt_ms: null };
  applyI18n();
  renderHint();
  renderPreflight();
  $("subtitle").textContent = "";
  $("heard").textContent = "";
  $("heard").hidden = true;
  $("btn-replay").disabled = true;
  setSpeed(1);
  if (!attractAvatar) attractAvatar = Avatar.create($("attract-avatar"), { label: "" });
  $("btn-attract-start").hidden = !config.kioskStart;
  $("attract-staff").hidden = config.kioskStart;
  setPhase("attract");
}

/** Kiosk: ask the server for the next customer's witness, then run it in this page. */
export function startNext() {
  var btn = $("btn-attract-start");
  if (btn.disabled) return;
  btn.disabled = true;
  primeAudio();
  requestFullscreen();
  var body_ = { locale: state.locale };
  if (config.kioskFlow) body_.flow = config.kioskFlow;
  fetch(config.base + "/kiosk/next", {
    method: "POST", credentials: "same-origin", cache: "no-store",
    headers: { "Content-Type": "application/json" }, body: JSON.stringify(body_)
  }).then(function (r) {
    if (!r.ok) throw new Error("kiosk/next HTTP " + r.status);
    return r.json();
  }).then(function (data) {
    btn.disabled = false;
    if (!data || typeof data.token !== "string" || !data.token) throw new Error("no token");
    beginSession(data.token);
  }).catch(function (err) {
    btn.disabled = false;
    if (window.console) console.warn("could not start the next witness", err);
    kiosk.lastError = "kiosk_start_failed";
    $("attract-error").hidden = false;
    setTimer("attract-error", function () { $("attract-error").hidden = true; }, 5000);
  });
}

function beginSession(token) {
  var chosen = state.localeChosen;
  var locale = state.locale;
  resetState(locale);
  state.localeChosen = chosen;
  config.token = token;
  kiosk.sessions += 1;
  $("attract-error").hidden = true;
  setPhase("loading");
  connect();
}

export function requestFullscreen() {
  if (!config.kioskMode || document.fullscreenElement) return;
  var el = document.documentElement;
  try {
    var p = el.requestFullscreen && el.requestFullscreen({ navigationUI: "hide" });
    if (p && p.catch) p.catch(function () { /* chromium --kiosk is already full screen */ });
  } catch (e) { /* not allowed here */ }
}
