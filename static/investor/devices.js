/* The camera and microphone: asking for them, the pre-flight checks (camera frames,
 * microphone level, connection round trip), the previews, and the device error codes.
 */

import { $, body, config, kiosk, setTimer, state, t } from "./state.js";
import { emit } from "./socket.js";
import { setPhase, showError } from "./screens.js";
import { fatal } from "./session.js";

const MIC_MOVE_LEVEL = 0.12;         // pre-flight: the meter must reach this (about -54 dBFS)
const CAMERA_MIN_FRAMES = 5;         // pre-flight: this many decoded preview frames
const CONNECTION_MAX_MS = 3000;      // pre-flight: a health round trip slower than this fails
// Noise suppression and automatic gain reshape speech and cost the answer recogniser
// accuracy; echo cancellation stays on because the guide may be heard through speakers.
const MEDIA_CONSTRAINTS = {
  video: { width: 640, height: 480, frameRate: 15 },
  audio: { echoCancellation: true, noiseSuppression: false, autoGainControl: false }
};
// Device errors: what the browser throws -> our code (also sent as client_error {code}).
const DEVICE_ERRORS = {
  NotAllowedError: "permission_denied",
  PermissionDeniedError: "permission_denied",
  SecurityError: "permission_denied",
  NotFoundError: "no_camera",
  DevicesNotFoundError: "no_camera",
  OverconstrainedError: "no_camera",
  ConstraintNotSatisfiedError: "no_camera",
  NotReadableError: "camera_in_use",
  TrackStartError: "camera_in_use"
};
const CHECK_WAIT = { camera: "devices.check_camera_wait", mic: "devices.check_mic_wait",
                     connection: "devices.check_connection_wait" };

export function supported() {
  return !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia &&
            window.RTCPeerConnection && window.Promise);
}

function deviceErrorCode(err) {
  var name = err && err.name;
  return (name && DEVICE_ERRORS[name]) || "device_error";
}

export function startDevices() {
  setPhase("devices");
  resetPreflight();
  $("devices-help").textContent = t("devices.asking");
  $("devices-help").setAttribute("data-i18n", "devices.asking");
  $("btn-devices-ok").disabled = true;
  stopStream();
  navigator.mediaDevices.getUserMedia(MEDIA_CONSTRAINTS).then(function (stream) {
    if (state.over) { stream.getTracks().forEach(function (tr) { tr.stop(); }); return; }
    state.stream = stream;
    stream.getTracks().forEach(function (track) {
      track.addEventListener("ended", function () { onTrackEnded(track); });
    });
    attachPreview($("device-preview"), stream);
    attachPreview($("witness-preview"), stream);
    startMeter(stream);
    countFrames($("device-preview"));
    checkConnection();
    $("devices-help").setAttribute("data-i18n", "devices.body");
    $("devices-help").textContent = t("devices.body");
    renderPreflight();
  }).catch(function (err) {
    var code = deviceErrorCode(err);
    // The server's code set has no device_error: media_error is its catch-all.
    emit("client_error", { code: code === "device_error" ? "media_error" : code });
    showError(code, startDevices);
  });
}

function resetPreflight() {
  kiosk.preflight = { camera: false, mic: false, connection: false, rtt_ms: null };
  state.meterPeak = 0;
  state.frames = 0;
  renderPreflight();
}

/** Each check shows ok / waiting; the witness can start only when all three pass. */
export function renderPreflight() {
  var pf = kiosk.preflight;
  ["camera", "mic", "connection"].forEach(function (name) {
    var row = $("check-" + name);
    if (!row) return;
    var ok = !!pf[name];
    row.setAttribute("data-ok", ok ? "true" : "false");
    row.querySelector(".check-state").textContent = t(ok ? "devices.check_ok" : CHECK_WAIT[name]);
  });
  var ready = pf.camera && pf.mic && pf.connection && !!state.stream;
  var btn = $("btn-devices-ok");
  var wasDisabled = btn.disabled;
  btn.disabled = !ready;
  if (ready && wasDisabled && kiosk.phase === "devices") btn.focus();
}

function markPreflight(name, ok) {
  if (kiosk.preflight[name] === ok) return;
  kiosk.preflight[name] = ok;
  renderPreflight();
}

/** Camera check: decoded preview frames must arrive (a black or frozen device gives none). */
function countFrames(video) {
  var stream = state.stream;
  var lastTime = -1;
  function seen() {
    if (state.stream !== stream) return false;
    state.frames += 1;
    if (state.frames >= CAMERA_MIN_FRAMES && video.videoWidth > 0) markPreflight("camera", true);
    return state.frames < CAMERA_MIN_FRAMES;
  }
  if (video.requestVideoFrameCallback) {
    var onFrame = function () { if (seen()) state.videoCb = video.requestVideoFrameCallback(onFrame); };
    state.videoCb = video.requestVideoFrameCallback(onFrame);
    return;
  }
  setTimer("frames", function poll() {
    if (video.currentTime !== lastTime && video.videoWidth > 0) { lastTime = video.currentTime; if (!seen()) return; }
    setTimer("frames", poll, 100);
  }, 100);
}

/** Connection check: the socket is up and the server answers a health request quickly. */
function checkConnection() {
  if (!window.fetch) { markPreflight("connection", !!(state.socket && state.socket.connected)); return; }
  var t0 = Date.now();
  fetch(config.base + "/api/health", { cache: "no-store", credentials: "same-origin" }).then(function (r) {
    var rtt = Date.now() - t0;
    kiosk.preflight.rtt_ms = rtt;
    var ok = r.ok && rtt < CONNECTION_MAX_MS && !!(state.socket && state.socket.connected);
    markPreflight("connection", ok);
    if (!ok) retryConnectionCheck();
  }).catch(function () {
    markPreflight("connection", false);
    retryConnectionCheck();
  });
}

function retryConnectionCheck() {
  // A slow moment on the network should not hold the investor up for good.
  if (kiosk.phase === "devices" && !state.over) setTimer("conn-check", checkConnection, 2000);
}

function attachPreview(video, stream) {
  video.srcObject = stream;
  var p = video.play();
  if (p && p.catch) p.catch(function () { /* muted preview; autoplay attribute retries */ });
}

function onTrackEnded(track) {
  // The camera was unplugged or taken by the system mid-session.
  if (state.over || track.readyState !== "ended" || !state.stream) return;
  if (kiosk.phase === "witness" || kiosk.phase === "connecting") {
    emit("client_error", { code: "media_error" });
    fatal("media_failed");
  }
}

export function stopStream() {
  if (state.stream) {
    state.stream.getTracks().forEach(function (tr) { tr.stop(); });
    state.stream = null;
  }
  ["device-preview", "witness-preview"].forEach(function (id) { $(id).srcObject = null; });
  var v = $("device-preview");
  if (state.videoCb && v.cancelVideoFrameCallback) v.cancelVideoFrameCallback(state.videoCb);
  state.videoCb = 0;
  stopMeter();
}

export function ensureAudioContext() {
  var Ctx = window.AudioContext || window.webkitAudioContext;
  if (!Ctx) return null;
  if (!state.audioCtx) {
    try { state.audioCtx = new Ctx(); } catch (e) { return null; }
  }
  if (state.audioCtx.state === "suspended") state.audioCtx.resume();
  return state.audioCtx;
}

function startMeter(stream) {
  stopMeter();
  var ctx = ensureAudioContext();
  // No Web Audio: the level cannot be measured here, so this check cannot hold the investor up.
  if (!ctx) { markPreflight("mic", true); return; }
  if (!stream.getAudioTracks().length) return;
  var source = ctx.createMediaStreamSource(stream);
  var analyser = ctx.createAnalyser();
  analyser.fftSize = 1024;
  source.connect(analyser);
  var buf = new Float32Array(analyser.fftSize);
  var fill = $("mic-meter-fill");
  var meter = $("mic-meter");
  var smooth = 0;
  function tick() {
    analyser.getFloatTimeDomainData(buf);
    var sum = 0;
    for (var i = 0; i < buf.length; i++) sum += buf[i] * buf[i];
    var rms = Math.sqrt(sum / buf.length);
    // -60 dBFS .. -10 dBFS mapped to 0..1: speech at arm's length lands mid-scale.
    var db = 20 * Math.log10(rms + 1e-9);
    var level = Math.max(0, Math.min(1, (db + 60) / 50));
    smooth = level > smooth ? level : smooth * 0.85 + level * 0.15;
    // Microphone check: the level must move (a muted or dead microphone stays at the floor).
    if (smooth > state.meterPeak) state.meterPeak = smooth;
    if (!kiosk.preflight.mic && state.meterPeak >= MIC_MOVE_LEVEL) markPreflight("mic", true);
    fill.style.transform = "scaleX(" + smooth.toFixed(3) + ")";
    meter.setAttribute("aria-valuenow", String(Math.round(smooth * 100)));
    body.style.setProperty("--mic-level", smooth.toFixed(3));
    state.meterRaf = requestAnimationFrame(tick);
  }
  state.meterSource = source;
  state.meterRaf = requestAnimationFrame(tick);
}

function stopMeter() {
  if (state.meterRaf) cancelAnimationFrame(state.meterRaf);
  state.meterRaf = 0;
  if (state.meterSource) { try { state.meterSource.disconnect(); } catch (e) { /* closed */ } }
  state.meterSource = null;
}
