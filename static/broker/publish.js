/* Drafts and publication: save a draft (POST urls.draft); review the diff against the
 * published version (POST urls.diff), then publish exactly that base (POST urls.publish with
 * its base_hash, so a version published meanwhile is not overwritten unseen). */

import { $, el, page, state, status } from "./page.js";
import { body, post } from "./api.js";

let pending = null; // {base_hash} from the diff the broker saw

function showDiff(diffText) {
  const pre = $("bk-diff");
  pre.textContent = "";
  if (!diffText) {
    pre.textContent = "(no change)";
    return;
  }
  diffText.split("\n").forEach(function (line) {
    const cls = /^\+\+\+|^---/.test(line) ? "" : line[0] === "+" ? "bk-add" :
      line[0] === "-" ? "bk-del" : line.slice(0, 2) === "@@" ? "bk-hunk" : "";
    const span = el("span", cls ? { class: cls } : {}, line);
    pre.appendChild(span);
    if (!cls) pre.appendChild(document.createTextNode("\n"));
  });
}

/** Open the publish dialog with the diff to the published version. */
export function reviewPublish() {
  $("bk-publish-result").textContent = "";
  post(page.cfg.urls.diff, body()).then(function (res) {
    pending = { base_hash: res.base_hash };
    const base = res.published ? "the published version " + res.published.version +
      " (" + res.published.published_by + ")" : "nothing (first publication)";
    $("bk-publish-info").textContent = res.valid
      ? "Publishing version " + res.version + ". Changes compared with " + base + ":"
      : "The script has " + res.problems.length + " problem(s); fix them first. Diff against " + base + ":";
    $("bk-publish-go").disabled = !res.valid || !res.diff;
    $("bk-publish-go").textContent = res.valid ? "Publish version " + res.version : "Publish";
    showDiff(res.diff);
    $("bk-publish").hidden = false;
  }).catch(function (e) { status("Could not build the diff: " + e.message); });
}

/** Publish against the base the broker saw in the dialog. */
export function doPublish() {
  if (!pending) return;
  const result = $("bk-publish-result");
  $("bk-publish-go").disabled = true;
  post(page.cfg.urls.publish, body({ base_hash: pending.base_hash })).then(function (res) {
    const v = res.version;
    state.published = v;
    result.textContent = (res.created ? "Published " : "Already published as ") +
      v.flow_id + "@" + v.version + " · sha256 " + v.content_hash.slice(0, 16) + "… by " +
      v.published_by + " at " + v.published_at;
    result.className = "rv-msg rv-msg-ok";
    pending = null;
  }).catch(function (e) {
    result.textContent = "Not published: " + e.message;
    result.className = "rv-msg rv-msg-error";
    state.error = e.message;
  });
}

export function saveDraft() {
  post(page.cfg.urls.draft, body()).then(function (res) {
    status("Draft saved at " + res.draft.saved_at);
  }).catch(function (e) { status("Draft not saved: " + e.message); });
}
