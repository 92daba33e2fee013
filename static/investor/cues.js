/* What the server tells the investor while the witness runs, beside the guide's words:
 * framing hints, the liveness action due now, and the answer window with its countdown.
 */

import { CARD_SIDES, CHALLENGES, HINT_CODES } from "./protocol.js";
import { $, body, clearTimer, kiosk, setTimer, state, t } from "./state.js";
import { avatar, renderStatus, setAvatar } from "./guide.js";

const HINT_SHOW_MS = 4000;           // a framing hint stays up this long unless repeated

export function onHint(data) {
  if (state.over) return;
  var code = data && data.code;
  // {code: null}: the server's checks are happy again.
  if (code === null) { clearTimer("hint"); clearHint(); return; }
  if (HINT_CODES.indexOf(code) < 0) return;
  // An ID card step asks for the card, not the face: a face hint then is stale (#16 t16d M-1).
  if (!isCardHint(code) && state.step && state.step.kind === "id_document") return;
  kiosk.hint = code;
  renderHint();
  setTimer("hint", clearHint, HINT_SHOW_MS);
}

/** The server announces each drawn action as it starts waiting for it: show which one is
 *  due now ("Action 1 of 2: Blink"), since the subtitle lists them all at once. */
export function onChallenge(data) {
  if (state.over || !data || CHALLENGES.indexOf(data.name) < 0) return;
  var index = Number(data.index), total = Number(data.total);
  if (!(index >= 0 && total > index)) return;
  showChallenge({ step: data.step, name: data.name, index: index, total: total, passed: null });
}

/** An action was seen: tick it. One whose time ran out just goes away: the next action,
 *  or the guide asking again, says what to do. */
export function onChallengeResult(data) {
  var current = kiosk.challenge;
  if (state.over || !data || !current || data.name !== current.name) return;
  if (data.passed === true) {
    current.passed = true;
    showChallenge(current);
  } else {
    showChallenge(null);
  }
}

/** An ID card step: the server says which side to hold up now ("Side 2 of 2: the emblem
 *  side"); the card-shaped frame is on the self-view for the whole step (showCardFrame). */
export function onCardSide(data) {
  if (state.over || !data || CARD_SIDES.indexOf(data.side) < 0) return;
  var index = Number(data.index), total = Number(data.total);
  if (!(index >= 0 && total > index)) return;
  showCardFrame(true);
  kiosk.challenge = null;
  var node = $("challenge");
  node.textContent = t("card.now", { current: index + 1, total: total,
                                     side: t("card.side." + data.side) });
  node.setAttribute("data-state", "card");
  node.setAttribute("data-side", data.side);
  node.hidden = false;
}

/** The card-shaped frame over the self-view (instead of the face oval), during an ID card
 *  step; a face hint still up from the step before is taken down with the oval. */
export function showCardFrame(on) {
  $("witness-frame").classList.toggle("is-card", !!on);
  if (on && kiosk.hint && !isCardHint(kiosk.hint)) { clearTimer("hint"); clearHint(); }
}

function isCardHint(code) {
  return String(code).indexOf("card_") === 0;
}

export function showChallenge(challenge) {
  kiosk.challenge = challenge;
  var node = $("challenge");
  if (!challenge) {
    node.hidden = true;
    node.textContent = "";
    node.setAttribute("data-state", "");
    node.setAttribute("data-side", "");
    return;
  }
  var action = t("challenge." + challenge.name);
  node.textContent = challenge.passed ? t("challenge.done", { action: action })
    : t("challenge.now", { current: challenge.index + 1, total: challenge.total, action: action });
  node.setAttribute("data-state", challenge.passed ? "passed" : "waiting");
  node.setAttribute("data-side", "");
  node.hidden = false;
}

function clearHint() {
  kiosk.hint = null;
  renderHint();
}

export function renderHint() {
  var code = kiosk.hint;
  var node = $("frame-hint");
  node.textContent = code ? t("hint." + code) : "";
  node.hidden = !code;
  node.setAttribute("data-code", code || "");
  $("witness-frame").classList.toggle("has-hint", !!code);
}

/** A window opens: an answer window shows "Please answer now" and its countdown; any other
 *  (an ID card step, liveness actions: kind "observe" or "wait") shows neither, since
 *  nothing is to be said: the card side or the action due says what to do. */
export function onWindowOpen(data) {
  if (state.over) return;
  var seconds = Math.max(0, Number(data && data.seconds) || 0);
  var answer = !data || data.kind === undefined || data.kind === "answer";
  state.windowOpen = true;
  state.windowAnswer = answer;
  state.windowDeadline = Date.now() + seconds * 1000;
  $("listening").hidden = !answer;
  body.classList.toggle("is-listening", answer);
  if (!(avatar && avatar.getState() === "speaking")) setAvatar("listening");
  renderCountdown();
  renderStatus();
  clearTimer("countdown");
  state.timers.countdown = setInterval(renderCountdown, 250);
}

export function closeWindow() {
  state.windowOpen = false;
  clearTimer("countdown");
  $("listening").hidden = true;
  body.classList.remove("is-listening");
  renderCountdown();
}

/** A window closes. After an ID card's window the card prompt and frame go: the card is read
 *  from the frames already seen (it takes seconds), so the investor may lower it now and is
 *  told so ("Reading the card…"), instead of being asked for the card until the result. */
export function onWindowClose() {
  if (state.over) return;
  closeWindow();
  var node = $("challenge");
  if (node.getAttribute("data-state") === "card") {
    showCardFrame(false);
    node.textContent = t("card.reading");
    node.setAttribute("data-state", "reading");
    node.setAttribute("data-side", "");
    node.hidden = false;
  }
  if (!(avatar && avatar.getState() === "speaking")) setAvatar("thinking");
  renderStatus();
}

export function renderCountdown() {
  if (!state.windowOpen || !state.windowAnswer) {
    $("listen-countdown").textContent = "";
    return;
  }
  var left = Math.max(0, Math.ceil((state.windowDeadline - Date.now()) / 1000));
  $("listen-countdown").textContent = t("witness.countdown", { seconds: left });
}
