/* How a witness ends on this page: done, ended (aborted or cancelled), or a fatal error,
 * and the teardown that releases the camera, the connection and the guide's audio.
 */

import { $, audio, clearAllTimers, config, kiosk, setTimer, state } from "./state.js";
import { emit } from "./socket.js";
import { renderEnded, setPhase, showError } from "./screens.js";
import { stopStream } from "./devices.js";
import { closePc } from "./rtc.js";
import { avatar, hideGate, setAvatar, stopPlayback } from "./guide.js";
import { closeWindow } from "./cues.js";
import { wipe } from "./kiosk.js";
import { plainLink } from "./links.js";

const CANCEL_FALLBACK_MS = 4000;

export function fatal(code, retry) {
  state.over = true;
  teardown(true);
  showError(code, retry || null);
}

export function reload() {
  // A kiosk never reloads a used, single-use link: it goes back to the attract screen.
  if (config.kioskMode) { wipe(); return; }
  // The plain link, not this node's /n/<node>/ address: routed again, it reaches a live node
  // even when this one has died since (a reload of /n/<dead node>/... would not).
  window.location.assign(plainLink(config.base, config.token, window.location.search));
}

export function showEnded(reason) {
  if (state.over && kiosk.phase === "ended") return;
  state.over = true;
  state.endedReason = reason || "unknown";
  teardown(true);
  renderEnded(state.endedReason);
  setPhase("ended");
}

export function showDone() {
  state.over = true;
  teardown(true);
  setPhase("done");
}

export function openCancel() {
  $("cancel-dialog").hidden = false;
  $("btn-cancel-keep").focus();
}

export function closeCancel() {
  $("cancel-dialog").hidden = true;
}

export function confirmCancel() {
  closeCancel();
  emit("cancel", {});
  // The server answers with aborted {reason: "cancelled"}; do not leave the investor waiting.
  setTimer("cancel", function () { showEnded("cancelled"); }, CANCEL_FALLBACK_MS);
}

export function teardown(disconnect) {
  stopPlayback();
  hideGate();
  closeCancel();
  closeWindow();
  clearAllTimers();
  closePc();
  stopStream();
  if (state.audioCtx) {
    try { state.audioCtx.close(); } catch (e) { /* closed */ }
    state.audioCtx = null;
  }
  audio.removeAttribute("src");
  try { audio.load(); } catch (e) { /* nothing loaded */ }
  if (avatar) setAvatar("idle");
  if (disconnect && state.socket) {
    var s = state.socket;
    state.socket = null;
    try { s.disconnect(); } catch (e) { /* gone */ }
  }
}
