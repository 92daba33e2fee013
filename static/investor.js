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
  var ATTRACT_AFTER_MS = 10000;      // kiosk: the end screen stays this long, then resets
  var KIOSK_IDLE_MS = 90000;         // kiosk: untouched this long before the witness starts: reset
  var HINT_SHOW_MS = 4000;           // a framing hint stays up this long unless repeated
  var MIC_MOVE_LEVEL = 0.12;         // pre-flight: the meter must reach this (about -54 dBFS)
  var CAMERA_MIN_FRAMES = 5;         // pre-flight: this many decoded preview frames
  var CONNECTION_MAX_MS = 3000;      // pre-flight: a health round trip slower than this fails
  var SPEEDS = [0.8, 1, 1.2];
  // Noise suppression and automatic gain reshape speech and cost the answer recogniser
  // accuracy; echo cancellation stays on because the guide may be heard through speakers.
  var MEDIA_CONSTRAINTS = {
    video: { width: 640, height: 480, frameRate: 15 },
    audio: { echoCancellation: true, noiseSuppression: false, autoGainControl: false }
  };

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
                       "declined", "step_failed", "media_error", "internal_error", "client_abuse",
                       "storage_full"];
  // Server reasons that mean the same to the investor as one above.
  var ABORT_ALIASES = { disconnected: "connection_lost" };
  // Which heading goes with an error code (the message itself is "error." + code).
  var ERROR_TITLES = {
    permission_denied: "error.title_device", no_camera: "error.title_device",
    camera_in_use: "error.title_device", device_error: "error.title_device",
    link_invalid: "error.title_link", link_expired: "error.title_link", link_used: "error.title_link",
    connection_failed: "error.title_connection", connection_lost: "error.title_connection",
    server_busy: "error.title_connection",
    media_failed: "error.title_connection", unsupported: "error.title_browser",
    no_microphone: "error.title_device", unsupported_browser: "error.title_browser"
  };
  // Framing hints the server may send as hint {code}; anything else is ignored.
  var HINT_CODES = ["closer", "further", "more_light", "face_in_frame", "one_person", "turn_more"];
  // Liveness actions the server may announce with challenge {name}; anything else is ignored.
  var CHALLENGES = ["blink", "turn_left", "turn_right", "nod", "open_mouth"];
  var READING_MIN_MS = 2500;         // a prompt the guide could not speak stays up at least ...
  var READING_MAX_MS = 20000;        // ... and at most this long (the server allows it + 6 s)
  var CHECK_WAIT = { camera: "devices.check_camera_wait", mic: "devices.check_mic_wait",
                     connection: "devices.check_connection_wait" };
  var SCREENS = ["loading", "consent", "devices", "connecting", "witness", "done", "ended", "error", "attract"];

  var config = {
    token: body.getAttribute("data-token") || "",
    broker: body.getAttribute("data-broker") || "",
    kioskMode: body.getAttribute("data-kiosk-mode") === "true",
    // The /kiosk page may start a witness for the next customer itself (demo / staff setting).
    kioskStart: body.getAttribute("data-kiosk-start") === "true",
    kioskFlow: body.getAttribute("data-kiosk-flow") || "",
    resetMs: Number(body.getAttribute("data-kiosk-reset-ms")) || ATTRACT_AFTER_MS,
    idleMs: Number(body.getAttribute("data-kiosk-idle-ms")) || KIOSK_IDLE_MS
  };

  var kiosk = window.kiosk = { phase: "loading", stepIndex: null, stepId: null, lastError: null, events: [],
                               sessionId: null,
                               sessions: 0, preflight: { camera: false, mic: false, connection: false },
                               hint: null, challenge: null };

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
      meterRaf: 0,
      meterPeak: 0,
      frames: 0,
      videoCb: 0,
      hiddenDuring: null      // the seq of a prompt that played while the tab was hidden
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
    armIdle();
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

  function reload() {
    // A kiosk never reloads a used, single-use link: it goes back to the attract screen.
    if (config.kioskMode) { wipe(); return; }
    window.location.reload();
  }

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
    // forceNew: a kiosk runs many sessions in one page; never reuse a cached, closed manager.
    var socket = window.io({ transports: ["websocket"], reconnection: false, forceNew: true });
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
    socket.on("connect_error", function (err) {
      if (state.over) return;
      // Refused at the door (too many connections): say so, and let them try again later.
      if (err && err.data && err.data.code === "server_busy") { fatal("server_busy", reload); return; }
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
    socket.on("hint", onHint);
    socket.on("challenge", onChallenge);
    socket.on("challenge_result", onChallengeResult);
    socket.on("recognised", onRecognised);
  }

  function onJoined(data) {
    if (state.over || state.joined) return;
    clearTimer("join");
    data = data || {};
    kiosk.sessionId = typeof data.session_id === "string" ? data.session_id : null;
    state.joined = {
      session_id: data.session_id,
      steps: Array.isArray(data.steps) ? data.steps : [],
      ice_servers: Array.isArray(data.ice_servers) ? data.ice_servers : []
    };
    if (data.locale && !state.localeChosen) state.locale = I18N.normalizeLocale(data.locale);
    applyI18n();
    if (state.localeChosen) sendPrefs();  // picked on the attract screen, before the session
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
    if (code === "no_microphone") {
      // Ask for the devices again: the investor allows or plugs in a microphone first.
      closePc();
      stopStream();
      showError("no_microphone", startDevices);
      return;
    }
    if (code === "unsupported_browser") {
      // Asking again cannot help: this browser has no codec the witness records.
      fatal("unsupported_browser");
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
    resetPreflight();
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
      countFrames($("device-preview"));
      checkConnection();
      $("devices-help").setAttribute("data-i18n", "devices.body");
      $("devices-help").textContent = t("devices.body");
      renderPreflight();
    }).catch(function (err) {
      var code = deviceErrorCode(err);
      // The server's code set has no device_error: media_error is its catch-all.
      emit("client_error", { code: code === "device_error" ? "media_error" : code });
      showError(code, startDevices);
    });
  }

  // ---------------------------------------------------------------- pre-flight

  function resetPreflight() {
    kiosk.preflight = { camera: false, mic: false, connection: false, rtt_ms: null };
    state.meterPeak = 0;
    state.frames = 0;
    renderPreflight();
  }

  /** Each check shows ok / waiting; the witness can start only when all three pass. */
  function renderPreflight() {
    var pf = kiosk.preflight;
    ["camera", "mic", "connection"].forEach(function (name) {
      var row = $("check-" + name);
      if (!row) return;
      var ok = !!pf[name];
      row.setAttribute("data-ok", ok ? "true" : "false");
      row.querySelector(".check-state").textContent = t(ok ? "devices.check_ok" : CHECK_WAIT[name]);
    });
    var ready = pf.camera && pf.mic && pf.connection && !!state.stream;
    var btn = $("btn-devices-ok");
    var wasDisabled = btn.disabled;
    btn.disabled = !ready;
    if (ready && wasDisabled && kiosk.phase === "devices") btn.focus();
  }

  function markPreflight(name, ok) {
    if (kiosk.preflight[name] === ok) return;
    kiosk.preflight[name] = ok;
    renderPreflight();
  }

  /** Camera check: decoded preview frames must arrive (a black or frozen device gives none). */
  function countFrames(video) {
    var stream = state.stream;
    var lastTime = -1;
    function seen() {
      if (state.stream !== stream) return false;
      state.frames += 1;
      if (state.frames >= CAMERA_MIN_FRAMES && video.videoWidth > 0) markPreflight("camera", true);
      return state.frames < CAMERA_MIN_FRAMES;
    }
    if (video.requestVideoFrameCallback) {
      var onFrame = function () { if (seen()) state.videoCb = video.requestVideoFrameCallback(onFrame); };
      state.videoCb = video.requestVideoFrameCallback(onFrame);
      return;
    }
    setTimer("frames", function poll() {
      if (video.currentTime !== lastTime && video.videoWidth > 0) { lastTime = video.currentTime; if (!seen()) return; }
      setTimer("frames", poll, 100);
    }, 100);
  }

  /** Connection check: the socket is up and the server answers a health request quickly. */
  function checkConnection() {
    if (!window.fetch) { markPreflight("connection", !!(state.socket && state.socket.connected)); return; }
    var t0 = Date.now();
    fetch("/api/health", { cache: "no-store", credentials: "same-origin" }).then(function (r) {
      var rtt = Date.now() - t0;
      kiosk.preflight.rtt_ms = rtt;
      var ok = r.ok && rtt < CONNECTION_MAX_MS && !!(state.socket && state.socket.connected);
      markPreflight("connection", ok);
      if (!ok) retryConnectionCheck();
    }).catch(function () {
      markPreflight("connection", false);
      retryConnectionCheck();
    });
  }

  function retryConnectionCheck() {
    // A slow moment on the network should not hold the investor up for good.
    if (kiosk.phase === "devices" && !state.over) setTimer("conn-check", checkConnection, 2000);
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
    var v = $("device-preview");
    if (state.videoCb && v.cancelVideoFrameCallback) v.cancelVideoFrameCallback(state.videoCb);
    state.videoCb = 0;
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
    // No Web Audio: the level cannot be measured here, so this check cannot hold the investor up.
    if (!ctx) { markPreflight("mic", true); return; }
    if (!stream.getAudioTracks().length) return;
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
      // Microphone check: the level must move (a muted or dead microphone stays at the floor).
      if (smooth > state.meterPeak) state.meterPeak = smooth;
      if (!kiosk.preflight.mic && state.meterPeak >= MIC_MOVE_LEVEL) markPreflight("mic", true);
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
    var stream = state.stream;
    if (!stream.getAudioTracks().length) {
      // Spoken consent cannot be heard without a microphone: say so before any offer.
      try { pc.close(); } catch (e) { /* never used */ }
      emit("client_error", { code: "no_microphone" });
      stopStream();
      showError("no_microphone", startDevices);
      return;
    }
    state.pc = pc;
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

  function onRecognised(data) {
    // What the server heard in the answer window, so the investor knows they were understood.
    // The server sends words only when they are meaningful (characters or words, never
    // phones); an answer it could not make out gets a plain "not heard clearly" instead.
    if (state.over || !data) return;
    var el = $("heard");
    if (data.text) {
      el.textContent = t("witness.heard", { text: String(data.text).slice(0, 120) });
    } else if (data.outcome === "retry" || data.outcome === "flag") {
      el.textContent = t(data.intent === "silence" ? "witness.not_heard" : "witness.unclear");
    } else {
      return;
    }
    el.hidden = false;
  }

  function onStep(data) {
    if (state.over || !data) return;
    if (kiosk.phase !== "witness") enterWitness();
    $("heard").hidden = true;
    stopPlayback();
    hideGate();
    closeWindow();
    showChallenge(null);
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
    if (!prompt.visemes_url || !window.fetch) {
      if (avatar) avatar.speak(audio, []);
      return;
    }
    fetch(prompt.visemes_url, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) throw new Error("visemes HTTP " + r.status);
      return r.json();
    }).then(function (body) {
      // The server's file is {sha256, duration, frame_seconds, visemes: [[t, open], ...]}.
      var points = Array.isArray(body) ? body : (body && body.visemes) || [];
      if (playId === state.playId && avatar) avatar.speak(audio, points);
    }).catch(function (err) {
      // Lip-sync is decoration: fall back to a generic mouth movement.
      if (window.console) console.warn("visemes unavailable", err);
      if (playId === state.playId && avatar) avatar.speak(audio, []);
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
    // The mouth stays shut until its timeline arrives: moving it generically meanwhile would
    // be out of sync with the words (the prompt starts with ~100 ms of silence anyway).
    loadVisemes(prompt, id);
    if (!isReplay && document.hidden) {
      // Nobody is looking: keep the prompt until the tab is visible, then ask for a tap.
      state.hiddenDuring = step.seq;
      if (avatar) avatar.silence();
      setAvatar("idle");
      return;
    }
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
    }, readingMs(step) / state.speed);
  }

  /** Rough display length: a Chinese character is about two Latin letters wide. */
  function textWeight(text) {
    var cjk = (text.match(/[\u3400-\u9fff\uf900-\ufaff]/g) || []).length;
    return text.length + cjk;
  }

  /** How long the subtitle of a prompt without audio stays up: the server's reading time
   *  (step.reading_seconds, from the one reading-rate model in kiosk/flows/model.py). */
  function readingMs(step) {
    var seconds = Number(step.reading_seconds);
    var ms = isFinite(seconds) && seconds > 0 ? seconds * 1000 : 0;
    return Math.max(READING_MIN_MS, Math.min(READING_MAX_MS, ms));
  }

  function showGate(step, isReplay, id, restart) {
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
      if (restart) {
        // From the start again; if it had begun in the hidden tab, that is a replay.
        if (state.sent["prompt_started:" + step.seq]) emit("prompt_replayed", stepRef(step));
        playPrompt(step, isReplay);
        return;
      }
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
    // The evidence must show that the guide's voice was heard again (it may be in the answer).
    emit("prompt_replayed", stepRef(step));
    playPrompt(step, true);
  }

  // ---------------------------------------------------------------- framing hints

  function onHint(data) {
    if (state.over) return;
    var code = data && data.code;
    // {code: null}: the server's checks are happy again.
    if (code === null) { clearTimer("hint"); clearHint(); return; }
    if (HINT_CODES.indexOf(code) < 0) return;
    kiosk.hint = code;
    renderHint();
    setTimer("hint", clearHint, HINT_SHOW_MS);
  }

  // ---------------------------------------------------------------- liveness actions

  /** The server announces each drawn action as it starts waiting for it: show which one is
   *  due now ("Action 1 of 2: Blink"), since the subtitle lists them all at once. */
  function onChallenge(data) {
    if (state.over || !data || CHALLENGES.indexOf(data.name) < 0) return;
    var index = Number(data.index), total = Number(data.total);
    if (!(index >= 0 && total > index)) return;
    showChallenge({ step: data.step, name: data.name, index: index, total: total, passed: null });
  }

  /** An action was seen: tick it. One whose time ran out just goes away: the next action,
   *  or the guide asking again, says what to do. */
  function onChallengeResult(data) {
    var current = kiosk.challenge;
    if (state.over || !data || !current || data.name !== current.name) return;
    if (data.passed === true) {
      current.passed = true;
      showChallenge(current);
    } else {
      showChallenge(null);
    }
  }

  function showChallenge(challenge) {
    kiosk.challenge = challenge;
    var node = $("challenge");
    if (!challenge) {
      node.hidden = true;
      node.textContent = "";
      node.setAttribute("data-state", "");
      return;
    }
    var action = t("challenge." + challenge.name);
    node.textContent = challenge.passed ? t("challenge.done", { action: action })
      : t("challenge.now", { current: challenge.index + 1, total: challenge.total, action: action });
    node.setAttribute("data-state", challenge.passed ? "passed" : "waiting");
    node.hidden = false;
  }

  function clearHint() {
    kiosk.hint = null;
    renderHint();
  }

  function renderHint() {
    var code = kiosk.hint;
    var node = $("frame-hint");
    node.textContent = code ? t("hint." + code) : "";
    node.hidden = !code;
    node.setAttribute("data-code", code || "");
    $("witness-frame").classList.toggle("has-hint", !!code);
  }

  // ---------------------------------------------------------------- hidden tab

  /** A prompt playing in a hidden tab may not be heard: pause it and ask for a tap on return. */
  function onVisibility() {
    var step = state.step;
    if (state.over || !step || !step.prompt || !step.prompt.url) return;
    if (document.hidden) {
      if (!audio.paused && !audio.ended) {
        state.hiddenDuring = step.seq;
        stopPlayback();
      }
      return;
    }
    if (state.hiddenDuring === step.seq) {
      state.hiddenDuring = null;
      audio.defaultPlaybackRate = state.speed;
      audio.src = step.prompt.url;
      audio.playbackRate = state.speed;
      emit("prompt_blocked", { step: step.id, seq: step.seq, reason: "hidden" });
      showGate(step, false, state.playId, true);
    }
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
    setTimer("attract", wipe, config.resetMs);
  }

  /** Kiosk: an untouched consent / device / error screen means the customer walked away. */
  function armIdle() {
    if (!config.kioskMode) return;
    clearTimer("idle");
    if (["consent", "devices", "error"].indexOf(kiosk.phase) < 0) return;
    setTimer("idle", function () {
      if (["consent", "devices", "error"].indexOf(kiosk.phase) < 0) return;
      if (state.joined && !state.over) emit("cancel", {});
      wipe();
    }, config.idleMs);
  }

  function clearNode(id) {
    var node = $(id);
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  /** Kiosk mode: forget this investor entirely and show the attract screen. */
  function wipe() {
    teardown(true);
    var locale = I18N.normalizeLocale(body.getAttribute("data-locale"));
    state = freshState(locale);
    state.over = true;
    config.token = "";
    body.setAttribute("data-token", "");
    ["subtitle", "ended-message", "error-message", "error-code", "progress-label",
     "progress-title", "progress-steps", "listen-countdown", "status-text", "frame-hint",
     "challenge"].forEach(clearNode);
    $("challenge").hidden = true;
    try { window.sessionStorage.clear(); } catch (e) { /* storage disabled */ }
    try { window.localStorage.clear(); } catch (e) { /* storage disabled */ }
    // The link held the token: take it out of the address bar and the history entry too.
    try {
      if (window.location.pathname.indexOf("/w/") === 0) window.history.replaceState(null, "", "/kiosk");
    } catch (e) { /* no history API */ }
    kiosk.stepIndex = null;
    kiosk.stepId = null;
    kiosk.lastError = null;
    kiosk.hint = null;
    kiosk.challenge = null;
    kiosk.sessionId = null;
    kiosk.events.length = 0;
    // Resource timings list every URL this investor's witness fetched.
    try { performance.clearResourceTimings(); } catch (e) { /* old browsers */ }
    kiosk.preflight = { camera: false, mic: false, connection: false, rtt_ms: null };
    applyI18n();
    renderHint();
    renderPreflight();
    $("subtitle").textContent = "";
    $("heard").textContent = "";
    $("heard").hidden = true;
    $("btn-replay").disabled = true;
    setSpeed(1);
    if (!attractAvatar) attractAvatar = Avatar.create($("attract-avatar"), { label: "" });
    $("btn-attract-start").hidden = !config.kioskStart;
    $("attract-staff").hidden = config.kioskStart;
    setPhase("attract");
  }

  /** Kiosk: ask the server for the next customer's witness, then run it in this page. */
  function startNext() {
    var btn = $("btn-attract-start");
    if (btn.disabled) return;
    btn.disabled = true;
    primeAudio();
    requestFullscreen();
    var body_ = { locale: state.locale };
    if (config.kioskFlow) body_.flow = config.kioskFlow;
    fetch("/kiosk/next", {
      method: "POST", credentials: "same-origin", cache: "no-store",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body_)
    }).then(function (r) {
      if (!r.ok) throw new Error("kiosk/next HTTP " + r.status);
      return r.json();
    }).then(function (data) {
      btn.disabled = false;
      if (!data || typeof data.token !== "string" || !data.token) throw new Error("no token");
      beginSession(data.token);
    }).catch(function (err) {
      btn.disabled = false;
      if (window.console) console.warn("could not start the next witness", err);
      kiosk.lastError = "kiosk_start_failed";
      $("attract-error").hidden = false;
      setTimer("attract-error", function () { $("attract-error").hidden = true; }, 5000);
    });
  }

  function beginSession(token) {
    var chosen = state.localeChosen;
    var locale = state.locale;
    state = freshState(locale);
    state.localeChosen = chosen;
    config.token = token;
    kiosk.sessions += 1;
    $("attract-error").hidden = true;
    setPhase("loading");
    connect();
  }

  function requestFullscreen() {
    if (!config.kioskMode || document.fullscreenElement) return;
    var el = document.documentElement;
    try {
      var p = el.requestFullscreen && el.requestFullscreen({ navigationUI: "hide" });
      if (p && p.catch) p.catch(function () { /* chromium --kiosk is already full screen */ });
    } catch (e) { /* not allowed here */ }
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
    $("btn-attract-start").addEventListener("click", startNext);
    ["btn-done-finish", "btn-ended-finish", "btn-error-finish"].forEach(function (id) {
      $(id).addEventListener("click", wipe);
      $(id).hidden = !config.kioskMode;
    });
    document.addEventListener("visibilitychange", onVisibility);
    if (config.kioskMode) {
      // Touch-first: any touch keeps the customer's screen alive; no context menu, no zoom.
      document.addEventListener("pointerdown", armIdle, { passive: true });
      document.addEventListener("contextmenu", function (e) { e.preventDefault(); });
      document.addEventListener("pointerdown", requestFullscreen, { passive: true });
    }
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
    if (config.kioskMode) {
      body.setAttribute("data-kiosk", "true");
      document.documentElement.classList.add("kiosk");
    }
    if (config.kioskMode && !config.token) {  // the /kiosk page: wait for the next customer
      wipe();
      return;
    }
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
