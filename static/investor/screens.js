/* The page's screens (one per phase) and what is drawn on them from the session state: the
 * strings in the current language, the step progress, the error screen.
 */

import { ABORT_ALIASES, ABORT_REASONS, REFERRED } from "./protocol.js";
import { $, body, kiosk, state, t } from "./state.js";
import { avatar, renderStatus, setAvatar } from "./guide.js";
import { renderCountdown } from "./cues.js";
import { armIdle, scheduleAttract } from "./kiosk.js";

const SCREENS = ["loading", "consent", "devices", "connecting", "witness", "done", "ended", "error", "attract"];
// Which heading goes with an error code (the message itself is "error." + code).
const ERROR_TITLES = {
  permission_denied: "error.title_device", no_camera: "error.title_device",
  camera_in_use: "error.title_device", device_error: "error.title_device",
  link_invalid: "error.title_link", link_expired: "error.title_link", link_used: "error.title_link",
  connection_failed: "error.title_connection", connection_lost: "error.title_connection",
  server_lost: "error.title_server",
  server_busy: "error.title_connection", witness_busy: "error.title_busy",
  node_draining: "error.title_busy", storage_full: "error.title_busy",
  media_failed: "error.title_connection", unsupported: "error.title_browser",
  no_microphone: "error.title_device", unsupported_browser: "error.title_browser"
};

export function applyI18n() {
  document.documentElement.lang = state.locale;
  var nodes = document.querySelectorAll("[data-i18n]");
  for (var i = 0; i < nodes.length; i++) {
    var key = nodes[i].getAttribute("data-i18n");
    // Buttons with an icon keep their icon: their text lives in a child span.
    nodes[i].textContent = t(key);
  }
  var labelled = document.querySelectorAll("[data-i18n-aria]");
  for (var j = 0; j < labelled.length; j++) {
    labelled[j].setAttribute("aria-label", t(labelled[j].getAttribute("data-i18n-aria")));
  }
  if (avatar) avatar.setLabel(t("witness.guide_name"));
  renderProgress();
  renderStatus();
  renderCountdown();
  if (state.errorCode) $("error-message").textContent = t("error." + state.errorCode);
  if (state.endedReason) renderEnded(state.endedReason);
  if (!state.step) $("subtitle").textContent = t("witness.subtitle_wait");
}

export function setPhase(phase) {
  if (SCREENS.indexOf(phase) < 0) throw new Error("unknown phase " + phase);
  kiosk.phase = phase;
  body.className = "phase-" + phase;
  var screens = document.querySelectorAll("[data-screen]");
  for (var i = 0; i < screens.length; i++) {
    screens[i].hidden = screens[i].getAttribute("data-screen") !== phase;
  }
  var heading = document.querySelector('[data-screen="' + phase + '"] h1');
  if (heading) {
    // Move screen-reader focus to the new screen's title without scrolling jumps.
    heading.setAttribute("tabindex", "-1");
    try { heading.focus({ preventScroll: true }); } catch (e) { /* old browsers */ }
  }
  if (phase === "done" || phase === "ended") scheduleAttract();
  armIdle();
}

function stepPosition(step) {
  var steps = (state.joined && state.joined.steps) || [];
  for (var i = 0; i < steps.length; i++) if (steps[i].id === step.id) return i + 1;
  return (Number(step.index) || 0) + 1;  // step.index is 0-based
}

export function renderProgress() {
  var list = $("progress-steps");
  var steps = (state.joined && state.joined.steps) || [];
  var step = state.step;
  var current = step ? stepPosition(step) : 0;
  var total = (step && Number(step.total)) || steps.length;
  while (list.firstChild) list.removeChild(list.firstChild);
  for (var i = 0; i < steps.length; i++) {
    var li = document.createElement("li");
    var pos = i + 1;
    li.className = pos < current ? "done" : pos === current ? "current" : "todo";
    var bar = document.createElement("span");
    bar.className = "seg-bar";
    var title = document.createElement("span");
    title.className = "seg-title";
    title.textContent = String(steps[i].title || "");
    var sr = document.createElement("span");
    sr.className = "sr-only";
    sr.textContent = pos < current ? " (" + t("common.step_done") + ")" :
      pos === current ? " (" + t("common.step_current") + ")" : "";
    li.appendChild(bar);
    li.appendChild(title);
    li.appendChild(sr);
    list.appendChild(li);
  }
  list.setAttribute("aria-valuemax", String(total || 0));
  list.setAttribute("aria-valuenow", String(current));
  $("progress-label").textContent = current ? t("witness.progress", { current: current, total: total }) : "";
  var currentTitle = step && steps[current - 1] ? steps[current - 1].title : "";
  $("progress-title").textContent = String(currentTitle || "");
  $("progress").setAttribute("data-current", String(current));
  $("progress").setAttribute("data-total", String(total || 0));
}

export function abortKey(reason) {
  // "step_failed:<step id>" and "referred:<step id>" carry the step after the colon; the
  // message needs only the kind.
  var kind = String(reason || "").split(":")[0];
  kind = ABORT_ALIASES[kind] || kind;
  return ABORT_REASONS.indexOf(kind) >= 0 ? "aborted." + kind : "aborted.unknown";
}

/** The ended screen for aborted {reason}: its message, and the line asking for a new link,
 *  hidden when a member of staff continues the witness (referred:<step id>). */
export function renderEnded(reason) {
  var key = abortKey(reason);
  $("ended-message").textContent = t(key);
  $("ended-contact").hidden = key === "aborted." + REFERRED;
}

/** Show an error screen; retry is a function or null (no retry offered). */
export function showError(code, retry, serverDetail) {
  kiosk.lastError = code;
  state.errorCode = code;
  $("error-message").textContent = t("error." + code);
  $("error-title").setAttribute("data-i18n", ERROR_TITLES[code] || "error.title");
  $("error-title").textContent = t(ERROR_TITLES[code] || "error.title");
  // A reference code helps the broker's staff; the server's free text is not shown.
  $("error-code").textContent = "ref: " + code;
  var btn = $("btn-retry");
  btn.hidden = !retry;
  btn.onclick = retry ? function () {
    btn.disabled = true;
    state.errorCode = null;
    setTimeout(function () { btn.disabled = false; }, 800);
    retry();
  } : null;
  if (serverDetail && window.console) console.warn("server error", code, serverDetail);
  setPhase("error");
  // A dead end: in kiosk mode, clear it away for the next investor.
  if (!retry) scheduleAttract();
}

export function enterWitness() {
  setPhase("witness");
  setAvatar(state.step ? avatar.getState() : "thinking");
}
