/* The page's state, shared by every module: its settings (the body's data-* attributes),
 * the test hooks (window.kiosk), the current session's state, timers, and t() for strings.
 *
 * state is replaced for each witness (resetState); modules read it through the live
 * binding, so a callback of an earlier witness that checks state sees the new one.
 */

import * as I18N from "../i18n.js";

const ATTRACT_AFTER_MS = 10000;    // kiosk: the end screen stays this long, then resets
const KIOSK_IDLE_MS = 90000;       // kiosk: untouched this long before the witness starts: reset

export const body = document.body;
// The guide's voice: one audio element for every prompt of every witness.
export const audio = document.getElementById("prompt-audio");

export const config = {
  token: body.getAttribute("data-token") || "",
  // The node's path prefix ("/n/<node>" behind a cluster's balancer, "" on one node):
  // every URL this page asks the server for starts with it (kiosk.cluster.routing).
  base: body.getAttribute("data-base") || "",
  broker: body.getAttribute("data-broker") || "",
  kioskMode: body.getAttribute("data-kiosk-mode") === "true",
  // The /kiosk page may start a witness for the next customer itself (demo / staff setting).
  kioskStart: body.getAttribute("data-kiosk-start") === "true",
  kioskFlow: body.getAttribute("data-kiosk-flow") || "",
  resetMs: Number(body.getAttribute("data-kiosk-reset-ms")) || ATTRACT_AFTER_MS,
  idleMs: Number(body.getAttribute("data-kiosk-idle-ms")) || KIOSK_IDLE_MS
};

// Test hooks: {phase, stepIndex, stepId, lastError, events, sessionId, sessions, preflight,
// hint, challenge}.
export const kiosk = window.kiosk = { phase: "loading", stepIndex: null, stepId: null, lastError: null, events: [],
                               sessionId: null,
                               sessions: 0, preflight: { camera: false, mic: false, connection: false },
                               hint: null, challenge: null };

export let state = freshState(I18N.normalizeLocale(body.getAttribute("data-locale")));

function freshState(locale) {
  return {
    locale: locale,
    localeChosen: false,    // the investor picked a language: the server's default no longer wins
    speed: 1,
    socket: null,
    joinSent: false,
    joined: null,
    stream: null,
    pc: null,
    over: false,            // done, ended or fatal error: ignore further events
    step: null,
    playId: 0,              // bumps on every playback so stale audio callbacks do nothing
    sent: {},               // "started:seq" / "ended:seq" already emitted
    windowOpen: false,
    windowDeadline: 0,
    windowAnswer: false,  // the open window takes a spoken answer (not an ID card or action step)
    errorCode: null,
    endedReason: null,
    timers: {},
    audioCtx: null,
    meterRaf: 0,
    meterPeak: 0,
    frames: 0,
    videoCb: 0,
    hiddenDuring: null      // the seq of a prompt that played while the tab was hidden
  };
}

export function $(id) { return document.getElementById(id); }

export function t(key, params) {
  var p = { broker: config.broker };
  if (params) for (var k in params) if (Object.prototype.hasOwnProperty.call(params, k)) p[k] = params[k];
  return I18N.t(state.locale, key, p);
}

export function setTimer(name, fn, ms) {
  clearTimer(name);
  state.timers[name] = setTimeout(function () { delete state.timers[name]; fn(); }, ms);
}

export function clearTimer(name) {
  if (state.timers[name]) {
    clearTimeout(state.timers[name]);
    clearInterval(state.timers[name]);
    delete state.timers[name];
  }
}

export function clearAllTimers() {
  Object.keys(state.timers).forEach(clearTimer);
}

/** A new witness (or none, on the kiosk's attract screen): forget the last one's state. */
export function resetState(locale) {
  state = freshState(locale);
}
