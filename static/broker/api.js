/* The broker endpoints: JSON POSTs with the CSRF token, and the body every one of them takes. */

import { $, page } from "./page.js";

/** POST body as JSON to url; resolves with the JSON answer, rejects with an Error whose
 * message is the server's (or "HTTP <status>"), with .status and .body. */
export function post(url, body) {
  return fetch(url, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": page.csrf },
    body: JSON.stringify(body)
  }).then(function (r) {
    return r.json().catch(function () { return {}; }).then(function (j) {
      if (!r.ok) {
        const err = new Error(j.message || ("HTTP " + r.status));
        err.status = r.status; err.body = j;
        throw err;
      }
      return j;
    });
  });
}

/** {flow_id, text: the editor's text} plus extra's keys. */
export function body(extra) {
  const b = { flow_id: page.cfg.flow_id, text: $("bk-text").value };
  Object.keys(extra || {}).forEach(function (k) { b[k] = extra[k]; });
  return b;
}
