/* The editor page's settings, elements and test hook, shared by every broker module.
 *
 * load() reads the server's JSON (<script type="application/json" id="bk-data">: {flow_id,
 * debounce_ms, urls: {check, prompt, diff, publish, draft}}) and the CSRF token; state is the
 * test hook window.broker.
 */

// Test hook: checks (answers received), problems and warnings (the last check's, each
// {line, col, message}), valid, steps ({locale: [step]}), locales, version, playing (the sha256
// of the prompt playing, or null), played (sha256 of each prompt played), dry (the dry run:
// {steps, index, attempt, flags, log, ended, waiting, locale}), published (the version record),
// error (the last error's message).
export const state = {
  checks: 0, problems: [], warnings: [], valid: false, steps: null, locales: [], version: null,
  playing: null, played: [], dry: null, published: null, error: null
};

export const page = { cfg: null, csrf: "" };

export const $ = function (id) { return document.getElementById(id); };

/** Read the page's settings; false on a page without an editor (nothing to run). */
export function load() {
  const dataEl = $("bk-data");
  if (!dataEl) return false;
  page.cfg = JSON.parse(dataEl.textContent);
  page.csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  window.broker = state;
  return true;
}

/** A new element with attributes and, if given, text (never parsed as HTML). */
export function el(tag, attrs, textContent) {
  const n = document.createElement(tag);
  Object.keys(attrs || {}).forEach(function (k) { n.setAttribute(k, attrs[k]); });
  if (textContent !== undefined) n.textContent = textContent;
  return n;
}

/** The status line under the editor: text and its class (bk-ok, bk-bad or none). */
export function status(text, cls) {
  const s = $("bk-status");
  s.textContent = text;
  if (cls !== undefined) s.className = "bk-status" + (cls ? " " + cls : "");
}
