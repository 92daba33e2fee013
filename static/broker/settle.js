/* The live kiosk's one retry rule (kiosk.session.settle) for the dry run: how a failed attempt
 * settles. No imports and no DOM: tests/test_broker_settle.py runs it under node against the
 * server's rule for every retries / on_fail / attempt / outcome. */

// What the live kiosk makes of a failed attempt of each kind: an answer not made out is a
// retry (kiosk.speech.decide), a challenge not seen is a flag (kiosk.liveness.observer), an ID
// shown is never judged automatically, and a card side not usable is not read (unverified: a
// human looks; kiosk.witness.live_card).
export const FAILED_OUTCOME = {
  question: "retry", read_aloud: "retry", challenge: "flag", show_id: "unverified",
  id_document: "unverified"
};

/** [recorded, applied] for `outcome` of `attempt` (0 for the first) of `step`
 *  ({retries, on_fail}), as kiosk.session.settle. */
export function settle(step, attempt, outcome) {
  const retries = step.retries || 0;
  let recorded = outcome;
  if (recorded === "retry" && attempt >= retries) recorded = "flag";  // a human decides
  let applied = recorded;
  if (applied === "flag" && step.on_fail === "retry" && attempt < Math.max(retries, 1)) {
    applied = "retry";
  }
  return [recorded, applied];
}

/** How many retries `outcome` gets on `step` (attempts after the first). */
export function retriesAllowed(step, outcome) {
  let attempt = 0;
  while (attempt < 10 && settle(step, attempt, outcome)[1] === "retry") attempt++;
  return attempt;
}
