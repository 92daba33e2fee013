/* The steps of the checked script in the chosen language, each with a play button: the
 * server's guide renders the prompt (POST urls.prompt), the page plays it with the guide's face
 * lip-synced (avatar.js), and shows its duration and what the voice says. */

import * as Avatar from "../avatar.js";
import { $, el, page, state } from "./page.js";
import { body, post } from "./api.js";

let avatar = null;

/** Offer these locales in the language menu, keeping the choice when it is still offered. */
export function setLocales(locales) {
  if (locales.join() === state.locales.join()) return;
  const localeSel = $("bk-locale");
  const keep = localeSel.value;
  localeSel.textContent = "";
  locales.forEach(function (lc) { localeSel.appendChild(el("option", { value: lc }, lc)); });
  if (locales.indexOf(keep) >= 0) localeSel.value = keep;
  state.locales = locales.slice();
}

/** The steps of the last valid check in the chosen language ([] before one). */
export function currentSteps() {
  return state.steps ? state.steps[$("bk-locale").value] || [] : [];
}

/** "Voice: <normalised text>" when the voice says something other than the subtitle. */
export function voiced(p) {
  return p.spoken && p.spoken !== p.text ? "Voice: " + p.spoken : "";
}

export function renderSteps() {
  const stepsEl = $("bk-steps");
  stepsEl.textContent = "";
  currentSteps().forEach(function (s) {
    const li = el("li", { "data-step": s.id });
    const b = el("button", { type: "button", class: "rv-btn bk-play",
                             "data-testid": "play-" + s.id, title: "Play this step's prompt" }, "▶");
    b.addEventListener("click", function () { playStep(s.id, 0); });
    li.appendChild(b);
    li.appendChild(document.createTextNode(" " + s.label));
    li.appendChild(el("span", { class: "bk-kind" }, s.kind));
    li.appendChild(el("span", { class: "bk-dur", "data-testid": "dur-" + s.id }));
    li.appendChild(el("div", { class: "bk-spoken", "data-testid": "spoken-" + s.id }));
    stepsEl.appendChild(li);
  });
}

function guide() {
  if (!avatar && $("bk-avatar")) {
    avatar = Avatar.create($("bk-avatar"), { label: "guide" });
  }
  return avatar;
}

/** Render and play one step's prompt (attempt: 0 first, 1.. retries); resolves with the prompt
 * info ({text, spoken, duration, url, visemes_url, sha256, read_text?, challenges?}) after
 * playback; rejects when the script has problems or the server refuses. */
export function playStep(stepId, attempt) {
  if (!state.valid) return Promise.reject(new Error("the script has problems"));
  const stepsEl = $("bk-steps");
  const lis = stepsEl.querySelectorAll("li");
  for (let i = 0; i < lis.length; i++) {
    lis[i].classList.toggle("bk-playing", lis[i].getAttribute("data-step") === stepId);
  }
  return post(page.cfg.urls.prompt, body({ step: stepId, locale: $("bk-locale").value,
                                           attempt: attempt || 0 }))
    .then(function (p) {
      const dur = stepsEl.querySelector('[data-testid="dur-' + stepId + '"]');
      if (dur && !attempt) dur.textContent = " " + p.duration.toFixed(1) + " s";
      // What the voice says, when it differs from the written subtitle (numbers, dates,
      // digit strings, acronyms normalised: kiosk.guide.normalise).
      const said = stepsEl.querySelector('[data-testid="spoken-' + stepId + '"]');
      if (said && !attempt) said.textContent = voiced(p);
      if (!p.url) return p;
      state.playing = p.sha256;
      return fetch(p.visemes_url, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : { visemes: [] }; })
        .catch(function () { return { visemes: [] }; })
        .then(function (vis) { return play(p, vis.visemes || []); });
    });
}

function play(p, visemes) {
  const audio = $("bk-audio");
  return new Promise(function (resolve) {
    let done = false;
    const finish = function () {
      if (done) return;
      done = true;
      clearTimeout(guard);
      audio.onended = null;
      if (avatar) avatar.silence();
      state.played.push(p.sha256);
      state.playing = null;
      resolve(p);
    };
    // If the audio cannot play (no output device, autoplay refused) the run still goes on.
    const guard = setTimeout(finish, (p.duration + 1.5) * 1000);
    audio.onended = finish;
    audio.src = p.url;
    const started = audio.play();
    const g = guide();
    if (g) g.speak(audio, visemes);
    if (started && started.catch) started.catch(function () { if (g) g.speakSilently(); });
  });
}
