/* The WebRTC peer connection: a send-only offer with every ICE candidate (non-trickle),
 * sent over the socket, and the server's answer.
 */

import { clearTimer, kiosk, setTimer, state } from "./state.js";
import { emit } from "./socket.js";
import { enterWitness, setPhase, showError } from "./screens.js";
import { fatal } from "./session.js";
import { startDevices, stopStream } from "./devices.js";

const ICE_GATHER_CAP_MS = 3000;
const ANSWER_TIMEOUT_MS = 20000;

export function closePc() {
  if (state.pc) {
    try { state.pc.close(); } catch (e) { /* already closed */ }
    state.pc = null;
  }
}

function waitForIceGathering(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise(function (resolve) {
    var done = false;
    function finish() {
      if (done) return;
      done = true;
      pc.removeEventListener("icegatheringstatechange", check);
      clearTimeout(cap);
      resolve();
    }
    function check() { if (pc.iceGatheringState === "complete") finish(); }
    // Non-trickle: wait for all candidates, but never more than the cap (slow STUN/TURN).
    var cap = setTimeout(finish, ICE_GATHER_CAP_MS);
    pc.addEventListener("icegatheringstatechange", check);
  });
}

export function negotiate() {
  if (!state.stream) { startDevices(); return; }
  setPhase("connecting");
  closePc();
  var pc;
  try {
    pc = new RTCPeerConnection({ iceServers: state.joined.ice_servers });
  } catch (e) {
    emit("client_error", { code: "unsupported_browser" });
    fatal("unsupported");
    return;
  }
  var stream = state.stream;
  if (!stream.getVideoTracks().length) {
    // The witness must see the investor: say so before any offer.
    try { pc.close(); } catch (e) { /* never used */ }
    emit("client_error", { code: "no_camera" });
    stopStream();
    showError("no_camera", startDevices);
    return;
  }
  if (!stream.getAudioTracks().length) {
    // Spoken consent cannot be heard without a microphone: say so before any offer.
    try { pc.close(); } catch (e) { /* never used */ }
    emit("client_error", { code: "no_microphone" });
    stopStream();
    showError("no_microphone", startDevices);
    return;
  }
  state.pc = pc;
  stream.getVideoTracks().concat(stream.getAudioTracks()).forEach(function (track) {
    pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
  });
  pc.addEventListener("connectionstatechange", function () {
    if (state.pc !== pc || state.over) return;
    if (pc.connectionState === "failed") {
      emit("client_error", { code: "media_error" });
      fatal("media_failed");
    }
  });
  pc.createOffer().then(function (offer) {
    return pc.setLocalDescription(offer);
  }).then(function () {
    return waitForIceGathering(pc);
  }).then(function () {
    if (state.pc !== pc || state.over) return;
    var desc = pc.localDescription;
    emit("offer", { sdp: desc.sdp, type: desc.type });
    setTimer("answer", function () {
      if (!state.over && kiosk.phase === "connecting") {
        closePc();
        showError("bad_offer", function () { negotiate(); });
      }
    }, ANSWER_TIMEOUT_MS);
  }).catch(function (err) {
    if (state.pc !== pc || state.over) return;
    if (window.console) console.warn("offer failed", err);
    emit("client_error", { code: "media_error" });
    closePc();
    showError("bad_offer", function () { negotiate(); });
  });
}

export function onAnswer(data) {
  var pc = state.pc;
  if (!pc || state.over) return;
  clearTimer("answer");
  pc.setRemoteDescription({ type: "answer", sdp: String((data && data.sdp) || "") }).then(function () {
    if (state.over) return;
    if (kiosk.phase === "connecting") enterWitness();
  }).catch(function (err) {
    if (window.console) console.warn("answer rejected", err);
    emit("client_error", { code: "media_error" });
    closePc();
    showError("bad_offer", function () { negotiate(); });
  });
}
