/* The investor's preferences: speech speed and language, reported to the server. */

import { audio, state } from "./state.js";
import { emit } from "./socket.js";
import { applyI18n } from "./screens.js";

const SPEEDS = [0.8, 1, 1.2];

export function sendPrefs() {
  if (state.joined) emit("prefs", { speed: state.speed, captions: true, locale: state.locale });
}

export function setSpeed(speed) {
  if (SPEEDS.indexOf(speed) < 0) return;
  state.speed = speed;
  audio.defaultPlaybackRate = speed;
  audio.playbackRate = speed;
  var segs = document.querySelectorAll("[data-speed]");
  for (var i = 0; i < segs.length; i++) {
    segs[i].setAttribute("aria-pressed", Number(segs[i].getAttribute("data-speed")) === speed ? "true" : "false");
  }
  sendPrefs();
}

export function toggleLocale() {
  state.locale = state.locale === "zh-CN" ? "en" : "zh-CN";
  state.localeChosen = true;
  applyI18n();
  sendPrefs();
}
