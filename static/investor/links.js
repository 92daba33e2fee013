/* The investor's plain link, for the page's own retries (no DOM here: tests run it in node).
 */

// The plain link /w/<token> of this page, on the same root: without the node prefix
// /n/<node> that `base` may end with (kiosk.cluster.routing), so the retry is routed again
// and reaches a live node even when this page's node has died; without the balancer's
// `unreachable` hint (kept, a recovered node would stay avoided), with every other query
// parameter (lang, ...). `search`: window.location.search.
export function plainLink(base, token, search) {
  const query = new URLSearchParams(search || "");
  query.delete("unreachable");
  const rest = query.toString();
  const root = (base || "").replace(/\/n\/[^/]+$/, "");
  return root + "/w/" + encodeURIComponent(token) + (rest ? "?" + rest : "");
}
