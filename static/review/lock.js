/* The case lock's heartbeat: while the reviewer is active (pointer, key, wheel) or the video
 * plays, POST urls.heartbeat every lock_idle_seconds / 3 (clamped to 10..60 s); an idle
 * reviewer sends nothing and the server lets the lock expire. */

import { page } from "./page.js";

export function startHeartbeat() {
  const data = page.data;
  if (!data.can_decide) return;
  let active = false;
  ["pointerdown", "keydown", "wheel"].forEach(function (e) {
    document.addEventListener(e, function () { active = true; }, { passive: true });
  });
  const every = Math.max(10, Math.min(60, data.lock_idle_seconds / 3)) * 1000;
  setInterval(function () {
    if (!active && page.video.paused) return; // idle: let the lock expire
    active = false;
    fetch(data.urls.heartbeat, { method: "POST", credentials: "same-origin",
      headers: { "X-CSRF-Token": page.csrf } }).catch(function () {});
  }, every);
}
