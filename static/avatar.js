/* The digital-human guide: an SVG face with idle blinks, a small head sway, and a mouth
 * driven by the prompt's viseme timeline ([[t_seconds, open 0..1], ...]) at the audio
 * element's currentTime, read every animation frame so it stays in sync with playback,
 * including when the speech speed changes.
 *
 * The element carries data-state ("idle" | "speaking" | "listening" | "thinking") and
 * data-mouth (the mouth openness drawn in the last frame, 0..1) for tests.
 */

var SVG_NS = "http://www.w3.org/2000/svg";
var instances = 0;
var STATES = ["idle", "speaking", "listening", "thinking"];

/** Clean a viseme timeline: keep [t, open] pairs of finite numbers, clamp open, sort by t. */
function normalizeTimeline(points) {
  if (!Array.isArray(points)) return [];
  var out = [];
  for (var i = 0; i < points.length; i++) {
    var p = points[i];
    if (!Array.isArray(p) || p.length < 2) continue;
    var t = Number(p[0]);
    var o = Number(p[1]);
    if (!isFinite(t) || !isFinite(o) || t < 0) continue;
    out.push([t, Math.min(1, Math.max(0, o))]);
  }
  out.sort(function (a, b) { return a[0] - b[0]; });
  return out;
}

/** Mouth openness at time t, linearly interpolated; 0 outside the timeline. */
function interpolate(points, t) {
  var n = points.length;
  if (!n || !isFinite(t) || t < points[0][0] || t > points[n - 1][0]) return 0;
  // Binary search for the last point with time <= t.
  var lo = 0;
  var hi = n - 1;
  while (lo < hi) {
    var mid = (lo + hi + 1) >> 1;
    if (points[mid][0] <= t) lo = mid; else hi = mid - 1;
  }
  if (lo === n - 1) return points[lo][1];
  var a = points[lo];
  var b = points[lo + 1];
  var span = b[0] - a[0];
  if (span <= 0) return b[1];
  return a[1] + (b[1] - a[1]) * ((t - a[0]) / span);
}

function el(name, attrs, parent) {
  var node = document.createElementNS(SVG_NS, name);
  for (var k in attrs) {
    if (Object.prototype.hasOwnProperty.call(attrs, k)) node.setAttribute(k, String(attrs[k]));
  }
  if (parent) parent.appendChild(node);
  return node;
}

/** Build the SVG guide inside container and start its animation loop. */
function create(container, options) {
  options = options || {};
  var label = options.label || "";
  var reduceMotion = typeof window !== "undefined" && window.matchMedia &&
    window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  // Ids are per instance: a url(#id) into another, hidden SVG would not paint.
  var uid = "av" + (++instances) + "-";
  var svg = el("svg", {
    viewBox: "0 0 200 220", class: "avatar-svg", role: "img", "aria-label": label,
    "data-testid": "avatar"
  });
  var defs = el("defs", {}, svg);
  var bg = el("radialGradient", { id: uid + "bg", cx: "50%", cy: "40%", r: "65%" }, defs);
  el("stop", { offset: "0%", "stop-color": "#eaf4f4" }, bg);
  el("stop", { offset: "100%", "stop-color": "#cfe3e6" }, bg);
  var skin = el("linearGradient", { id: uid + "skin", x1: "0", y1: "0", x2: "0", y2: "1" }, defs);
  el("stop", { offset: "0%", "stop-color": "#f8dcc4" }, skin);
  el("stop", { offset: "100%", "stop-color": "#efc6a6" }, skin);
  var clip = el("clipPath", { id: uid + "clip" }, defs);
  el("circle", { cx: 100, cy: 110, r: 100 }, clip);

  el("circle", { cx: 100, cy: 110, r: 100, fill: "url(#" + uid + "bg)" }, svg);
  var ring = el("circle", { cx: 100, cy: 110, r: 96, class: "avatar-ring", fill: "none" }, svg);

  var scene = el("g", { "clip-path": "url(#" + uid + "clip)" }, svg);
  // Body: dark suit, white collar, teal scarf; it does not sway with the head.
  el("path", { d: "M20 230 C28 182 60 168 100 166 C140 168 172 182 180 230 Z", fill: "#17325c" }, scene);
  el("path", { d: "M78 168 L100 198 L122 168 L112 164 L100 178 L88 164 Z", fill: "#ffffff" }, scene);
  el("path", { d: "M92 176 L100 186 L108 176 L104 204 L100 210 L96 204 Z", fill: "#1f9e98" }, scene);
  el("rect", { x: 88, y: 140, width: 24, height: 32, rx: 10, fill: "#efc6a6" }, scene);

  var head = el("g", { class: "avatar-head" }, scene);
  el("ellipse", { cx: 100, cy: 86, rx: 58, ry: 62, fill: "#2b2118" }, head); // hair, back
  el("ellipse", { cx: 46, cy: 98, rx: 8, ry: 12, fill: "#efc6a6" }, head);   // ears
  el("ellipse", { cx: 154, cy: 98, rx: 8, ry: 12, fill: "#efc6a6" }, head);
  el("ellipse", { cx: 100, cy: 100, rx: 52, ry: 58, fill: "url(#" + uid + "skin)" }, head);
  el("path", {
    d: "M46 92 C44 52 72 34 102 36 C134 36 158 56 154 92 C144 70 126 60 104 58 " +
       "C88 64 70 66 52 84 Z",
    fill: "#2b2118"
  }, head);
  // Brows: raised a little when listening, drawn together when thinking (set per frame).
  var browL = el("path", { d: "M66 80 Q78 74 90 79", class: "avatar-brow" }, head);
  var browR = el("path", { d: "M110 79 Q122 74 134 80", class: "avatar-brow" }, head);

  function eye(cx) {
    var g = el("g", {}, head);
    var lid = el("g", {}, g);
    el("ellipse", { cx: cx, cy: 96, rx: 7.5, ry: 8, fill: "#ffffff" }, lid);
    var pupil = el("g", {}, lid);
    el("circle", { cx: cx, cy: 97, r: 5, fill: "#3a2a1f" }, pupil);
    el("circle", { cx: cx + 1.8, cy: 94.8, r: 1.6, fill: "#ffffff" }, pupil);
    return { lid: lid, pupil: pupil, cx: cx };
  }
  var eyeL = eye(78);
  var eyeR = eye(122);

  el("path", { d: "M100 102 Q96 114 100 117 Q103 118 105 116", class: "avatar-nose" }, head);
  el("ellipse", { cx: 70, cy: 118, rx: 9, ry: 5, fill: "#f3a3a0", opacity: 0.35 }, head);
  el("ellipse", { cx: 130, cy: 118, rx: 9, ry: 5, fill: "#f3a3a0", opacity: 0.35 }, head);

  var mouthGroup = el("g", { transform: "translate(100 134)" }, head);
  var mouth = el("path", { class: "avatar-mouth", fill: "#8a3b3b" }, mouthGroup);
  var tongue = el("ellipse", { cx: 0, cy: 6, rx: 7, ry: 3.5, fill: "#e07a7a" }, mouthGroup);
  var teeth = el("rect", { x: -8, y: -2.5, width: 16, height: 3, rx: 1.5, fill: "#ffffff" }, mouthGroup);

  var dots = el("g", { class: "avatar-dots" }, svg);
  el("circle", { cx: 150, cy: 40, r: 4 }, dots);
  el("circle", { cx: 163, cy: 32, r: 5 }, dots);
  el("circle", { cx: 178, cy: 22, r: 6 }, dots);

  container.appendChild(svg);

  var state = "idle";
  var timeline = [];
  var clock = null;          // function returning the playback time in s, or null when silent
  var synthetic = false;     // speaking without audio (TTS degraded): a gentle procedural mouth
  var open = 0;
  var nextBlink = now() + 1.5 + Math.random() * 2;
  var rafId = 0;
  var stopped = false;

  function now() {
    return (typeof performance !== "undefined" ? performance.now() : Date.now()) / 1000;
  }

  function drawMouth(o) {
    var w = 15 - 3 * o;
    var up = -1 - 5 * o;
    var down = 5 + 22 * o;
    mouth.setAttribute("d",
      "M" + (-w) + " 0 Q0 " + up.toFixed(2) + " " + w + " 0 Q0 " + down.toFixed(2) + " " + (-w) + " 0 Z");
    tongue.setAttribute("opacity", Math.max(0, (o - 0.15) * 1.4).toFixed(2));
    tongue.setAttribute("cy", (3 + 8 * o).toFixed(2));
    teeth.setAttribute("opacity", o > 0.08 ? "0.9" : "0");
    teeth.setAttribute("y", (-1.5 - 3 * o).toFixed(2));
  }

  function targetMouth(t) {
    if (clock) {
      var pos = clock();
      if (pos !== null && pos !== undefined && timeline.length) return interpolate(timeline, pos);
      if (pos !== null && pos !== undefined && synthetic) return babble(pos);
      return 0;
    }
    if (synthetic && state === "speaking") return babble(t);
    return 0;
  }

  // Syllable-like motion for when there is no timeline: two sines, so it does not look looped.
  function babble(t) {
    var v = 0.5 + 0.5 * Math.sin(t * 11.0) * Math.sin(t * 2.3 + 0.7);
    return Math.max(0, Math.min(1, v * 0.7));
  }

  function frame() {
    if (stopped) return;
    var t = now();
    var target = targetMouth(t);
    // Follow the timeline exactly; only ease when closing so the mouth never snaps shut.
    open = target >= open || timeline.length ? target : open + (target - open) * 0.35;
    if (open < 0.002) open = 0;
    drawMouth(open);
    svg.setAttribute("data-mouth", open.toFixed(3));

    var amp = reduceMotion ? 0.2 : 1;
    var sway = 1.6 * Math.sin(t * 0.7) * amp;
    var bob = 1.2 * Math.sin(t * 1.3) * amp;
    if (state === "speaking") sway += 1.2 * Math.sin(t * 1.9) * amp;
    if (state === "listening") bob -= 1.5 * amp;     // lean in a little
    var tilt = state === "thinking" ? -3 * amp : 0;
    head.setAttribute("transform",
      "rotate(" + (sway + tilt).toFixed(2) + " 100 168) translate(0 " + bob.toFixed(2) + ")");

    var blink = 1;
    if (t >= nextBlink) {
      var d = t - nextBlink;
      if (d > 0.16) {
        nextBlink = t + 2.5 + Math.random() * 3.5;
      } else {
        blink = Math.max(0.08, Math.abs(1 - d / 0.08));
      }
    }
    var gx = state === "thinking" ? -2.5 : 0;
    var gy = state === "thinking" ? -3 : 0;
    [eyeL, eyeR].forEach(function (e) {
      e.lid.setAttribute("transform",
        "translate(0 96) scale(1 " + blink.toFixed(3) + ") translate(0 -96)");
      e.pupil.setAttribute("transform", "translate(" + gx + " " + gy + ")");
    });
    var lift = state === "listening" ? -3 : state === "thinking" ? -1 : 0;
    browL.setAttribute("transform", "translate(0 " + lift + ")" + (state === "thinking" ? " rotate(4 78 78)" : ""));
    browR.setAttribute("transform", "translate(0 " + lift + ")" + (state === "thinking" ? " rotate(-4 122 78)" : ""));

    rafId = requestAnimationFrame(frame);
  }

  function setState(next) {
    if (STATES.indexOf(next) < 0) throw new Error("avatar: unknown state " + next);
    state = next;
    svg.setAttribute("data-state", next);
    container.setAttribute("data-state", next);
  }

  setState("idle");
  drawMouth(0);
  svg.setAttribute("data-mouth", "0.000");
  rafId = requestAnimationFrame(frame);

  return {
    element: svg,
    setState: setState,
    getState: function () { return state; },
    /** Lip-sync to audio: timeline points, read at audio.currentTime while it plays. */
    speak: function (audio, points) {
      timeline = normalizeTimeline(points);
      synthetic = !timeline.length;
      clock = function () {
        return audio && !audio.paused && !audio.ended ? audio.currentTime : null;
      };
      setState("speaking");
    },
    /** Speaking without audio: procedural mouth movement until silence(). */
    speakSilently: function () {
      timeline = [];
      synthetic = true;
      clock = null;
      setState("speaking");
    },
    /** Stop lip movement (the mouth eases shut). */
    silence: function () {
      timeline = [];
      synthetic = false;
      clock = null;
    },
    mouth: function () { return open; },
    setLabel: function (text) { svg.setAttribute("aria-label", text); },
    destroy: function () {
      stopped = true;
      cancelAnimationFrame(rafId);
      if (svg.parentNode) svg.parentNode.removeChild(svg);
    }
  };
}

export { create, interpolate, normalizeTimeline, STATES };
