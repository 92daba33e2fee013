/* The case page's data and elements, the test hook (window.review), and the clock helpers.
 *
 * page is filled by load() from the server's JSON (<script type="application/json"
 * id="rv-data">: {prereview, urls: {prompt, heartbeat}, can_decide, lock_idle_seconds}) and
 * the player's elements; every other module reads it after load() ran.
 */

export const PREROLL = 1.0; // s; a seek lands this long before a moment, so the lead-in is seen

// Test hook: phase ("loading" | "ready" | "playing" | "paused"), firstPlayMs (ms since the
// page's time origin, or null), seeks and lastSeek (s), audio (the sha256 of the prompt that
// plays now, or null), audioStarted (how many times a prompt's audio started).
export const state = { phase: "loading", firstPlayMs: null, seeks: 0, lastSeek: null,
  audio: null, audioStarted: 0 };

export const page = { data: null, pre: null, csrf: "", video: null, bar: null, playhead: null,
  sub: null, timeEl: null, canvas: null, playBtn: null, speed: null, nextFlag: null };

/** Read the case's data and elements; false on a page without them (nothing to run). */
export function load() {
  const dataEl = document.getElementById("rv-data");
  if (!dataEl) return false;
  const $ = function (id) { return document.getElementById(id); };
  page.data = JSON.parse(dataEl.textContent);
  page.pre = page.data.prereview;
  page.csrf = document.querySelector('meta[name="csrf-token"]').content;
  page.video = $("rv-video");
  page.bar = $("rv-timeline");
  page.playhead = $("rv-playhead");
  page.sub = $("rv-subtitle");
  page.timeEl = $("rv-time");
  page.canvas = $("rv-signals");
  page.playBtn = $("rv-play");
  page.speed = $("rv-speed");
  page.nextFlag = $("rv-next-flag");
  window.review = state;
  return true;
}

/** The recording's length in seconds: the video's once known, else the pre-review's (>= 1). */
export function duration() {
  const d = page.video.duration;
  return isFinite(d) && d > 0 ? d : Math.max(page.pre.duration || 0, 1);
}

/** Seconds as "mm:ss" (negative or missing counts as 0). */
export function mmss(t) {
  t = Math.max(0, t || 0);
  const m = Math.floor(t / 60), s = Math.floor(t % 60);
  return (m < 10 ? "0" : "") + m + ":" + (s < 10 ? "0" : "") + s;
}
