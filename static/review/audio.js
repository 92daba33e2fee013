/* The guide's prompt audio, played in step with the video: the prompt whose subtitle spans the
 * playhead plays from the matching offset, at the video's speed and mute state. */

import { page, state } from "./page.js";

let prompts = null; // the pre-review's prompt subtitles that have audio
const audios = {};  // sha256 -> Audio

function audioFor(p) {
  if (!audios[p.sha256]) {
    const a = new Audio(page.data.urls.prompt.replace("SHA", p.sha256));
    a.preload = "auto";
    audios[p.sha256] = a;
  }
  return audios[p.sha256];
}

/** Bring the prompt audio in line with the video; force: set its position even when close. */
export function syncAudio(force) {
  if (prompts === null) {
    prompts = (page.pre.subtitles || []).filter(function (s) { return s.kind === "prompt" && s.sha256; });
  }
  const video = page.video;
  const t = video.currentTime;
  let active = null;
  prompts.forEach(function (p) { if (t >= p.start && t < p.end) active = p; });
  Object.keys(audios).forEach(function (k) {
    if (!active || k !== active.sha256) { if (!audios[k].paused) audios[k].pause(); }
  });
  state.audio = active && !video.paused ? active.sha256 : null;
  if (!active) return;
  const a = audioFor(active), want = t - active.start;
  a.playbackRate = video.playbackRate;
  a.muted = video.muted;
  if (force || Math.abs(a.currentTime - want) > 0.3) {
    try { a.currentTime = want; } catch (e) { /* not loaded yet */ }
  }
  if (video.paused) { if (!a.paused) a.pause(); }
  else if (a.paused) {
    a.play().then(function () { state.audioStarted += 1; }).catch(function () {});
  }
}
