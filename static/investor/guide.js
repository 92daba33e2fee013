/* The spoken guide: each step's prompt played with lip-sync (or shown for a reading time when
 * it has no audio), the reports of its playback to the server, the tap-to-continue gate when
 * the browser blocks audio, replay, and the hidden-tab rule.
 */

import * as Avatar from "../avatar.js";
import { $, audio, clearTimer, config, kiosk, setTimer, state, t } from "./state.js";
import { emit } from "./socket.js";
import { enterWitness, renderProgress } from "./screens.js";
import { ensureAudioContext } from "./devices.js";
import { closeWindow, showCardFrame, showChallenge } from "./cues.js";

// A prompt the guide could not speak stays up at least ... and at most this long: the server
// sends reading_seconds within the same bounds (kiosk.flows.model.SHOWN_MIN_SECONDS and
// SHOWN_MAX_SECONDS, tied by tests/test_protocol.py) and waits for it, at the investor's
// speed, plus 6 s.
const READING_MIN_MS = 2500;
const READING_MAX_MS = 20000;

// The guide's face (static/avatar.js); null until createAvatar().
export let avatar = null;
// A short silent WAV, played inside a tap, so that mobile browsers allow the prompts later.
let silentUrl = null;

export function renderStatus() {
  var pill = $("status-pill");
  var key = null;
  if (state.windowOpen) key = null;  // the listening panel says it
  else if (avatar && avatar.getState() === "speaking") key = "witness.speaking";
  else if (avatar && avatar.getState() === "thinking") key = "witness.thinking";
  pill.hidden = !key || kiosk.phase !== "witness";
  pill.setAttribute("data-kind", avatar ? avatar.getState() : "idle");
  $("status-text").textContent = key ? t(key) : "";
}

export function setAvatar(s) {
  if (avatar) avatar.setState(s);
  renderStatus();
}

function stepRef(step) { return { step: step.id, seq: step.seq }; }

function sendOnce(kind, step, extra) {
  var key = kind + ":" + step.seq;
  if (state.sent[key]) return;
  state.sent[key] = true;
  var payload = stepRef(step);
  if (extra) for (var k in extra) if (Object.prototype.hasOwnProperty.call(extra, k)) payload[k] = extra[k];
  emit(kind, payload);
}

export function onRecognised(data) {
  // What the server heard in the answer window, so the investor knows they were understood.
  // The server sends words only when they are meaningful (characters or words, never
  // phones) and sure (kiosk.speech.observer.words_sure: no junk, no loop, no very low
  // confidence, never words of someone else's will, which are not echoed); an answer heard
  // clearly but not taken also says what to say (data.hint, data.ask); an answer whose words
  // are not sent gets a plain "not heard clearly" (witness.unclear).
  if (state.over || !data) return;
  var el = $("heard");
  // A "stop" is asked once more to confirm it (kiosk.session), or ends the witness.
  var retried = data.outcome === "retry" || data.outcome === "flag" || data.outcome === "stop";
  var doubt = { own_will: "witness.own_will", question: "witness.heard_question",
                hesitation: "witness.heard_hesitation" }[data.hint];
  if (data.text && retried && doubt) {
    // Someone else's will, a question or a hesitation was heard: ask for the investor's own
    // answer, never give the words to say (the retried prompt leaves them out too).
    el.textContent = t(doubt, { text: String(data.text).slice(0, 120) });
  } else if (data.text && retried && data.ask && (data.hint === "heard" || data.hint === "understanding_only")) {
    // Heard clearly, but not the answer asked for: what was heard, and what to say (issue #12;
    // never "we could not hear that clearly").
    el.textContent = t(data.hint === "understanding_only" ? "witness.say_willing" : "witness.heard_ask",
                       { text: String(data.text).slice(0, 120), answer: String(data.ask) });
  } else if (data.text) {
    el.textContent = t("witness.heard", { text: String(data.text).slice(0, 120) });
  } else if (data.refusal) {
    // Heard, as a "no" (or with one in it): never "we could not hear you" (issue #12).
    el.textContent = t("witness.heard_refusal");
  } else if (retried) {
    el.textContent = t(data.intent === "silence" ? "witness.not_heard" : "witness.unclear");
  } else {
    return;
  }
  el.hidden = false;
}

export function onStep(data) {
  if (state.over || !data) return;
  if (kiosk.phase !== "witness") enterWitness();
  $("heard").hidden = true;
  stopPlayback();
  hideGate();
  closeWindow();
  showChallenge(null);
  showCardFrame(data.kind === "id_document");
  state.step = data;
  kiosk.stepIndex = typeof data.index === "number" ? data.index : null;
  kiosk.stepId = data.id === undefined ? null : data.id;
  var text = String(data.text || "");
  $("subtitle").textContent = text;
  $("subtitle").classList.toggle("long", textWeight(text) > 110);
  renderProgress();
  var prompt = data.prompt;
  if (prompt) {  // the server names its files from its root: they are under this node's prefix
    prompt.url = onThisNode(prompt.url);
    prompt.visemes_url = onThisNode(prompt.visemes_url);
  }
  $("btn-replay").disabled = !(prompt && prompt.url);
  if (prompt && prompt.url) playPrompt(data, false);
  else readAloudSilently(data);
}

function onThisNode(url) {
  return typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/"
    ? config.base + url : url;
}

export function stopPlayback() {
  state.playId += 1;
  clearTimer("reading");
  audio.onplaying = audio.onended = audio.onerror = null;
  try { audio.pause(); } catch (e) { /* nothing loaded */ }
  if (avatar) avatar.silence();
}

function afterSpeech() {
  if (avatar) avatar.silence();
  setAvatar(state.windowOpen ? "listening" : "thinking");
}

function loadVisemes(prompt, playId) {
  if (!prompt.visemes_url || !window.fetch) {
    if (avatar) avatar.speak(audio, []);
    return;
  }
  fetch(prompt.visemes_url, { credentials: "same-origin" }).then(function (r) {
    if (!r.ok) throw new Error("visemes HTTP " + r.status);
    return r.json();
  }).then(function (body) {
    // The server's file is {sha256, duration, frame_seconds, visemes: [[t, open], ...]}.
    var points = Array.isArray(body) ? body : (body && body.visemes) || [];
    if (playId === state.playId && avatar) avatar.speak(audio, points);
  }).catch(function (err) {
    // Lip-sync is decoration: fall back to a generic mouth movement.
    if (window.console) console.warn("visemes unavailable", err);
    if (playId === state.playId && avatar) avatar.speak(audio, []);
  });
}

function playPrompt(step, isReplay) {
  stopPlayback();
  var id = state.playId;
  var prompt = step.prompt;
  audio.onplaying = function () {
    if (id !== state.playId) return;
    setAvatar("speaking");
    if (!isReplay) sendOnce("prompt_started", step);
  };
  audio.onended = function () {
    if (id !== state.playId) return;
    if (!isReplay) sendOnce("prompt_ended", step);
    afterSpeech();
  };
  audio.onerror = function () {
    if (id !== state.playId) return;
    onPromptFailed(step, isReplay, "media_error");
  };
  // Setting src resets playbackRate to defaultPlaybackRate, so set both.
  audio.defaultPlaybackRate = state.speed;
  audio.src = prompt.url;
  audio.playbackRate = state.speed;
  // The mouth stays shut until its timeline arrives: moving it generically meanwhile would
  // be out of sync with the words (the prompt starts with ~100 ms of silence anyway).
  loadVisemes(prompt, id);
  if (!isReplay && document.hidden) {
    // Nobody is looking: keep the prompt until the tab is visible, then ask for a tap.
    state.hiddenDuring = step.seq;
    if (avatar) avatar.silence();
    setAvatar("idle");
    return;
  }
  startAudio(step, isReplay, id);
}

function startAudio(step, isReplay, id) {
  var p;
  try { p = audio.play(); } catch (e) { p = Promise.reject(e); }
  if (!p || !p.then) return;
  p.catch(function (err) {
    if (id !== state.playId) return;
    if (err && err.name === "NotAllowedError") {
      if (!isReplay) sendOnce("prompt_blocked", step, { reason: "autoplay" });
      showGate(step, isReplay, id);
    } else if (!(err && err.name === "AbortError")) {
      onPromptFailed(step, isReplay, "media_error");
    }
  });
}

function onPromptFailed(step, isReplay, reason) {
  stopPlayback();
  hideGate();
  $("btn-replay").disabled = true;  // the audio cannot be played on this device
  if (isReplay) { afterSpeech(); return; }
  sendOnce("prompt_blocked", step, { reason: reason });
  readAloudSilently(step);
}

/** No audio (TTS degraded or unplayable): show the text for a reading time, then go on. */
function readAloudSilently(step) {
  var id = state.playId;
  sendOnce("prompt_started", step);
  if (avatar) avatar.speakSilently();
  setAvatar("speaking");
  setTimer("reading", function () {
    if (id !== state.playId) return;
    sendOnce("prompt_ended", step);
    afterSpeech();
  }, readingMs(step) / state.speed);
}

/** Rough display length: a Chinese character is about two Latin letters wide. */
function textWeight(text) {
  var cjk = (text.match(/[\u3400-\u9fff\uf900-\ufaff]/g) || []).length;
  return text.length + cjk;
}

/** How long the subtitle of a prompt without audio stays up: the server's reading time
 *  (step.reading_seconds, from the one reading-rate model in kiosk/flows/model.py). */
function readingMs(step) {
  var seconds = Number(step.reading_seconds);
  var ms = isFinite(seconds) && seconds > 0 ? seconds * 1000 : 0;
  return Math.max(READING_MIN_MS, Math.min(READING_MAX_MS, ms));
}

function showGate(step, isReplay, id, restart) {
  var gate = $("gate");
  gate.hidden = false;
  setAvatar("idle");
  var btn = $("btn-gate");
  // The whole overlay is the tap target: any tap on it counts as the gesture.
  gate.onclick = function () {
    gate.hidden = true;
    gate.onclick = null;
    if (id !== state.playId) return;
    ensureAudioContext();
    if (restart) {
      // From the start again; if it had begun in the hidden tab, that is a replay.
      if (state.sent["prompt_started:" + step.seq]) emit("prompt_replayed", stepRef(step));
      playPrompt(step, isReplay);
      return;
    }
    var p = audio.play();
    if (p && p.catch) {
      p.catch(function (err) {
        if (id !== state.playId) return;
        if (window.console) console.warn("prompt still blocked", err);
        onPromptFailed(step, isReplay, "autoplay");
      });
    }
  };
  btn.focus();
}

export function hideGate() {
  $("gate").hidden = true;
  $("gate").onclick = null;
}

export function replay() {
  var step = state.step;
  if (!step || !step.prompt || !step.prompt.url || state.over) return;
  // The evidence must show that the guide's voice was heard again (it may be in the answer).
  emit("prompt_replayed", stepRef(step));
  playPrompt(step, true);
}

/** A prompt playing in a hidden tab may not be heard: pause it and ask for a tap on return. */
export function onVisibility() {
  var step = state.step;
  if (state.over || !step || !step.prompt || !step.prompt.url) return;
  if (document.hidden) {
    if (!audio.paused && !audio.ended) {
      state.hiddenDuring = step.seq;
      stopPlayback();
    }
    return;
  }
  if (state.hiddenDuring === step.seq) {
    state.hiddenDuring = null;
    audio.defaultPlaybackRate = state.speed;
    audio.src = step.prompt.url;
    audio.playbackRate = state.speed;
    emit("prompt_blocked", { step: step.id, seq: step.seq, reason: "hidden" });
    showGate(step, false, state.playId, true);
  }
}

export function primeAudio() {
  ensureAudioContext();
  if (!silentUrl) {
    var rate = 8000;
    var n = 800;
    var buf = new ArrayBuffer(44 + n * 2);
    var v = new DataView(buf);
    var w = function (o, s) { for (var i = 0; i < s.length; i++) v.setUint8(o + i, s.charCodeAt(i)); };
    w(0, "RIFF"); v.setUint32(4, 36 + n * 2, true); w(8, "WAVE"); w(12, "fmt ");
    v.setUint32(16, 16, true); v.setUint16(20, 1, true); v.setUint16(22, 1, true);
    v.setUint32(24, rate, true); v.setUint32(28, rate * 2, true); v.setUint16(32, 2, true);
    v.setUint16(34, 16, true); w(36, "data"); v.setUint32(40, n * 2, true);
    silentUrl = URL.createObjectURL(new Blob([buf], { type: "audio/wav" }));
  }
  if (state.step) return;  // a prompt is loaded: do not replace it
  audio.src = silentUrl;
  var p = audio.play();
  if (p && p.catch) p.catch(function () { /* only a warm-up */ });
}

export function createAvatar() {
  avatar = Avatar.create($("avatar"), { label: "" });
}
