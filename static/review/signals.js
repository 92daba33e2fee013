/* The liveness signals under the timeline: blink, jaw and yaw curves and a face-present strip,
 * drawn once per duration, with the playhead drawn over a saved copy. */

import { duration, page } from "./page.js";

const CURVES = [["blink", "#1565c0", 0, 1], ["jaw", "#ef6c00", 0, 1], ["yaw", "#6a1b9a", -45, 45]];
let ctx = null;
let signalsImage = null;

function context() {
  if (!ctx) ctx = page.canvas.getContext("2d");
  return ctx;
}

/** Draw the curves over the whole duration (or say that the package has none). */
export function drawSignals() {
  const canvas = page.canvas, c2 = context();
  const w = canvas.width, h = canvas.height, d = duration();
  c2.clearRect(0, 0, w, h);
  const sig = page.pre.signals;
  if (!sig || !sig.t.length) {
    c2.fillStyle = "#777";
    c2.font = "12px system-ui, sans-serif";
    c2.fillText("No liveness signals in this package", 8, h / 2 + 4);
    return;
  }
  // face-present strip along the bottom
  for (let i = 0; i < sig.t.length; i++) {
    const x0 = (sig.t[i] / d) * w, x1 = ((sig.t[i + 1] || d) / d) * w;
    c2.fillStyle = sig.face[i] ? "#2e7d32" : "#c62828";
    c2.fillRect(x0, h - 6, Math.max(1, x1 - x0), 6);
  }
  CURVES.forEach(function (c) {
    const vals = sig[c[0]];
    c2.strokeStyle = c[1];
    c2.beginPath();
    let started = false;
    for (let i = 0; i < sig.t.length; i++) {
      if (vals[i] === null || vals[i] === undefined) continue;
      const x = (sig.t[i] / d) * w;
      const y = (h - 8) - ((vals[i] - c[2]) / (c[3] - c[2])) * (h - 12);
      if (started) c2.lineTo(x, y); else { c2.moveTo(x, y); started = true; }
    }
    c2.stroke();
  });
  signalsImage = c2.getImageData(0, 0, w, h);
}

/** The playhead at t seconds over the drawn curves (nothing before they are drawn). */
export function drawPlayheadOnSignals(t) {
  if (!signalsImage) return;
  const c2 = context();
  c2.putImageData(signalsImage, 0, 0);
  const x = (t / duration()) * page.canvas.width;
  c2.fillStyle = "#000";
  c2.fillRect(x, 0, 1, page.canvas.height);
}
