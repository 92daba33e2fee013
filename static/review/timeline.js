/* The timeline: markers that seek, a click anywhere to jump, skip-to-next-flag, and each tick's
 * subtitles (the guide's prompts and the recognised answers), playhead and time. */

import { PREROLL, duration, mmss, page, state } from "./page.js";
import { syncAudio } from "./audio.js";
import { drawPlayheadOnSignals, drawSignals } from "./signals.js";

let flags = []; // the flag markers' times, in s, ascending

/** Seek to PREROLL seconds before t (seconds, a number or a numeric string). */
export function seek(t) {
  const to = Math.max(0, Number(t) - PREROLL);
  page.video.currentTime = to;
  state.seeks += 1;
  state.lastSeek = to;
  syncAudio(true);
}

/** (Re)draw the markers for the current duration, then the signals under them. */
export function drawMarkers() {
  const bar = page.bar, markers = page.pre.markers || [];
  Array.prototype.forEach.call(bar.querySelectorAll(".rv-marker"), function (m) { m.remove(); });
  const d = duration();
  markers.forEach(function (m) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "rv-marker rv-k-" + m.kind;
    b.style.left = Math.min(100, (100 * m.t) / d) + "%";
    b.title = mmss(m.t) + " " + m.label;
    b.setAttribute("aria-label", b.title);
    b.setAttribute("data-testid", "marker-" + m.kind);
    b.setAttribute("data-t", m.t);
    b.addEventListener("click", function (ev) { ev.stopPropagation(); seek(m.t); });
    bar.appendChild(b);
  });
  flags = markers.filter(function (m) { return m.kind === "flag"; })
    .map(function (m) { return m.t; }).sort(function (a, b) { return a - b; });
  drawSignals();
}

/** Seek to the next flag after the playhead, wrapping to the first. */
export function nextFlag() {
  const now = page.video.currentTime + PREROLL + 0.05;
  let next = flags.filter(function (t) { return t > now; })[0];
  if (next === undefined) next = flags[0]; // wrap to the first flag
  if (next !== undefined) seek(next);
}

/** Subtitles, playhead and time for the video's current position. */
export function tick() {
  const t = page.video.currentTime, text = [];
  (page.pre.subtitles || []).forEach(function (s) {
    if (t >= s.start && t < (s.end || s.start + 3)) text.push((s.kind === "answer" ? "» " : "") + s.text);
  });
  page.sub.textContent = text.join("\n");
  page.sub.hidden = !text.length;
  page.playhead.style.left = Math.min(100, (100 * t) / duration()) + "%";
  page.timeEl.textContent = mmss(t) + " / " + mmss(duration());
  drawPlayheadOnSignals(t);
}

/** Clicks on the bar, on the step list's moments and on "Next flag". */
export function bindTimeline() {
  const bar = page.bar;
  bar.addEventListener("click", function (ev) {
    const r = bar.getBoundingClientRect();
    page.video.currentTime = ((ev.clientX - r.left) / r.width) * duration();
  });
  Array.prototype.forEach.call(document.querySelectorAll(".rv-seek"), function (b) {
    b.addEventListener("click", function () { seek(b.getAttribute("data-t")); });
  });
  page.nextFlag.addEventListener("click", nextFlag);
}
