/* The investor's witness page: consent, devices, WebRTC send-only offer over Socket.IO,
 * the spoken guide with subtitles, progress, and the end screens.
 *
 * The entry module (<script type="module">); one concept per module in static/investor/:
 *   protocol.js  codes shared with the server     state.js    settings, session state, timers
 *   socket.js    the Socket.IO connection         screens.js  phases, progress, error screen
 *   devices.js   camera, microphone, pre-flight   rtc.js      the peer connection
 *   guide.js     the spoken guide and its avatar  cues.js     hints, actions, answer window
 *   session.js   done, ended, fatal, teardown     prefs.js    speed and language
 *   kiosk.js     the branch kiosk's attract screen and resets
 * The modules import each other's functions in cycles (an error screen resets the kiosk, the
 * kiosk reset tears the session down); that is safe because no module runs any code at load
 * beyond declaring its constants: everything starts from start() below.
 *
 * Protocol: docs/architecture.md, "Socket.IO protocol". Server strings are only ever put in
 * with textContent. Test hooks: window.kiosk = {phase, stepIndex, stepId, lastError, events}.
 */

import { $, body, config, state } from "./investor/state.js";
import { connect } from "./investor/socket.js";
import { applyI18n, setPhase, showError } from "./investor/screens.js";
import { closeCancel, confirmCancel, openCancel } from "./investor/session.js";
import { startDevices, supported } from "./investor/devices.js";
import { negotiate } from "./investor/rtc.js";
import { createAvatar, onVisibility, primeAudio, replay } from "./investor/guide.js";
import { setSpeed, toggleLocale } from "./investor/prefs.js";
import { armIdle, requestFullscreen, startNext, wipe } from "./investor/kiosk.js";

function bind() {
  $("lang-switch").addEventListener("click", toggleLocale);
  $("btn-start").addEventListener("click", function () {
    primeAudio();
    startDevices();
  });
  $("btn-devices-ok").addEventListener("click", function () {
    primeAudio();
    negotiate();
  });
  $("btn-replay").addEventListener("click", replay);
  $("btn-attract-start").addEventListener("click", startNext);
  ["btn-done-finish", "btn-ended-finish", "btn-error-finish"].forEach(function (id) {
    $(id).addEventListener("click", wipe);
    $(id).hidden = !config.kioskMode;
  });
  document.addEventListener("visibilitychange", onVisibility);
  if (config.kioskMode) {
    // Touch-first: any touch keeps the customer's screen alive; no context menu, no zoom.
    document.addEventListener("pointerdown", armIdle, { passive: true });
    document.addEventListener("contextmenu", function (e) { e.preventDefault(); });
    document.addEventListener("pointerdown", requestFullscreen, { passive: true });
  }
  $("btn-cancel").addEventListener("click", openCancel);
  $("btn-cancel-keep").addEventListener("click", closeCancel);
  $("btn-cancel-confirm").addEventListener("click", confirmCancel);
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && !$("cancel-dialog").hidden) closeCancel();
  });
  var segs = document.querySelectorAll("[data-speed]");
  for (var i = 0; i < segs.length; i++) {
    segs[i].addEventListener("click", function (e) {
      setSpeed(Number(e.currentTarget.getAttribute("data-speed")));
    });
  }
}

function start() {
  createAvatar();
  bind();
  applyI18n();
  if (config.kioskMode) {
    body.setAttribute("data-kiosk", "true");
    document.documentElement.classList.add("kiosk");
  }
  if (config.kioskMode && !config.token) {  // the /kiosk page: wait for the next customer
    wipe();
    return;
  }
  setPhase("loading");
  // Check before joining, so an unusable browser does not use up the single-use link.
  if (!supported()) {
    state.over = true;
    showError("unsupported", null);
    return;
  }
  connect();
}

start();
