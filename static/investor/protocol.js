/* The words the page shares with the server (kiosk/protocol.py): codes it may receive and
 * what it makes of them. Nothing here does anything; tests/test_protocol.py and
 * tests/test_page_static.py read these lists against the server's.
 */

// The codes of error {code} (kiosk.protocol.ErrorCode), in the protocol's groups (LINK_ERRORS,
// BUSY_ERRORS, SOFT_ERRORS there; tests/test_protocol.py keeps them equal).
// Error codes that mean the link itself cannot be used (again).
export const LINK_ERRORS = ["link_invalid", "link_expired", "link_used"];
// Server error codes that mean "no place for a witness now" (kiosk.witness.admission): the
// link is still unused, and the page tries again by itself after retry_after_s.
export const BUSY_ERRORS = ["witness_busy", "node_draining"];
// Server error codes that reject one message but leave the session running.
export const SOFT_ERRORS = ["bad_message", "out_of_order"];
// A witness referred to a human agent ends aborted {reason: "referred:<step id>"}
// (kiosk.protocol.REFERRED): a member of staff continues it, so the page asks for no new link.
export const REFERRED = "referred";
// The reasons of aborted {reason} the page has words for (kiosk.session.ABORT_REASONS, and the
// kinds before the colon of "step_failed:<step id>" and "referred:<step id>").
export const ABORT_REASONS = ["cancelled", "connection_lost", "server_shutdown", "timeout", "media_failed",
                       "declined", "step_failed", "referred", "media_error", "internal_error",
                       "client_abuse", "storage_full"];
// Server reasons that mean the same to the investor as one above.
export const ABORT_ALIASES = { disconnected: "connection_lost" };
// Framing hints the server may send as hint {code}; anything else is ignored.
export const HINT_CODES = ["closer", "further", "more_light", "face_in_frame", "one_person", "turn_more",
                           "card_corners", "card_closer", "card_still", "card_glare", "card_turn"];
// ID card sides the server may announce with card_side {side}; anything else is ignored.
export const CARD_SIDES = ["front", "back"];
// Liveness actions the server may announce with challenge {name}; anything else is ignored.
export const CHALLENGES = ["blink", "turn_left", "turn_right", "nod", "open_mouth"];
