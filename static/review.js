/* Review console replay, the case page's entry module (<script type="module">): timeline
 * markers that seek, subtitles of the guide's prompts and the recognised answers, the guide
 * audio played in step with the video, speeds, skip-to-next-flag, liveness signal curves, and a
 * lock heartbeat while the reviewer is active.
 *
 * One concept per module in static/review/:
 *   page.js      the case's data and elements, window.review, duration and mm:ss
 *   timeline.js  markers, seeking, next flag, subtitles and playhead
 *   audio.js     the guide's prompt audio in step with the video
 *   signals.js   the liveness curves          player.js  controls, keys, autoplay
 *   lock.js      the lock heartbeat
 * No module runs code at load beyond declaring constants: everything starts from start().
 * Test hook: window.review = {phase, firstPlayMs, seeks, lastSeek, audio, audioStarted}.
 */

import { load } from "./review/page.js";
import { bindTimeline, drawMarkers, tick } from "./review/timeline.js";
import { autoplay, bindPlayer } from "./review/player.js";
import { startHeartbeat } from "./review/lock.js";

function start() {
  if (!load()) return;
  bindTimeline();
  bindPlayer();
  startHeartbeat();
  drawMarkers();
  tick();
  autoplay();
}

start();
