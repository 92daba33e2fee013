/* Broker page: flow editor with live validation, prompt playback, dry run and publish; the
 * editor page's entry module (<script type="module">).
 *
 * One concept per module in static/broker/:
 *   page.js     settings, elements, window.broker     api.js      JSON POSTs with CSRF
 *   editor.js   the textarea, its gutter and marks     check.js    live validation
 *   prompts.js  steps, prompt playback, the guide's face (avatar.js)
 *   dryrun.js   the simulated witness                  publish.js  draft, diff and publish
 * No module runs code at load beyond declaring constants: everything starts from start().
 * Test hook: window.broker = {checks, problems, warnings, valid, steps, locales, version,
 * playing, played, dry, published, error}.
 */

import { $, load } from "./broker/page.js";
import { bindEditor, renderGutter } from "./broker/editor.js";
import { check, scheduleCheck } from "./broker/check.js";
import { renderSteps } from "./broker/prompts.js";
import { startDry } from "./broker/dryrun.js";
import { doPublish, reviewPublish, saveDraft } from "./broker/publish.js";

function start() {
  if (!load()) return; // not the editor page
  bindEditor(scheduleCheck);
  $("bk-locale").addEventListener("change", renderSteps);
  $("bk-dry-start").addEventListener("click", startDry);
  $("bk-review").addEventListener("click", reviewPublish);
  $("bk-publish-go").addEventListener("click", doPublish);
  $("bk-publish-cancel").addEventListener("click", function () { $("bk-publish").hidden = true; });
  $("bk-save").addEventListener("click", saveDraft);
  renderGutter();
  check();
}

start();
