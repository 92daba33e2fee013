/* Broker page: flow editor with live validation, prompt playback, dry run and publish.
 *
 * The editor is a plain <textarea> (no wrapping) beside a line-number gutter; errors from the
 * server's check (POST, debounced) mark their lines in the gutter and behind the text.
 * window.broker exposes the page state for tests: checks, problems, warnings, valid, dry.
 * An ES module (<script type="module">): the guide's face comes from avatar.js.
 */
import * as Avatar from "./avatar.js";

function main() {
  var dataEl = document.getElementById("bk-data");
  if (!dataEl) return; // the flow list page needs nothing from here
  var cfg = JSON.parse(dataEl.textContent);
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var LINE = 20; // px; the CSS line-height of the gutter and the textarea
  var PAD = 6;   // px; their top padding

  var $ = function (id) { return document.getElementById(id); };
  var text = $("bk-text"), gutter = $("bk-gutter"), marks = $("bk-marks");
  var statusEl = $("bk-status"), problemsEl = $("bk-problems");
  var localeSel = $("bk-locale"), stepsEl = $("bk-steps"), audio = $("bk-audio");

  var state = window.broker = {
    checks: 0, problems: [], warnings: [], valid: false, steps: null, locales: [], version: null,
    playing: null, played: [], dry: null, published: null, error: null
  };
  var seq = 0, timer = null, lineCount = -1, errLines = {};

  function el(tag, attrs, textContent) {
    var n = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { n.setAttribute(k, attrs[k]); });
    if (textContent !== undefined) n.textContent = textContent;
    return n;
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) {
          var err = new Error(j.message || ("HTTP " + r.status));
          err.status = r.status; err.body = j;
          throw err;
        }
        return j;
      });
    });
  }

  function body(extra) {
    var b = { flow_id: cfg.flow_id, text: text.value };
    Object.keys(extra || {}).forEach(function (k) { b[k] = extra[k]; });
    return b;
  }

  // -- gutter and markers ------------------------------------------------------------------

  function renderGutter() {
    var n = text.value.split("\n").length;
    var frag = document.createDocumentFragment();
    for (var i = 1; i <= n; i++) {
      var d = el("div", { "data-line": String(i) }, String(i));
      if (errLines[i]) {
        d.className = "bk-err";
        d.title = errLines[i].join("\n");
        d.setAttribute("data-testid", "err-line-" + i);
      }
      frag.appendChild(d);
    }
    gutter.textContent = "";
    gutter.appendChild(frag);
    lineCount = n;
    marks.textContent = "";
    Object.keys(errLines).forEach(function (ln) {
      var m = el("div", { "data-line": ln });
      m.style.top = (PAD + (Number(ln) - 1) * LINE) + "px";
      marks.appendChild(m);
    });
    syncScroll();
  }

  function syncScroll() {
    gutter.scrollTop = text.scrollTop;
    var kids = marks.children;
    for (var i = 0; i < kids.length; i++) {
      kids[i].style.transform = "translateY(" + (-text.scrollTop) + "px)";
    }
  }

  function goTo(line, col) {
    var lines = text.value.split("\n");
    var pos = 0;
    for (var i = 0; i < Math.min(line - 1, lines.length); i++) pos += lines[i].length + 1;
    pos += Math.max(0, (col || 1) - 1);
    text.focus();
    text.setSelectionRange(pos, pos);
    var top = (line - 1) * LINE;
    if (top < text.scrollTop || top > text.scrollTop + text.clientHeight - 2 * LINE) {
      text.scrollTop = Math.max(0, top - text.clientHeight / 3);
    }
  }

  // -- live validation ---------------------------------------------------------------------

  function scheduleCheck() {
    clearTimeout(timer);
    statusEl.textContent = "Checking…";
    statusEl.className = "bk-status";
    timer = setTimeout(check, cfg.debounce_ms);
  }

  function check() {
    var mine = ++seq;
    return post(cfg.urls.check, body()).then(function (res) {
      if (mine !== seq) return; // a newer edit is being checked
      state.checks++;
      state.problems = res.problems;
      state.valid = res.valid;
      errLines = {};
      res.problems.forEach(function (p) {
        (errLines[p.line] = errLines[p.line] || []).push(p.col + ": " + p.message);
      });
      state.warnings = res.warnings || [];
      problemsEl.textContent = "";
      res.problems.forEach(function (p) {
        var li = el("li", { "data-line": String(p.line), "data-testid": "problem" },
                    "line " + p.line + ", column " + p.col + ": " + p.message);
        li.addEventListener("click", function () { goTo(p.line, p.col); });
        problemsEl.appendChild(li);
      });
      // Speech warnings: the script is valid, but the guide's voice would say this badly.
      state.warnings.forEach(function (p) {
        var li = el("li", { "data-line": String(p.line), "data-testid": "warning",
                            class: "bk-warning" },
                    "line " + p.line + ", column " + p.col + ": voice: " + p.message);
        li.addEventListener("click", function () { goTo(p.line, p.col); });
        problemsEl.appendChild(li);
      });
      if (res.valid) {
        var nw = state.warnings.length;
        statusEl.textContent = "✓ Valid: version " + res.version + ", " +
          res.steps[res.locales[0]].length + " steps, " + res.locales.join(" + ") +
          (nw ? " · " + nw + (nw === 1 ? " speech warning" : " speech warnings") : "");
        statusEl.className = "bk-status bk-ok";
        state.steps = res.steps;
        state.version = res.version;
        setLocales(res.locales);
        renderSteps();
      } else {
        var n = res.problems.length;
        statusEl.textContent = n + (n === 1 ? " problem" : " problems") +
          " — fix before playing, dry-running or publishing";
        statusEl.className = "bk-status bk-bad";
      }
      renderGutter();
    }).catch(function (e) {
      if (mine !== seq) return;
      state.error = e.message;
      statusEl.textContent = "Could not check: " + e.message;
      statusEl.className = "bk-status bk-bad";
    });
  }

  // -- prompts -------------------------------------------------------------------------------

  function setLocales(locales) {
    if (locales.join() === state.locales.join()) return;
    var keep = localeSel.value;
    localeSel.textContent = "";
    locales.forEach(function (lc) { localeSel.appendChild(el("option", { value: lc }, lc)); });
    if (locales.indexOf(keep) >= 0) localeSel.value = keep;
    state.locales = locales.slice();
  }

  function currentSteps() {
    return state.steps ? state.steps[localeSel.value] || [] : [];
  }

  /** "Voice: <normalised text>" when the voice says something other than the subtitle. */
  function voiced(p) {
    return p.spoken && p.spoken !== p.text ? "Voice: " + p.spoken : "";
  }

  function renderSteps() {
    stepsEl.textContent = "";
    currentSteps().forEach(function (s) {
      var li = el("li", { "data-step": s.id });
      var b = el("button", { type: "button", class: "rv-btn bk-play",
                             "data-testid": "play-" + s.id, title: "Play this step's prompt" }, "▶");
      b.addEventListener("click", function () { playStep(s.id, 0); });
      li.appendChild(b);
      li.appendChild(document.createTextNode(" " + s.label));
      li.appendChild(el("span", { class: "bk-kind" }, s.kind));
      li.appendChild(el("span", { class: "bk-dur", "data-testid": "dur-" + s.id }));
      li.appendChild(el("div", { class: "bk-spoken", "data-testid": "spoken-" + s.id }));
      stepsEl.appendChild(li);
    });
  }

  var avatar = null;
  function guide() {
    if (!avatar && $("bk-avatar")) {
      avatar = Avatar.create($("bk-avatar"), { label: "guide" });
    }
    return avatar;
  }

  /** Render and play one step's prompt; resolves with the prompt info after playback. */
  function playStep(stepId, attempt) {
    if (!state.valid) return Promise.reject(new Error("the script has problems"));
    var lis = stepsEl.querySelectorAll("li");
    for (var i = 0; i < lis.length; i++) {
      lis[i].classList.toggle("bk-playing", lis[i].getAttribute("data-step") === stepId);
    }
    return post(cfg.urls.prompt, body({ step: stepId, locale: localeSel.value, attempt: attempt || 0 }))
      .then(function (p) {
        var dur = stepsEl.querySelector('[data-testid="dur-' + stepId + '"]');
        if (dur && !attempt) dur.textContent = " " + p.duration.toFixed(1) + " s";
        // What the voice says, when it differs from the written subtitle (numbers, dates,
        // digit strings, acronyms normalised: kiosk.guide.normalise).
        var said = stepsEl.querySelector('[data-testid="spoken-' + stepId + '"]');
        if (said && !attempt) said.textContent = voiced(p);
        if (!p.url) return p;
        state.playing = p.sha256;
        return fetch(p.visemes_url, { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : { visemes: [] }; })
          .catch(function () { return { visemes: [] }; })
          .then(function (vis) { return play(p, vis.visemes || []); });
      });
  }

  function play(p, visemes) {
    return new Promise(function (resolve) {
      var done = false;
      var finish = function () {
        if (done) return;
        done = true;
        clearTimeout(guard);
        audio.onended = null;
        if (avatar) avatar.silence();
        state.played.push(p.sha256);
        state.playing = null;
        resolve(p);
      };
      // If the audio cannot play (no output device, autoplay refused) the run still goes on.
      var guard = setTimeout(finish, (p.duration + 1.5) * 1000);
      audio.onended = finish;
      audio.src = p.url;
      var started = audio.play();
      var g = guide();
      if (g) g.speak(audio, visemes);
      if (started && started.catch) started.catch(function () { if (g) g.speakSilently(); });
    });
  }

  // -- dry run -------------------------------------------------------------------------------

  var OUTCOMES = {
    question: function (s) {
      var ok = s.expect === "phrases" ? "Says an accepted phrase" :
        (s.expect === "deny" ? "Answers no" : "Answers yes");
      return [[ok, true], ["Other answer", false], ["Silence", false]];
    },
    read_aloud: function () { return [["Reads it correctly", true], ["Reads something else", false]]; },
    challenge: function () { return [["All challenges passed", true], ["A challenge failed", false]]; },
    show_id: function () { return [["ID shown and readable", true], ["No ID shown", false]]; }
  };

  function dryLog(msg, cls) {
    var li = el("li", cls ? { class: cls } : {}, msg);
    $("bk-dry-log").appendChild(li);
    state.dry.log.push(msg);
  }

  function startDry() {
    if (!state.valid) {
      statusEl.textContent = "Fix the problems before a dry run";
      return;
    }
    $("bk-dry-log").textContent = "";
    state.dry = { steps: currentSteps().slice(), index: 0, attempt: 0, flags: [], log: [],
                  ended: null, waiting: null, locale: localeSel.value };
    runDryStep();
  }

  function runDryStep() {
    var d = state.dry;
    var s = d.steps[d.index];
    var buttons = $("bk-dry-buttons");
    buttons.textContent = "";
    d.waiting = null;
    $("bk-dry-step").textContent = "Step " + (d.index + 1) + "/" + d.steps.length + ": " +
      s.label + " (" + s.kind + (d.attempt ? ", attempt " + (d.attempt + 1) : "") + ")";
    $("bk-dry-text").textContent = "…";
    $("bk-dry-spoken").textContent = "";
    playStep(s.id, d.attempt).then(function (p) {
      if (state.dry !== d) return; // restarted meanwhile
      var extra = p.read_text ? " — to read: " + p.read_text :
        (p.challenges ? " — drawn: " + p.challenges.join(", ") : "");
      $("bk-dry-text").textContent = (p.text || "(silent)") + extra;
      $("bk-dry-spoken").textContent = voiced(p);
      if (s.kind === "say") return outcome(s, true, "spoken");
      if (s.kind === "wait") {
        d.waiting = "wait";
        var skip = el("button", { type: "button", class: "rv-btn", "data-testid": "sim-skip" },
                      "Skip the " + s.seconds + " s pause");
        var t = setTimeout(function () { outcome(s, true, "paused " + s.seconds + " s"); },
                           s.seconds * 1000);
        skip.addEventListener("click", function () { clearTimeout(t); outcome(s, true, "pause skipped"); });
        buttons.appendChild(skip);
        return;
      }
      d.waiting = s.kind;
      OUTCOMES[s.kind](s).forEach(function (o, i) {
        var b = el("button", { type: "button", class: "rv-btn" + (o[1] ? " rv-primary" : ""),
                               "data-testid": o[1] ? "sim-pass" : "sim-fail-" + i }, o[0]);
        b.addEventListener("click", function () { outcome(s, o[1], o[0]); });
        buttons.appendChild(b);
      });
    }).catch(function (e) {
      dryLog(s.id + ": could not play the prompt (" + e.message + ")", "bk-fail");
      d.ended = "error";
    });
  }

  function outcome(s, ok, what) {
    var d = state.dry;
    $("bk-dry-buttons").textContent = "";
    d.waiting = null;
    if (ok) {
      dryLog(s.id + ": pass (" + what + ")", "bk-pass");
      return next();
    }
    // The live kiosk's rule (kiosk/session.py): retries, then on_fail.
    var allowed = Math.max(s.retries || 0, s.on_fail === "retry" ? 1 : 0);
    if (d.attempt < allowed) {
      dryLog(s.id + ": fail (" + what + "), retry " + (d.attempt + 1) + " of " + allowed, "bk-fail");
      d.attempt++;
      return runDryStep();
    }
    if (s.on_fail === "abort") {
      dryLog(s.id + ": fail (" + what + "), on_fail abort", "bk-fail");
      return end("aborted at " + s.id);
    }
    var flag = (s.on_fail === "refer" ? "refer:" : "flag:") + s.id;
    d.flags.push(flag);
    dryLog(s.id + ": fail (" + what + "), " + flag, "bk-fail");
    return next();
  }

  function next() {
    var d = state.dry;
    d.index++;
    d.attempt = 0;
    if (d.index >= d.steps.length) {
      return end(d.flags.length ? "finished with flags " + d.flags.join(", ") : "finished, no flags");
    }
    runDryStep();
  }

  function end(how) {
    state.dry.ended = how;
    $("bk-dry-step").textContent = "Dry run " + how;
    $("bk-dry-text").textContent = "";
    $("bk-dry-buttons").textContent = "";
    dryLog("end: " + how);
  }

  // -- publish -------------------------------------------------------------------------------

  var pending = null; // {base_hash} from the diff the broker saw

  function showDiff(diffText) {
    var pre = $("bk-diff");
    pre.textContent = "";
    if (!diffText) {
      pre.textContent = "(no change)";
      return;
    }
    diffText.split("\n").forEach(function (line) {
      var cls = /^\+\+\+|^---/.test(line) ? "" : line[0] === "+" ? "bk-add" :
        line[0] === "-" ? "bk-del" : line.slice(0, 2) === "@@" ? "bk-hunk" : "";
      var span = el("span", cls ? { class: cls } : {}, line);
      pre.appendChild(span);
      if (!cls) pre.appendChild(document.createTextNode("\n"));
    });
  }

  function reviewPublish() {
    $("bk-publish-result").textContent = "";
    post(cfg.urls.diff, body()).then(function (res) {
      pending = { base_hash: res.base_hash };
      var base = res.published ? "the published version " + res.published.version +
        " (" + res.published.published_by + ")" : "nothing (first publication)";
      $("bk-publish-info").textContent = res.valid
        ? "Publishing version " + res.version + ". Changes compared with " + base + ":"
        : "The script has " + res.problems.length + " problem(s); fix them first. Diff against " + base + ":";
      $("bk-publish-go").disabled = !res.valid || !res.diff;
      $("bk-publish-go").textContent = res.valid ? "Publish version " + res.version : "Publish";
      showDiff(res.diff);
      $("bk-publish").hidden = false;
    }).catch(function (e) { statusEl.textContent = "Could not build the diff: " + e.message; });
  }

  function doPublish() {
    if (!pending) return;
    $("bk-publish-go").disabled = true;
    post(cfg.urls.publish, body({ base_hash: pending.base_hash })).then(function (res) {
      var v = res.version;
      state.published = v;
      $("bk-publish-result").textContent = (res.created ? "Published " : "Already published as ") +
        v.flow_id + "@" + v.version + " · sha256 " + v.content_hash.slice(0, 16) + "… by " +
        v.published_by + " at " + v.published_at;
      $("bk-publish-result").className = "rv-msg rv-msg-ok";
      pending = null;
    }).catch(function (e) {
      $("bk-publish-result").textContent = "Not published: " + e.message;
      $("bk-publish-result").className = "rv-msg rv-msg-error";
      state.error = e.message;
    });
  }

  function saveDraft() {
    post(cfg.urls.draft, body()).then(function (res) {
      statusEl.textContent = "Draft saved at " + res.draft.saved_at;
    }).catch(function (e) { statusEl.textContent = "Draft not saved: " + e.message; });
  }

  // -- wiring --------------------------------------------------------------------------------

  text.addEventListener("input", function () {
    if (text.value.split("\n").length !== lineCount) renderGutter();
    scheduleCheck();
  });
  text.addEventListener("scroll", syncScroll);
  text.addEventListener("keydown", function (e) {
    if (e.key === "Tab" && !e.shiftKey) { // two spaces: YAML forbids tab indentation
      e.preventDefault();
      var s = text.selectionStart;
      text.setRangeText("  ", s, text.selectionEnd, "end");
      text.dispatchEvent(new Event("input"));
    }
  });
  gutter.addEventListener("click", function (e) {
    var line = e.target.getAttribute && e.target.getAttribute("data-line");
    if (line && errLines[line]) goTo(Number(line), 1);
  });
  localeSel.addEventListener("change", renderSteps);
  $("bk-dry-start").addEventListener("click", startDry);
  $("bk-review").addEventListener("click", reviewPublish);
  $("bk-publish-go").addEventListener("click", doPublish);
  $("bk-publish-cancel").addEventListener("click", function () { $("bk-publish").hidden = true; });
  $("bk-save").addEventListener("click", saveDraft);

  renderGutter();
  check();
}

main();
