/* The investor's witness page: consent, devices, WebRTC send-only offer over Socket.IO,
 * the spoken guide with subtitles, progress, and the end screens.
 *
 * Protocol: docs/architecture.md, "Socket.IO protocol". Server strings are only ever put in
 * with textContent. Test hooks: window.kiosk = {phase, stepIndex, stepId, lastError, events}.
 */
(function () {
  "use strict";

  var I18N = window.KioskI18n;
  var Avatar = window.KioskAvatar;
  var body = document.body;

  var HEARTBEAT_MS = 2000;
  var ICE_GATHER_CAP_MS = 3000;
  var JOIN_TIMEOUT_MS = 15000;
  var ANSWER_TIMEOUT_MS = 20000;
  var CANCEL_FALLBACK_MS = 4000;
  var ATTRACT_AFTER_MS = 10000;
  var SPEEDS = [0.8, 1, 1.2];
  var MEDIA_CONSTRAINTS = { video: { width: 640, height: 480, frameRate: 15 }, audio: true };

  // Device errors: what the browser throws -> our code (also sent as client_error {code}).
  var DEVICE_ERRORS = {
    NotAllowedError: "permission_denied",
    PermissionDeniedError: "permission_denied",
    SecurityError: "permission_denied",
    NotFoundError: "no_camera",
    DevicesNotFoundError: "no_camera",
    OverconstrainedError: "no_camera",
    ConstraintNotSatisfiedError: "no_camera",
    NotReadableError: "camera_in_use",
    TrackStartError: "camera_in_use"
  };
  var LINK_ERRORS = ["link_invalid", "link_expired", "link_used"];
  // Server error codes that reject one message but leave the session running.
  var SOFT_ERRORS = ["bad_message", "out_of_order"];
  var ABORT_REASONS = ["cancelled", "connection_lost", "server_shutdown", "timeout", "media_failed",
                       "declined", "step_failed", "media_error", "internal_error"];
  // Server reasons that mean the same to the investor as one above.
  var ABORT_ALIASES = { disconnected: "connection_lost" };
  // Which heading goes with an error code (the message itself is "error." + code).
  var ERROR_TITLES = {
    permission_denied: "error.title_device", no_camera: "error.title_device",
    camera_in_use: "error.title_device", device_error: "error.title_device",
    link_invalid: "error.title_link", link_expired: "error.title_link", link_used: "error.title_link",
    connection_failed: "error.title_connection", connection_lost: "error.title_connection",
    media_failed: "error.title_connection", unsupported: "error.title_browser"
  };
  var SCREENS = ["loading", "consent", "devices", "connecting", "witness", "done", "ended", "error", "attract"];

  var config = {
    token: body.getAttribute("data-token") || "",
    broker: body.getAttribute("data-broker") || "",
    kioskMode: body.getAttribute("data-kiosk-mode") === "true"
  };

  var kiosk = window.kiosk = { phase: "loading", stepIndex: null, stepId: null, lastError: null, events: [] };

  var state = freshState(I18N.normalizeLocale(body.getAttribute("data-locale")));
  var avatar = null;
  var attractAvatar = null;
  var audio = document.getElementById("prompt-audio");

  function freshState(locale) {
    return {
      locale: locale,
      localeChosen: false,    // the investor picked a language: the server's default no longer wins
      speed: 1,
      socket: null,
      joinSent: false,
      joined: null,
      stream: null,
      pc: null,
      over: false,            // done, ended or fatal error: ignore further events
      step: null,
      playId: 0,              // bumps on every playback so stale audio callbacks do nothing
      sent: {},               // "started:seq" / "ended:seq" already emitted
      windowOpen: false,
      windowDeadline: 0,
      errorCode: null,
      endedReason: null,
      timers: {},
      audioCtx: null,
      meterRaf: 0
    };
  }

  function $(id) { return document.getElementById(id); }

  function t(key, params) {
    var p = { broker: config.broker };
    if (params) for (var k in params) if (Object.prototype.hasOwnProperty.call(params, k)) p[k] = params[k];
    return I18N.t(state.locale, key, p);
  }

  function setTimer(name, fn, ms) {
    clearTimer(name);
    state.timers[name] = setTimeout(function () { delete state.timers[name]; fn(); }, ms);
  }

  function clearTimer(name) {
    if (state.timers[name]) {
      clearTimeout(state.timers[name]);
      clearInterval(state.timers[name]);
      delete state.timers[name];
    }
  }

  function clearAllTimers() {
    Object.keys(state.timers).forEach(clearTimer);
  }

  // ---------------------------------------------------------------- rendering

  function applyI18n() {
    document.documentElement.lang = state.locale;
    var nodes = document.querySelectorAll("[data-i18n]");
    for (var i = 0; i < nodes.length; i++) {
      var key = nodes[i].getAttribute("data-i18n");
      // Buttons with an icon keep their icon: their text lives in a child span.
      nodes[i].textContent = t(key);
    }
    var labelled = document.querySelectorAll("[data-i18n-aria]");
    for (var j = 0; j < labelled.length; j++) {
      labelled[j].setAttribute("aria-label", t(labelled[j].getAttribute("data-i18n-aria")));
    }
    if (avatar) avatar.setLabel(t("witness.guide_name"));
    renderProgress();
    renderStatus();
    renderCountdown();
    if (state.errorCode) $("error-message").textContent = t("error." + state.errorCode);
    if (state.endedReason) $("ended-message").textContent = t(abortKey(state.endedReason));
    if (!state.step) $("subtitle").textContent = t("witness.subtitle_wait");
  }

  function setPhase(phase) {
    if (SCREENS.indexOf(phase) < 0) throw new Error("unknown phase " + phase);
    kiosk.phase = phase;
    body.className = "phase-" + phase;
    var screens = document.querySelectorAll("[data-screen]");
    for (var i = 0; i < screens.length; i++) {
      screens[i].hidden = screens[i].getAttribute("data-screen") !== phase;
    }
    var heading = document.querySelector('[data-screen="' + phase + '"] h1');
    if (heading) {
      // Move screen-reader focus to the new screen's title without scrolling jumps.
      heading.setAttribute("tabindex", "-1");
      try { heading.focus({ preventScroll: true }); } catch (e) { /* old browsers */ }
    }
    if (phase === "done" || phase === "ended") scheduleAttract();
  }

  function stepPosition(step) {
    var steps = (state.joined && state.joined.steps) || [];
    for (var i = 0; i < steps.length; i++) if (steps[i].id === step.id) return i + 1;
    return (Number(step.index) || 0) + 1;  // step.index is 0-based
  }

  function renderProgress() {
    var list = $("progress-steps");
    var steps = (state.joined && state.joined.steps) || [];
    var step = state.step;
    var current = step ? stepPosition(step) : 0;
    var total = (step && Number(step.total)) || steps.length;
    while (list.firstChild) list.removeChild(list.firstChild);
    for (var i = 0; i < steps.length; i++) {
      var li = document.createElement("li");
      var pos = i + 1;
      li.className = pos < current ? "done" : pos === current ? "current" : "todo";
      var bar = document.createElement("span");
      bar.className = "seg-bar";
      var title = document.createElement("span");
      title.className = "seg-title";
      title.textContent = String(steps[i].title || "");
      var sr = document.createElement("span");
      sr.className = "sr-only";
      sr.textContent = pos < current ? " (" + t("common.step_done") + ")" :
        pos === current ? " (" + t("common.step_current") + ")" : "";
      li.appendChild(bar);
      li.appendChild(title);
      li.appendChild(sr);
      list.appendChild(li);
    }
    list.setAttribute("aria-valuemax", String(total || 0));
    list.setAttribute("aria-valuenow", String(current));
    $("progress-label").textContent = current ? t("witness.progress", { current: current, total: total }) : "";
    var currentTitle = step && steps[current - 1] ? steps[current - 1].title : "";
    $("progress-title").textContent = String(currentTitle || "");
    $("progress").setAttribute("data-current", String(current));
    $("progress").setAttribute("data-total", String(total || 0));
  }

  function renderStatus() {
    var pill = $("status-pill");
    var key = null;
    if (state.windowOpen) key = null;  // the listening panel says it
    else if (avatar && avatar.getState() === "speaking") key = "witness.speaking";
    else if (avatar && avatar.getState() === "thinking") key = "witness.thinking";
    pill.hidden = !key || kiosk.phase !== "witness";
    pill.setAttribute("data-kind", avatar ? avatar.getState() : "idle");
    $("status-text").textContent = key ? t(key) : "";
  }

  function setAvatar(s) {
    if (avatar) avatar.setState(s);
    renderStatus();
  }

  function renderCountdown() {
    if (!state.windowOpen) { $("listen-countdown").textContent = ""; return; }
    var left = Math.max(0, Math.ceil((state.windowDeadline - Date.now()) / 1000));
    $("listen-countdown").textContent = t("witness.countdown", { seconds: left });
  }

  // ---------------------------------------------------------------- errors and endings

  function abortKey(reason) {
    // "step_failed:<step id>" carries the step after the colon; the message needs only the kind.
    var kind = String(reason || "").split(":")[0];
    kind = ABORT_ALIASES[kind] || kind;
    return ABORT_REASONS.indexOf(kind) >= 0 ? "aborted." + kind : "aborted.unknown";
  }

  /** Show an error screen; retry is a function or null (no retry offered). */
  function showError(code, retry, serverDetail) {
    kiosk.lastError = code;
    state.errorCode = code;
    $("error-message").textContent = t("error." + code);
    $("error-title").setAttribute("data-i18n", ERROR_TITLES[code] || "error.title");
    $("error-title").textContent = t(ERROR_TITLES[code] || "error.title");
    // A reference code helps the broker's staff; the server's free text is not shown.
    $("error-code").textContent = "ref: " + code;
    var btn = $("btn-retry");
    btn.hidden = !retry;
    btn.onclick = retry ? function () {
      btn.disabled = true;
      state.errorCode = null;
      setTimeout(function () { btn.disabled = false; }, 800);
      retry();
    } : null;
    if (serverDetail && window.console) console.warn("server error", code, serverDetail);
    setPhase("error");
    // A dead end: in kiosk mode, clear it away for the next investor.
    if (!retry) scheduleAttract();
  }

  function fatal(code, retry) {
    state.over = true;
    teardown(true);
    showError(code, retry || null);
  }

  function reload() { window.location.reload(); }

  function showEnded(reason) {
    if (state.over && kiosk.phase === "ended") return;
    state.over = true;
    state.endedReason = reason || "unknown";
    teardown(true);
    $("ended-message").textContent = t(abortKey(state.endedReason));
    setPhase("ended");
  }

  function showDone() {
    state.over = true;
    teardown(true);
    setPhase("done");
  }

  // ---------------------------------------------------------------- socket

  function emit(name, payload) {
    if (state.socket && state.socket.connected) state.socket.emit(name, payload);
  }

  function connect() {
    if (typeof window.io !== "function") { fatal("server_error", reload); return; }
    // One attempt only: the link is single-use, so a silent reconnect could not rejoin.
    var socket = window.io({ transports: ["websocket"], reconnection: false });
    state.socket = socket;

    socket.onAny(function (name) {
      kiosk.events.push({ name: name, t: Date.now() });
    });
    socket.on("connect", function () {
      if (state.joinSent) return;
      state.joinSent = true;
      socket.emit("join", { token: config.token });
      setTimer("join", function () {
        if (!state.joined && !state.over) fatal("connection_failed", reload);
      }, JOIN_TIMEOUT_MS);
    });
    socket.on("connect_error", function () {
      if (state.over) return;
      if (!state.joined) fatal("connection_failed", reload);
      else fatal("connection_lost");
    });
    socket.on("disconnect", function () {
      if (state.over) return;
      if (!state.joined) fatal("connection_failed", reload);
      else fatal("connection_lost");
    });
    socket.on("joined", onJoined);
    socket.on("answer", onAnswer);
    socket.on("step", onStep);
    socket.on("window_open", onWindowOpen);
    socket.on("window_close", onWindowClose);
    socket.on("finished", function () { if (!state.over) showDone(); });
    socket.on("aborted", function (data) { showEnded(data && data.reason); });
    socket.on("error", onServerError);
  }

  function onJoined(data) {
    if (state.over || state.joined) return;
    clearTimer("join");
    data = data || {};
    state.joined = {
      session_id: data.session_id,
      steps: Array.isArray(data.steps) ? data.steps : [],
      ice_servers: Array.isArray(data.ice_servers) ? data.ice_servers : []
    };
    if (data.locale && !state.localeChosen) state.locale = I18N.normalizeLocale(data.locale);
    applyI18n();
    state.timers.heartbeat = setInterval(function () { emit("heartbeat", {}); }, HEARTBEAT_MS);
    setPhase("consent");
  }

  function onServerError(data) {
    var code = data && typeof data.code === "string" ? data.code : "server_error";
    kiosk.lastError = code;
    if (SOFT_ERRORS.indexOf(code) >= 0) {
      if (window.console) console.warn("server rejected a message:", code);
      return;
    }
    if (state.over) return;
    if (LINK_ERRORS.indexOf(code) >= 0) { fatal(code); return; }
    if (code === "bad_offer") {
      closePc();
      showError("bad_offer", function () { negotiate(); });
      return;
    }
    fatal("server_error", state.joined ? null : reload);
  }

  // ---------------------------------------------------------------- devices

  function supported() {
    return !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia &&
              window.RTCPeerConnection && window.Promise);
  }

  function deviceErrorCode(err) {
    var name = err && err.name;
    return (name && DEVICE_ERRORS[name]) || "device_error";
  }

  function startDevices() {
    setPhase("devices");
    $("devices-help").textContent = t("devices.asking");
    $("devices-help").setAttribute("data-i18n", "devices.asking");
    $("btn-devices-ok").disabled = true;
    stopStream();
    navigator.mediaDevices.getUserMedia(MEDIA_CONSTRAINTS).then(function (stream) {
      if (state.over) { stream.getTracks().forEach(function (tr) { tr.stop(); }); return; }
      state.stream = stream;
      stream.getTracks().forEach(function (track) {
        track.addEventListener("ended", function () { onTrackEnded(track); });
      });
      attachPreview($("device-preview"), stream);
      attachPreview($("witness-preview"), stream);
      startMeter(stream);
      $("devices-help").setAttribute("data-i18n", "devices.body");
      $("devices-help").textContent = t("devices.body");
      $("btn-devices-ok").disabled = false;
      $("btn-devices-ok").focus();
    }).catch(function (err) {
      var code = deviceErrorCode(err);
      // The server's code set has no device_error: media_error is its catch-all.
      emit("client_error", { code: code === "device_error" ? "media_error" : code });
      showError(code, startDevices);
    });
  }

  function attachPreview(video, stream) {
    video.srcObject = stream;
    var p = video.play();
    if (p && p.catch) p.catch(function () { /* muted preview; autoplay attribute retries */ });
  }

  function onTrackEnded(track) {
    // The camera was unplugged or taken by the system mid-session.
    if (state.over || track.readyState !== "ended" || !state.stream) return;
    if (kiosk.phase === "witness" || kiosk.phase === "connecting") {
      emit("client_error", { code: "media_error" });
      fatal("media_failed");
    }
  }

  function stopStream() {
    if (state.stream) {
      state.stream.getTracks().forEach(function (tr) { tr.stop(); });
      state.stream = null;
    }
    ["device-preview", "witness-preview"].forEach(function (id) { $(id).srcObject = null; });
    stopMeter();
  }

  function ensureAudioContext() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    if (!state.audioCtx) {
      try { state.audioCtx = new Ctx(); } catch (e) { return null; }
    }
    if (state.audioCtx.state === "suspended") state.audioCtx.resume();
    return state.audioCtx;
  }

  function startMeter(stream) {
    stopMeter();
    var ctx = ensureAudioContext();
    if (!ctx || !stream.getAudioTracks().length) return;
    var source = ctx.createMediaStreamSource(stream);
    var analyser = ctx.createAnalyser();
    analyser.fftSize = 1024;
    source.connect(analyser);
    var buf = new Float32Array(analyser.fftSize);
    var fill = $("mic-meter-fill");
    var meter = $("mic-meter");
    var smooth = 0;
    function tick() {
      analyser.getFloatTimeDomainData(buf);
      var sum = 0;
      for (var i = 0; i < buf.length; i++) sum += buf[i] * buf[i];
      var rms = Math.sqrt(sum / buf.length);
      // -60 dBFS .. -10 dBFS mapped to 0..1: speech at arm's length lands mid-scale.
      var db = 20 * Math.log10(rms + 1e-9);
      var level = Math.max(0, Math.min(1, (db + 60) / 50));
      smooth = level > smooth ? level : smooth * 0.85 + level * 0.15;
      fill.style.transform = "scaleX(" + smooth.toFixed(3) + ")";
      meter.setAttribute("aria-valuenow", String(Math.round(smooth * 100)));
      body.style.setProperty("--mic-level", smooth.toFixed(3));
      state.meterRaf = requestAnimationFrame(tick);
    }
    state.meterSource = source;
    state.meterRaf = requestAnimationFrame(tick);
  }

  function stopMeter() {
    if (state.meterRaf) cancelAnimationFrame(state.meterRaf);
    state.meterRaf = 0;
    if (state.meterSource) { try { state.meterSource.disconnect(); } catch (e) { /* closed */ } }
    state.meterSource = null;
  }

  // ---------------------------------------------------------------- audio unlock

  // A short silent WAV, played inside a tap, so that mobile browsers allow the prompts later.
  var silentUrl = null;
  function primeAudio() {
    ensureAudioContext();
    if (!silentUrl) {
      var rate = 8000;
      var n = 800;
      var buf = new ArrayBuffer(44 + n * 2);
      var v = new DataView(buf);
      var w = function (o, s) { for (var i = 0; i < s.length; i++) v.setUint8(o + i, s.charCodeAt(i)); };
      w(0, "RIFF"); v.setUint32(4, 36 + n * 2, true); w(8, "WAVE"); w(12, "fmt ");
      v.setUint32(16, 16, true); v.setUint16(20, 1, true); v.setUint16(22, 1, true);
      v.setUint32(24, rate, true); v.setUint32(28, rate * 2, true); v.setUint16(32, 2, true);
      v.setUint16(34, 16, true); w(36, "data"); v.setUint32(40, n * 2, true);
      silentUrl = URL.createObjectURL(new Blob([buf], { type: "audio/wav" }));
    }
    if (state.step) return;  // a prompt is loaded: do not replace it
    audio.src = silentUrl;
    var p = audio.play();
    if (p && p.catch) p.catch(function () { /* only a warm-up */ });
  }

  // ---------------------------------------------------------------- WebRTC

  function closePc() {
    if (state.pc) {
      try { state.pc.close(); } catch (e) { /* already closed */ }
      state.pc = null;
    }
  }

  function waitForIceGathering(pc) {
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise(function (resolve) {
      var done = false;
      function finish() {
        if (done) return;
        done = true;
        pc.removeEventListener("icegatheringstatechange", check);
        clearTimeout(cap);
        resolve();
      }
      function check() { if (pc.iceGatheringState === "complete") finish(); }
      // Non-trickle: wait for all candidates, but never more than the cap (slow STUN/TURN).
      var cap = setTimeout(finish, ICE_GATHER_CAP_MS);
      pc.addEventListener("icegatheringstatechange", check);
    });
  }

  function negotiate() {
    if (!state.stream) { startDevices(); return; }
    setPhase("connecting");
    closePc();
    var pc;
    try {
      pc = new RTCPeerConnection({ iceServers: state.joined.ice_servers });
    } catch (e) {
      emit("client_error", { code: "unsupported_browser" });
      fatal("unsupported");
      return;
    }
    state.pc = pc;
    var stream = state.stream;
    stream.getVideoTracks().concat(stream.getAudioTracks()).forEach(function (track) {
      pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
    });
    pc.addEventListener("connectionstatechange", function () {
      if (state.pc !== pc || state.over) return;
      if (pc.connectionState === "failed") {
        emit("client_error", { code: "media_error" });
        fatal("media_failed");
      }
    });
    pc.createOffer().then(function (offer) {
      return pc.setLocalDescription(offer);
    }).then(function () {
      return waitForIceGathering(pc);
    }).then(function () {
      if (state.pc !== pc || state.over) return;
      var desc = pc.localDescription;
      emit("offer", { sdp: desc.sdp, type: desc.type });
      setTimer("answer", function () {
        if (!state.over && kiosk.phase === "connecting") {
          closePc();
          showError("bad_offer", function () { negotiate(); });
        }
      }, ANSWER_TIMEOUT_MS);
    }).catch(function (err) {
      if (state.pc !== pc || state.over) return;
      if (window.console) console.warn("offer failed", err);
      emit("client_error", { code: "media_error" });
      closePc();
      showError("bad_offer", function () { negotiate(); });
    });
  }

  function onAnswer(data) {
    var pc = state.pc;
    if (!pc || state.over) return;
    clearTimer("answer");
    pc.setRemoteDescription({ type: "answer", sdp: String((data && data.sdp) || "") }).then(function () {
      if (state.over) return;
      if (kiosk.phase === "connecting") enterWitness();
    }).catch(function (err) {
      if (window.console) console.warn("answer rejected", err);
      emit("client_error", { code: "media_error" });
      closePc();
      showError("bad_offer", function () { negotiate(); });
    });
  }

  function enterWitness() {
    setPhase("witness");
    setAvatar(state.step ? avatar.getState() : "thinking");
  }

  // ---------------------------------------------------------------- the guide

  function stepRef(step) { return { step: step.id, seq: step.seq }; }

  function sendOnce(kind, step, extra) {
    var key = kind + ":" + step.seq;
    if (state.sent[key]) return;
    state.sent[key] = true;
    var payload = stepRef(step);
    if (extra) for (var k in extra) if (Object.prototype.hasOwnProperty.call(extra, k)) payload[k] = extra[k];
    emit(kind, payload);
  }

  function onStep(data) {
    if (state.over || !data) return;
    if (kiosk.phase !== "witness") enterWitness();
    stopPlayback();
    hideGate();
    closeWindow();
    state.step = data;
    kiosk.stepIndex = typeof data.index === "number" ? data.index : null;
    kiosk.stepId = data.id === undefined ? null : data.id;
    var text = String(data.text || "");
    $("subtitle").textContent = text;
    $("subtitle").classList.toggle("long", textWeight(text) > 110);
    renderProgress();
    var prompt = data.prompt;
    $("btn-replay").disabled = !(prompt && prompt.url);
    if (prompt && prompt.url) playPrompt(data, false);
    else readAloudSilently(data);
  }

  function stopPlayback() {
    state.playId += 1;
    clearTimer("reading");
    audio.onplaying = audio.onended = audio.onerror = null;
    try { audio.pause(); } catch (e) { /* nothing loaded */ }
    if (avatar) avatar.silence();
  }

  function afterSpeech() {
    if (avatar) avatar.silence();
    setAvatar(state.windowOpen ? "listening" : "thinking");
  }

  function loadVisemes(prompt, playId) {
    if (!prompt.visemes_url || !window.fetch) return;
    fetch(prompt.visemes_url, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) throw new Error("visemes HTTP " + r.status);
      return r.json();
    }).then(function (body) {
      // The server's file is {sha256, duration, frame_seconds, visemes: [[t, open], ...]}.
      var points = Array.isArray(body) ? body : (body && body.visemes) || [];
      if (playId === state.playId && avatar) avatar.speak(audio, points);
    }).catch(function (err) {
      // Lip-sync is decoration: keep the generic mouth movement.
      if (window.console) console.warn("visemes unavailable", err);
    });
  }

  function playPrompt(step, isReplay) {
    stopPlayback();
    var id = state.playId;
    var prompt = step.prompt;
    audio.onplaying = function () {
      if (id !== state.playId) return;
      setAvatar("speaking");
      if (!isReplay) sendOnce("prompt_started", step);
    };
    audio.onended = function () {
      if (id !== state.playId) return;
      if (!isReplay) sendOnce("prompt_ended", step);
      afterSpeech();
    };
    audio.onerror = function () {
      if (id !== state.playId) return;
      onPromptFailed(step, isReplay, "media_error");
    };
    // Setting src resets playbackRate to defaultPlaybackRate, so set both.
    audio.defaultPlaybackRate = state.speed;
    audio.src = prompt.url;
    audio.playbackRate = state.speed;
    if (avatar) avatar.speak(audio, []);
    loadVisemes(prompt, id);
    startAudio(step, isReplay, id);
  }

  function startAudio(step, isReplay, id) {
    var p;
    try { p = audio.play(); } catch (e) { p = Promise.reject(e); }
    if (!p || !p.then) return;
    p.catch(function (err) {
      if (id !== state.playId) return;
      if (err && err.name === "NotAllowedError") {
        if (!isReplay) sendOnce("prompt_blocked", step, { reason: "autoplay" });
        showGate(step, isReplay, id);
      } else if (!(err && err.name === "AbortError")) {
        onPromptFailed(step, isReplay, "media_error");
      }
    });
  }

  function onPromptFailed(step, isReplay, reason) {
    stopPlayback();
    hideGate();
    $("btn-replay").disabled = true;  // the audio cannot be played on this device
    if (isReplay) { afterSpeech(); return; }
    sendOnce("prompt_blocked", step, { reason: reason });
    readAloudSilently(step);
  }

  /** No audio (TTS degraded or unplayable): show the text for a reading time, then go on. */
  function readAloudSilently(step) {
    var id = state.playId;
    sendOnce("prompt_started", step);
    if (avatar) avatar.speakSilently();
    setAvatar("speaking");
    setTimer("reading", function () {
      if (id !== state.playId) return;
      sendOnce("prompt_ended", step);
      afterSpeech();
    }, readingMs(String(step.text || "")) / state.speed);
  }

  /** Rough display length: a Chinese character is about two Latin letters wide. */
  function textWeight(text) {
    var cjk = (text.match(/[\u3400-\u9fff\uf900-\ufaff]/g) || []).length;
    return text.length + cjk;
  }

  function readingMs(text) {
    var cjk = (text.match(/[\u3400-\u9fff\uf900-\ufaff]/g) || []).length;
    var other = text.length - cjk;
    // About 4.5 Chinese characters or 15 Latin characters a second, plus a moment to settle.
    var ms = 1200 + cjk * 220 + other * 65;
    return Math.max(2500, Math.min(20000, ms));
  }

  function showGate(step, isReplay, id) {
    var gate = $("gate");
    gate.hidden = false;
    setAvatar("idle");
    var btn = $("btn-gate");
    // The whole overlay is the tap target: any tap on it counts as the gesture.
    gate.onclick = function () {
      gate.hidden = true;
      gate.onclick = null;
      if (id !== state.playId) return;
      ensureAudioContext();
      var p = audio.play();
      if (p && p.catch) {
        p.catch(function (err) {
          if (id !== state.playId) return;
          if (window.console) console.warn("prompt still blocked", err);
          onPromptFailed(step, isReplay, "autoplay");
        });
      }
    };
    btn.focus();
  }

  function hideGate() {
    $("gate").hidden = true;
    $("gate").onclick = null;
  }

  function replay() {
    var step = state.step;
    if (!step || !step.prompt || !step.prompt.url || state.over) return;
    playPrompt(step, true);
  }

  function onWindowOpen(data) {
    if (state.over) return;
    var seconds = Math.max(0, Number(data && data.seconds) || 0);
    state.windowOpen = true;
    state.windowDeadline = Date.now() + seconds * 1000;
    $("listening").hidden = false;
    body.classList.add("is-listening");
    if (!(avatar && avatar.getState() === "speaking")) setAvatar("listening");
    renderCountdown();
    renderStatus();
    clearTimer("countdown");
    state.timers.countdown = setInterval(renderCountdown, 250);
  }

  function closeWindow() {
    state.windowOpen = false;
    clearTimer("countdown");
    $("listening").hidden = true;
    body.classList.remove("is-listening");
    renderCountdown();
  }

  function onWindowClose() {
    if (state.over) return;
    closeWindow();
    if (!(avatar && avatar.getState() === "speaking")) setAvatar("thinking");
    renderStatus();
  }

  // ---------------------------------------------------------------- preferences

  function sendPrefs() {
    if (state.joined) emit("prefs", { speed: state.speed, captions: true, locale: state.locale });
  }

  function setSpeed(speed) {
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

  function toggleLocale() {
    state.locale = state.locale === "zh-CN" ? "en" : "zh-CN";
    state.localeChosen = true;
    applyI18n();
    sendPrefs();
  }

  // ---------------------------------------------------------------- cancel, teardown, kiosk

  function openCancel() {
    $("cancel-dialog").hidden = false;
    $("btn-cancel-keep").focus();
  }

  function closeCancel() {
    $("cancel-dialog").hidden = true;
  }

  function confirmCancel() {
    closeCancel();
    emit("cancel", {});
    // The server answers with aborted {reason: "cancelled"}; do not leave the investor waiting.
    setTimer("cancel", function () { showEnded("cancelled"); }, CANCEL_FALLBACK_MS);
  }

  function teardown(disconnect) {
    stopPlayback();
    hideGate();
    closeCancel();
    closeWindow();
    clearAllTimers();
    closePc();
    stopStream();
    if (state.audioCtx) {
      try { state.audioCtx.close(); } catch (e) { /* closed */ }
      state.audioCtx = null;
    }
    audio.removeAttribute("src");
    try { audio.load(); } catch (e) { /* nothing loaded */ }
    if (avatar) setAvatar("idle");
    if (disconnect && state.socket) {
      var s = state.socket;
      state.socket = null;
      try { s.disconnect(); } catch (e) { /* gone */ }
    }
  }

  function scheduleAttract() {
    if (!config.kioskMode) return;
    clearTimeout(scheduleAttract.timer);
    scheduleAttract.timer = setTimeout(wipe, ATTRACT_AFTER_MS);
  }

  /** Kiosk mode: forget this investor entirely and show the attract screen. */
  function wipe() {
    teardown(true);
    var locale = I18N.normalizeLocale(body.getAttribute("data-locale"));
    state = freshState(locale);
    state.over = true;
    config.token = "";
    body.removeAttribute("data-token");
    ["subtitle", "ended-message", "error-message", "error-code", "progress-label",
     "progress-title", "progress-steps", "listen-countdown", "status-text"].forEach(function (id) {
      var node = $(id);
      while (node.firstChild) node.removeChild(node.firstChild);
    });
    try { window.sessionStorage.clear(); } catch (e) { /* storage disabled */ }
    try { window.localStorage.clear(); } catch (e) { /* storage disabled */ }
    kiosk.stepIndex = null;
    kiosk.stepId = null;
    kiosk.lastError = null;
    kiosk.events.length = 0;
    applyI18n();
    $("subtitle").textContent = "";
    setSpeed(1);
    if (!attractAvatar) attractAvatar = Avatar.create($("attract-avatar"), { label: "" });
    setPhase("attract");
  }

  // ---------------------------------------------------------------- start

  function bind() {
    $("lang-switch").addEventListener("click", toggleLocale);
    $("btn-start").addEventListener("click", function () {
      primeAudio();
      startDevices();
    });
    $("btn-devices-ok").addEventListener("click", function () {
      primeAudio();
      negotiate();
    });
    $("btn-replay").addEventListener("click", replay);
    $("btn-cancel").addEventListener("click", openCancel);
    $("btn-cancel-keep").addEventListener("click", closeCancel);
    $("btn-cancel-confirm").addEventListener("click", confirmCancel);
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && !$("cancel-dialog").hidden) closeCancel();
    });
    var segs = document.querySelectorAll("[data-speed]");
    for (var i = 0; i < segs.length; i++) {
      segs[i].addEventListener("click", function (e) {
        setSpeed(Number(e.currentTarget.getAttribute("data-speed")));
      });
    }
  }

  function start() {
    avatar = Avatar.create($("avatar"), { label: "" });
    bind();
    applyI18n();
    setPhase("loading");
    // Check before joining, so an unusable browser does not use up the single-use link.
    if (!supported()) {
      state.over = true;
      showError("unsupported", null);
      return;
    }
    connect();
  }

  start();
})();
