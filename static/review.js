/* Review console replay: timeline markers that seek, subtitles of the guide's prompts and the
   recognised answers, the guide audio played in step with the video, speeds, skip-to-next-flag,
   liveness signal curves, and a lock heartbeat while the reviewer is active. */
(function () {
  "use strict";
  var dataEl = document.getElementById("rv-data");
  if (!dataEl) return;
  var data = JSON.parse(dataEl.textContent);
  var pre = data.prereview;
  var video = document.getElementById("rv-video");
  var bar = document.getElementById("rv-timeline");
  var playhead = document.getElementById("rv-playhead");
  var sub = document.getElementById("rv-subtitle");
  var timeEl = document.getElementById("rv-time");
  var canvas = document.getElementById("rv-signals");
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var PREROLL = 1.0; // seek a second before a moment, so the lead-in is seen
  var state = { phase: "loading", firstPlayMs: null, seeks: 0, lastSeek: null, audio: null,
    audioStarted: 0 };
  window.review = state;

  function duration() {
    var d = video.duration;
    return isFinite(d) && d > 0 ? d : Math.max(pre.duration || 0, 1);
  }
  function mmss(t) {
    t = Math.max(0, t || 0);
    var m = Math.floor(t / 60), s = Math.floor(t % 60);
    return (m < 10 ? "0" : "") + m + ":" + (s < 10 ? "0" : "") + s;
  }
  function seek(t) {
    var to = Math.max(0, Number(t) - PREROLL);
    video.currentTime = to;
    state.seeks += 1;
    state.lastSeek = to;
    syncAudio(true);
  }

  // -- markers --------------------------------------------------------------------------------
  var flags = [];
  function drawMarkers() {
    Array.prototype.forEach.call(bar.querySelectorAll(".rv-marker"), function (m) { m.remove(); });
    var d = duration();
    (pre.markers || []).forEach(function (m) {
      var b = document.createElement("button");
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
    flags = (pre.markers || []).filter(function (m) { return m.kind === "flag"; })
      .map(function (m) { return m.t; }).sort(function (a, b) { return a - b; });
    drawSignals();
  }
  bar.addEventListener("click", function (ev) {
    var r = bar.getBoundingClientRect();
    video.currentTime = ((ev.clientX - r.left) / r.width) * duration();
  });
  Array.prototype.forEach.call(document.querySelectorAll(".rv-seek"), function (b) {
    b.addEventListener("click", function () { seek(b.getAttribute("data-t")); });
  });
  document.getElementById("rv-next-flag").addEventListener("click", function () {
    var now = video.currentTime + PREROLL + 0.05;
    var next = flags.filter(function (t) { return t > now; })[0];
    if (next === undefined) next = flags[0]; // wrap to the first flag
    if (next !== undefined) seek(next);
  });

  // -- speed and play -------------------------------------------------------------------------
  var speed = document.getElementById("rv-speed");
  speed.addEventListener("change", function () {
    video.playbackRate = Number(speed.value);
    syncAudio(true);
  });
  var playBtn = document.getElementById("rv-play");
  playBtn.addEventListener("click", function () {
    if (video.paused) { video.muted = false; video.play(); } else { video.pause(); }
  });

  // -- guide audio, in step with the video ----------------------------------------------------
  var prompts = (pre.subtitles || []).filter(function (s) { return s.kind === "prompt" && s.sha256; });
  var audios = {};
  function audioFor(p) {
    if (!audios[p.sha256]) {
      var a = new Audio(data.urls.prompt.replace("SHA", p.sha256));
      a.preload = "auto";
      audios[p.sha256] = a;
    }
    return audios[p.sha256];
  }
  function syncAudio(force) {
    var t = video.currentTime, active = null;
    prompts.forEach(function (p) { if (t >= p.start && t < p.end) active = p; });
    Object.keys(audios).forEach(function (k) {
      if (!active || k !== active.sha256) { if (!audios[k].paused) audios[k].pause(); }
    });
    state.audio = active && !video.paused ? active.sha256 : null;
    if (!active) return;
    var a = audioFor(active), want = t - active.start;
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

  // -- subtitles, playhead, time --------------------------------------------------------------
  function tick() {
    var t = video.currentTime, text = [];
    (pre.subtitles || []).forEach(function (s) {
      if (t >= s.start && t < (s.end || s.start + 3)) text.push((s.kind === "answer" ? "» " : "") + s.text);
    });
    sub.textContent = text.join("\n");
    sub.hidden = !text.length;
    playhead.style.left = Math.min(100, (100 * t) / duration()) + "%";
    timeEl.textContent = mmss(t) + " / " + mmss(duration());
    drawPlayheadOnSignals(t);
  }
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

  // -- liveness signals ------------------------------------------------------------------------
  var ctx = canvas.getContext("2d");
  function drawSignals() {
    var w = canvas.width, h = canvas.height, d = duration();
    ctx.clearRect(0, 0, w, h);
    var sig = pre.signals;
    if (!sig || !sig.t.length) {
      ctx.fillStyle = "#777";
      ctx.font = "12px system-ui, sans-serif";
      ctx.fillText("No liveness signals in this package", 8, h / 2 + 4);
      return;
    }
    // face-present strip along the bottom
    for (var i = 0; i < sig.t.length; i++) {
      var x0 = (sig.t[i] / d) * w, x1 = ((sig.t[i + 1] || d) / d) * w;
      ctx.fillStyle = sig.face[i] ? "#2e7d32" : "#c62828";
      ctx.fillRect(x0, h - 6, Math.max(1, x1 - x0), 6);
    }
    var curves = [["blink", "#1565c0", 0, 1], ["jaw", "#ef6c00", 0, 1], ["yaw", "#6a1b9a", -45, 45]];
    curves.forEach(function (c) {
      var vals = sig[c[0]];
      ctx.strokeStyle = c[1];
      ctx.beginPath();
      var started = false;
      for (var i = 0; i < sig.t.length; i++) {
        if (vals[i] === null || vals[i] === undefined) continue;
        var x = (sig.t[i] / d) * w;
        var y = (h - 8) - ((vals[i] - c[2]) / (c[3] - c[2])) * (h - 12);
        if (started) ctx.lineTo(x, y); else { ctx.moveTo(x, y); started = true; }
      }
      ctx.stroke();
    });
    signalsImage = ctx.getImageData(0, 0, w, h);
  }
  var signalsImage = null;
  function drawPlayheadOnSignals(t) {
    if (!signalsImage) return;
    ctx.putImageData(signalsImage, 0, 0);
    var x = (t / duration()) * canvas.width;
    ctx.fillStyle = "#000";
    ctx.fillRect(x, 0, 1, canvas.height);
  }

  // -- lock heartbeat while the reviewer is active ----------------------------------------------
  var active = false;
  ["pointerdown", "keydown", "wheel"].forEach(function (e) {
    document.addEventListener(e, function () { active = true; }, { passive: true });
  });
  if (data.can_decide) {
    var every = Math.max(10, Math.min(60, data.lock_idle_seconds / 3)) * 1000;
    setInterval(function () {
      if (!active && video.paused) return; // idle: let the lock expire
      active = false;
      fetch(data.urls.heartbeat, { method: "POST", credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf } }).catch(function () {});
    }, every);
  }

  // -- keyboard: space play/pause, n next flag, arrows +-5 s ------------------------------------
  document.addEventListener("keydown", function (ev) {
    if (ev.target && /INPUT|TEXTAREA|SELECT/.test(ev.target.tagName)) return;
    if (ev.key === " ") { ev.preventDefault(); playBtn.click(); }
    else if (ev.key === "n") document.getElementById("rv-next-flag").click();
    else if (ev.key === "ArrowRight") video.currentTime += 5;
    else if (ev.key === "ArrowLeft") video.currentTime = Math.max(0, video.currentTime - 5);
  });

  drawMarkers();
  tick();
  // Start playing as soon as the case opens; fall back to muted when autoplay is refused.
  video.play().catch(function () {
    video.muted = true;
    return video.play();
  }).catch(function () { state.phase = "ready"; });
})();
