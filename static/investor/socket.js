/* The Socket.IO connection: one attempt per witness, the server's events routed to the
 * modules that handle them, and emit() for what the page sends. The vendored client
 * (/static/vendor/socket.io.min.js, a classic script) provides window.io.
 */

import * as I18N from "../i18n.js";
import { BUSY_ERRORS, LINK_ERRORS, SOFT_ERRORS } from "./protocol.js";
import { $, clearTimer, config, kiosk, setTimer, state, t } from "./state.js";
import { applyI18n, setPhase, showError } from "./screens.js";
import { fatal, reload, showDone, showEnded, teardown } from "./session.js";
import { startDevices, stopStream } from "./devices.js";
import { closePc, negotiate, onAnswer } from "./rtc.js";
import { onRecognised, onStep } from "./guide.js";
import { onCardSide, onChallenge, onChallengeResult, onHint, onWindowClose, onWindowOpen } from "./cues.js";
import { sendPrefs } from "./prefs.js";

const HEARTBEAT_MS = 2000;
const JOIN_TIMEOUT_MS = 15000;
const PROBE_TIMEOUT_MS = 4000;

export function emit(name, payload) {
  if (state.socket && state.socket.connected) state.socket.emit(name, payload);
}

export function connect() {
  if (typeof window.io !== "function") { fatal("server_error", reload); return; }
  // One attempt only: the link is single-use, so a silent reconnect could not rejoin.
  // forceNew: a kiosk runs many sessions in one page; never reuse a cached, closed manager.
  var socket = window.io({ path: config.base + "/socket.io", transports: ["websocket"],
                           reconnection: false, forceNew: true });
  state.socket = socket;

  socket.onAny(function (name) {
    kiosk.events.push({ name: name, t: Date.now() });
  });
  socket.on("connect", function () {
    if (state.joinSent) return;
    state.joinSent = true;
    socket.emit("join", { token: config.token });
    setTimer("join", function () {
      if (!state.joined && !state.over) fatal("connection_failed", reload);
    }, JOIN_TIMEOUT_MS);
  });
  socket.on("connect_error", function (err) {
    if (state.over) return;
    // Refused at the door (too many connections): say so, and let them try again later.
    if (err && err.data && err.data.code === "server_busy") { fatal("server_busy", reload); return; }
    if (!state.joined) fatal("connection_failed", reload);
    else connectionLost();
  });
  socket.on("disconnect", function () {
    if (state.over) return;
    if (!state.joined) fatal("connection_failed", reload);
    else connectionLost();
  });
  socket.on("joined", onJoined);
  socket.on("answer", onAnswer);
  socket.on("step", onStep);
  socket.on("window_open", onWindowOpen);
  socket.on("window_close", onWindowClose);
  socket.on("finished", function () { if (!state.over) showDone(); });
  socket.on("aborted", function (data) { showEnded(data && data.reason); });
  socket.on("error", onServerError);
  socket.on("hint", onHint);
  socket.on("challenge", onChallenge);
  socket.on("challenge_result", onChallengeResult);
  socket.on("card_side", onCardSide);
  socket.on("recognised", onRecognised);
}

// The witness's socket dropped without an end from the server. Whose fault was it? Ask the
// service itself, without the node's path prefix (the balancer sends /api/health to any live
// node): an answer means the investor's connection works and our server (the node running the
// witness) failed: "server_lost"; no answer within a few seconds (or the browser says it is
// offline) means their connection: "connection_lost". Both say what to do next: a new link
// from the broker.
function connectionLost() {
  state.over = true;
  teardown(true);
  kiosk.connectionProbe = "probing";
  var done = false;
  function show(code) {
    if (done) return;
    done = true;
    kiosk.connectionProbe = code;
    showError(code, null);
  }
  if (navigator.onLine === false || typeof fetch !== "function") { show("connection_lost"); return; }
  var ctrl = typeof AbortController === "function" ? new AbortController() : null;
  setTimeout(function () {
    if (ctrl) ctrl.abort();
    show("connection_lost");
  }, PROBE_TIMEOUT_MS);
  fetch(window.location.origin + "/api/health?probe=" + Date.now(),
        { cache: "no-store", credentials: "omit", signal: ctrl ? ctrl.signal : undefined })
    .then(function () { show("server_lost"); })
    .catch(function () { show("connection_lost"); });
}

function onJoined(data) {
  if (state.over || state.joined) return;
  clearTimer("join");
  data = data || {};
  kiosk.sessionId = typeof data.session_id === "string" ? data.session_id : null;
  state.joined = {
    session_id: data.session_id,
    steps: Array.isArray(data.steps) ? data.steps : [],
    ice_servers: Array.isArray(data.ice_servers) ? data.ice_servers : []
  };
  if (data.locale && !state.localeChosen) state.locale = I18N.normalizeLocale(data.locale);
  applyI18n();
  if (state.localeChosen) sendPrefs();  // picked on the attract screen, before the session
  state.timers.heartbeat = setInterval(function () { emit("heartbeat", {}); }, HEARTBEAT_MS);
  setPhase("consent");
}

function onServerError(data) {
  var code = data && typeof data.code === "string" ? data.code : "server_error";
  kiosk.lastError = code;
  if (SOFT_ERRORS.indexOf(code) >= 0) {
    if (window.console) console.warn("server rejected a message:", code);
    return;
  }
  if (state.over) return;
  if (LINK_ERRORS.indexOf(code) >= 0) { fatal(code); return; }
  if (BUSY_ERRORS.indexOf(code) >= 0) { waitForPlace(code, data.retry_after_s); return; }
  if (code === "bad_offer") {
    closePc();
    showError("bad_offer", function () { negotiate(); });
    return;
  }
  if (code === "no_microphone" || code === "no_camera") {
    // Ask for the devices again: the investor allows or plugs in the device first.
    closePc();
    stopStream();
    showError(code, startDevices);
    return;
  }
  if (code === "storage_full") {
    // Our disk is full: the link is still unused; "Try again" joins again later.
    fatal("storage_full", reload);
    return;
  }
  if (code === "unsupported_browser") {
    // Asking again cannot help: this browser has no codec the witness records.
    fatal("unsupported_browser");
    return;
  }
  fatal("server_error", state.joined ? null : reload);
}

// Every witness place is taken (or the node is restarting): the link was not used, so the
// page says how long the wait should be and tries again by itself: when the wait is over,
// or sooner, when GET /api/capacity shows a free place. "Try again" does it now.
const MAX_BUSY_WAIT_S = 600;
const CAPACITY_POLL_MS = 10000;

function waitForPlace(code, retryAfter) {
  var wait = Number(retryAfter);
  if (!(wait > 0)) wait = 60;
  wait = Math.min(MAX_BUSY_WAIT_S, Math.ceil(wait));
  fatal(code, reload);
  var message = $("error-message");
  var minutes = Math.max(1, Math.round(wait / 60));
  message.textContent = t("error." + code) + " " + t("error.busy_wait", { minutes: minutes });
  setTimer("busy_retry", reload, wait * 1000);
  pollForPlace();
}

function pollForPlace() {
  // Spread out: a crowd turned away together does not ask together.
  setTimer("busy_poll", function () {
    fetch(config.base + "/api/capacity", { cache: "no-store" }).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (cap) {
      if (cap && cap.available > 0 && !cap.draining) reload();
      else pollForPlace();
    }).catch(pollForPlace);
  }, CAPACITY_POLL_MS * (0.75 + Math.random() / 2));
}
