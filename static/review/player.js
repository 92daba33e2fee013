/* The player's controls: play/pause, speed, the video's events, the keyboard (space
 * play/pause, n next flag, arrows -/+5 s) and autoplay when the case opens. */

import { page, state } from "./page.js";
import { syncAudio } from "./audio.js";
import { drawMarkers, tick } from "./timeline.js";

export function bindPlayer() {
  const video = page.video, playBtn = page.playBtn, speed = page.speed;
  speed.addEventListener("change", function () {
    video.playbackRate = Number(speed.value);
    syncAudio(true);
  });
  playBtn.addEventListener("click", function () {
    if (video.paused) { video.muted = false; video.play(); } else { video.pause(); }
  });
  video.addEventListener("timeupdate", function () { tick(); syncAudio(false); });
  video.addEventListener("seeked", function () { tick(); syncAudio(true); });
  video.addEventListener("pause", function () { syncAudio(false); playBtn.textContent = "Play"; state.phase = "paused"; });
  video.addEventListener("play", function () { playBtn.textContent = "Pause"; });
  video.addEventListener("playing", function () {
    state.phase = "playing";
    if (state.firstPlayMs === null) state.firstPlayMs = Math.round(performance.now());
    syncAudio(true);
  });
  video.addEventListener("loadedmetadata", function () { drawMarkers(); tick(); });

  document.addEventListener("keydown", function (ev) {
    if (ev.target && /INPUT|TEXTAREA|SELECT/.test(ev.target.tagName)) return;
    if (ev.key === " ") { ev.preventDefault(); playBtn.click(); }
    else if (ev.key === "n") page.nextFlag.click();
    else if (ev.key === "ArrowRight") video.currentTime += 5;
    else if (ev.key === "ArrowLeft") video.currentTime = Math.max(0, video.currentTime - 5);
  });
}

/** Start playing as soon as the case opens; fall back to muted when autoplay is refused. */
export function autoplay() {
  const video = page.video;
  video.play().catch(function () {
    video.muted = true;
    return video.play();
  }).catch(function () { state.phase = "ready"; });
}
