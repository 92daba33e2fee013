"""Socket.IO events from the investor's page: validate, then turn them into session events.

Every event first passes the socket's rate limits (``kiosk.web.connections.EventLimiter``):
one over its rate is dropped unanswered; a socket that keeps sending too fast is disconnected,
and its witness, if any, records ``client_flood`` and ends as ``aborted: client_abuse``. A
message over ``max_socket_message_bytes`` never reaches a handler: it is cut off while it
arrives and its connection closed (``kiosk.web.socket_size``); its witness records
``client_message_refused`` (``message_too_large``) and ends as ``aborted: client_abuse`` too.
What a handler writes to the timeline is bounded too: heartbeats are never written, and
repeated page reports are counted instead of written (``kiosk.timeline.PAGE_REPORTED``).

Once a socket has a witness, everything its page is told goes through that witness's runner
(``WitnessRunner``: ``joined``, ``answer``, each refusal as ``error``), which sends it through
its ``PageChannel`` (``SocketPage``). Before that (a join refused: bad link, no place, or an
event before joining) there is no runner, and ``_refuse`` answers the socket itself.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from flask import request

from kiosk import session as sm
from kiosk.atomic_files import is_disk_full
from kiosk.errors import FlowError, LinkError, OutOfOrder, SignallingError
from kiosk.flows.versions import session_flow
from kiosk.logs import session_context
from kiosk.media.candidates import CandidatePolicy, filter_candidates
from kiosk.media.peer import LoopPeer, validate_offer
from kiosk.media.turn import ice_servers_for
from kiosk.protocol import (
    ClientErrorMessage,
    ErrorCode,
    JoinMessage,
    OfferMessage,
    PageEvent,
    PrefsMessage,
    PromptBlocked,
    PromptReport,
    ServerEvent,
    parse_message,
)
from kiosk.services import KioskServices
from kiosk.web.connections import ConnectionGate, EventLimiter
from kiosk.web.guard import SocketMessageRefused
from kiosk.web.socket_size import TooLarge, measure_messages
from kiosk.witness.runner import WitnessRunner

log = logging.getLogger(__name__)


def _refuse(code: ErrorCode, message: str, **extra) -> None:
    """Answer the socket of the event being handled with ``error {code, message, **extra}``:
    only while it has no witness (with one, its runner refuses: ``_bad``)."""
    from flask_socketio import emit

    emit(ServerEvent.ERROR, {"code": code, "message": message, **extra})


def _bad(runner: WitnessRunner | None, code: ErrorCode, message: str) -> None:
    """Refuse one message: through the socket's runner when it has one, else directly."""
    if runner is not None:
        runner.refuse(code, message)
    else:
        _refuse(code, message)


def _sid() -> str:
    """The Socket.IO session id of the event being handled."""
    return request.sid  # type: ignore[attr-defined]  # set by flask-socketio, unknown to Flask


class SocketPage:
    """The investor's page as a ``kiosk.witness.ports.PageChannel``: one Socket.IO client."""

    def __init__(self, socketio, sid: str) -> None:
        self.socketio = socketio
        self.sid = sid

    def emit(self, event: ServerEvent, data: dict) -> None:
        self.socketio.emit(str(event), data, to=self.sid)


def _guard_engineio(server, gate: ConnectionGate,
                    malformed: Callable[[str, str], None]) -> None:
    """Put ``gate`` in front of python-socketio's Engine.IO handlers (connect, message,
    disconnect), so every Engine.IO session is counted, capped and timed out, whether or not
    it ever sends a Socket.IO ``connect``, and a packet Socket.IO cannot decode is a counted
    refusal (``malformed(eio_sid, why)``: one short line, counted by ``gate``) instead of
    engine.io's traceback.

    Both the Engine.IO server's handlers and the server's own attributes are replaced:
    Flask-SocketIO's test client calls the latter directly."""
    on_connect = server._handle_eio_connect
    on_message = server._handle_eio_message
    on_disconnect = server._handle_eio_disconnect

    def eio_connect(eio_sid, environ):
        refusal = gate.admit(eio_sid, environ.get("REMOTE_ADDR") or "-")
        if refusal is not None and not gate.held(eio_sid):
            return False  # Engine.IO answers 401: too many refused ones are held already
        return on_connect(eio_sid, environ)

    def eio_message(eio_sid, data):
        try:
            return on_message(eio_sid, data)
        except SocketMessageRefused as exc:
            malformed(eio_sid, str(exc))
        except Exception as exc:  # python-socketio's decoder: ValueError, KeyError, ...
            log.debug("undecodable socket packet", exc_info=True)
            malformed(eio_sid, f"not a Socket.IO packet ({type(exc).__name__})")
        return None

    def eio_disconnect(eio_sid, reason=None):
        try:
            return on_disconnect(eio_sid, reason)
        finally:
            gate.gone(eio_sid)

    server._handle_eio_connect = eio_connect
    server._handle_eio_message = eio_message
    server._handle_eio_disconnect = eio_disconnect
    server.eio.on("connect", eio_connect)
    server.eio.on("message", eio_message)
    server.eio.on("disconnect", eio_disconnect)


def register(socketio, services: KioskServices) -> None:
    settings = services.settings
    candidate_policy = CandidatePolicy.from_settings(settings)
    server = socketio.server

    def close_connection(eio_sid: str) -> None:
        """Close an Engine.IO session, its Socket.IO socket first (if it has one).

        Without waiting for the client: ``eio.disconnect`` waits until the CLOSE packet is
        taken, which a polling client that never polls again never does (the gate's sweeper
        hung there)."""
        sid = server.manager.sid_from_eio_sid(eio_sid, "/")
        if sid is not None:
            server.disconnect(sid, namespace="/")
        sock = server.eio.sockets.get(eio_sid)
        if sock is not None:
            sock.close(wait=False, reason=server.eio.reason.SERVER_DISCONNECT)
            server.eio.sockets.pop(eio_sid, None)

    gate = ConnectionGate(
        max_total=settings.socket_max_connections,
        max_per_address=settings.socket_max_per_address,
        join_seconds=settings.socket_join_seconds,
        disconnect=close_connection,
    )
    size_limit = settings.max_socket_message_bytes

    def malformed(eio_sid: str, why: str) -> None:
        """A packet or polling payload that cannot be decoded (``why``: never its text):
        counted in one short line under its session; the connection is closed at
        ``ConnectionGate.MALFORMED_LIMIT``, its witness, if any, first recording
        ``client_message_refused`` (``malformed``) and ending as ``aborted: client_abuse``."""
        sid = server.manager.sid_from_eio_sid(eio_sid, "/")
        c = services.by_sid(sid) if sid is not None else None
        with session_context(c.id if c is not None else None):
            gate.malformed(eio_sid, why,
                           closing=c.message_malformed if c is not None else None)

    _guard_engineio(server, gate, malformed)

    def too_large(eio_sid: str, message: TooLarge) -> None:
        """A message over the size cap, cut off (its connection is being closed): counted
        and said in one line (its event and size, never its text); its witness, if any,
        records ``client_message_refused`` and ends as ``aborted: client_abuse``."""
        sid = server.manager.sid_from_eio_sid(eio_sid, "/")
        c = services.by_sid(sid) if sid is not None else None
        with session_context(c.id if c is not None else None):
            gate.too_large(eio_sid, message.describe(size_limit))
            if c is not None:
                c.message_too_large(message.event, message.bytes, size_limit,
                                    complete=message.complete)

    measure_messages(server.eio, size_limit, too_large, malformed)

    def _eio() -> str:
        """The Engine.IO sid under the Socket.IO socket of the event being handled."""
        return server.manager.eio_sid_from_sid(_sid(), "/") or ""
    limiter = EventLimiter(
        {name: (limit.per_second, limit.burst)
         for name, limit in settings.socket_event_limits.items()},
        tolerance=settings.socket_flood_refusals,
    )

    def flooded(event: str) -> None:
        """The socket sent too much too fast: record it, end its witness, disconnect it."""
        sid = _sid()
        counts = limiter.counts(sid)
        c = services.by_sid(sid)
        if c is None:
            log.warning("socket flooded with events before joining; disconnected (refused: %s)",
                        counts["refused"])
        else:
            with session_context(c.id):
                log.warning("socket flooded with events; disconnected (refused: %s)",
                            counts["refused"])
                # The limits that were exceeded, as [per_second, burst], beside the counts.
                limits = {name: list(limiter.limits[name]) for name in counts["refused"]}
                c.flooded(event, counts, limits)
        socketio.server.disconnect(sid, namespace="/")

    def on(event: PageEvent):
        """``socketio.on(event)``, for events within the socket's rate limits only."""
        def decorate(handler):
            @functools.wraps(handler)
            def limited(*args):
                verdict = limiter.admit(_sid(), event)
                if verdict == "ok":
                    return handler(*args)
                if verdict == "flood":
                    flooded(event)
                return None

            socketio.on(str(event))(limited)
            return handler
        return decorate

    @socketio.on("connect")
    def on_connect(_auth=None):
        from flask_socketio import ConnectionRefusedError

        refusal = gate.refusal(_eio())  # counted (or refused) when Engine.IO connected
        if refusal is not None:
            raise ConnectionRefusedError(refusal, {"code": ErrorCode.SERVER_BUSY})

    def current():
        c = services.by_sid(_sid())
        if c is None:
            _refuse(ErrorCode.OUT_OF_ORDER, "join the witness first")
        return c

    @on(PageEvent.JOIN)
    def on_join(data=None):
        sid = _sid()
        if not services.sessions.claim(sid):  # joined, or a join under way on this socket
            return _bad(services.by_sid(sid), ErrorCode.OUT_OF_ORDER, "already joined")
        eio = _eio()
        gate.join_started(eio)  # it came in time: not dropped while it is handled
        try:
            return _join(sid, eio, data)
        finally:
            gate.join_ended(eio)
            services.sessions.unclaim(sid)

    def _join(sid: str, eio: str, data):
        msg = parse_message(JoinMessage, data)
        token = msg.token if msg is not None else None
        try:
            services.store.by_token(token)  # a bad link is told so, not "busy"
        except LinkError as exc:
            log.info("join refused: %s", exc.code)
            return _refuse(ErrorCode(exc.code), str(exc))
        busy = services.admit()  # reserves a place; the link is used up only after it
        if busy is not None:
            return _refuse(ErrorCode(busy.code), busy.message(),
                           retry_after_s=busy.retry_after_s)
        try:
            services.store.check_free_space()  # StorageFull below min_free_mb
            row = services.store.consume(token, node_id=services.node_id)
        except LinkError as exc:
            services.sessions.release()
            log.info("join refused: %s", exc.code)
            return _refuse(ErrorCode(exc.code), str(exc))
        except Exception as exc:
            services.sessions.release()
            if not is_disk_full(exc):
                raise
            # An operating condition, not a fault: one WARNING, no traceback; the link was
            # not used (the consuming UPDATE did not commit), so a later try works.
            log.warning("join refused (storage_full): the data disk is full")
            return _refuse(ErrorCode.STORAGE_FULL, "the witness service cannot take witnesses "
                           "right now; your link is still valid: please try again later")
        try:
            flow = session_flow(services, row)
        except FlowError:
            services.sessions.release()
            log.exception("the session's flow %s cannot be loaded", row.flow_id)
            services.store.end(row.id, "failed", "flow_missing")
            return _refuse(ErrorCode.SERVER_ERROR,
                           "the witness script is not available; please contact your broker")
        try:
            runner = WitnessRunner(services, row, flow, sid, SocketPage(socketio, sid))
        except BaseException:
            services.sessions.release()
            raise
        services.register(runner, reserved=True)
        if services.cluster is not None:  # the router sends this session's traffic here
            services.cluster.pin_session(row.id, flow)
        gate.joined(eio)
        with session_context(row.id):
            log.info("investor joined")
            runner.start()
            if runner.state.terminal:  # its folder could not be written: told `aborted`
                return None
            runner.heartbeat()
        runner.send_joined()
        return None

    @on(PageEvent.OFFER)
    def on_offer(data=None):
        c = current()
        if c is None:
            return
        with session_context(c.id):
            try:
                c.check_offer()  # before parsing it; accept_offer decides under the lock
                offer = parse_message(OfferMessage, data)
                if offer is None:
                    raise SignallingError("send {sdp, type: 'offer'}")
                sdp = validate_offer(offer.sdp, settings.max_sdp_bytes)
                sdp, dropped = filter_candidates(sdp, candidate_policy)
                if dropped:
                    log.info("dropped remote candidates: %s", dict(dropped))
                peer = LoopPeer(services.media, executor=services.executor,
                                ice_servers=ice_servers_for(settings, services.node_id
                                                            .replace(":", "_")),
                                keyframe_interval=settings.keyframe_interval_seconds)
                c.accept_offer(peer, sdp, dict(dropped))  # the runner sends the answer
            except OutOfOrder as exc:
                return _bad(c, exc.code, str(exc))
            except SignallingError as exc:
                c.offer_refused(exc)
                log.info("offer refused (%s): %s", exc.code, exc)
                return _bad(c, exc.code, str(exc))
            except Exception:  # a timeout or a bug: end cleanly, never leak the peer
                log.exception("answering the offer failed")  # the details are for us only
                c.dispatch(sm.Failure("media_error"))
                return _bad(c, ErrorCode.SERVER_ERROR,
                            "the connection could not be set up on our side")
            return None

    @on(PageEvent.PROMPT_STARTED)
    def on_prompt_started(data=None):
        _prompt_report(PageEvent.PROMPT_STARTED, data)

    @on(PageEvent.PROMPT_ENDED)
    def on_prompt_ended(data=None):
        _prompt_report(PageEvent.PROMPT_ENDED, data)

    @on(PageEvent.PROMPT_BLOCKED)
    def on_prompt_blocked(data=None):
        _prompt_report(PageEvent.PROMPT_BLOCKED, data)

    def _prompt_report(event: PageEvent, data):
        c = current()
        if c is None:
            return
        blocked = event == PageEvent.PROMPT_BLOCKED
        msg = parse_message(PromptBlocked if blocked else PromptReport, data)
        if msg is None:
            return _bad(c, ErrorCode.BAD_MESSAGE, "seq must be a non-negative integer")
        extra = {"reason": msg.reason} if isinstance(msg, PromptBlocked) else None
        c.prompt_report(event, msg.seq, extra)

    @on(PageEvent.PROMPT_REPLAYED)
    def on_prompt_replayed(data=None):
        """The investor asked to hear the prompt again (the guide's voice may be in the answer)."""
        c = current()
        if c is None:
            return
        msg = parse_message(PromptReport, data)
        if msg is None:
            return _bad(c, ErrorCode.BAD_MESSAGE, "seq must be a non-negative integer")
        try:
            c.prompt_replayed(msg.seq)
        except OutOfOrder as exc:
            return _bad(c, exc.code, str(exc))

    @on(PageEvent.HEARTBEAT)
    def on_heartbeat(_data=None):
        c = services.by_sid(_sid())
        if c is not None:
            c.heartbeat()

    @on(PageEvent.CANCEL)
    def on_cancel(_data=None):
        c = current()
        if c is not None:
            c.dispatch(sm.Cancel())

    @on(PageEvent.PREFS)
    def on_prefs(data=None):
        c = current()
        msg = parse_message(PrefsMessage, data)
        if c is None or msg is None:
            return
        prefs = msg.changes()
        if prefs:
            c.set_prefs(prefs)

    @on(PageEvent.CLIENT_ERROR)
    def on_client_error(data=None):
        c = current()
        if c is None:
            return
        msg = parse_message(ClientErrorMessage, data)
        if msg is None:
            return _bad(c, ErrorCode.BAD_MESSAGE, "unknown client error code")
        c.client_error(msg.code)

    @socketio.on("*")
    def on_other(event, *_args):
        """An event without a handler: only counted (and limited, so it cannot flood)."""
        if limiter.admit(_sid(), event) == "flood":
            flooded("other")

    @socketio.on("disconnect")
    def on_disconnect(*_args):
        gate.left(_eio())  # its Engine.IO session is closed too
        limiter.forget(_sid())
        c = services.by_sid(_sid())
        if c is not None:
            with session_context(c.id):
                log.info("socket disconnected")
            c.dispatch(sm.Lost("disconnected"))

    @socketio.on_error_default
    def on_error(exc):
        log.exception("socket handler failed")
        _bad(services.by_sid(_sid()), ErrorCode.SERVER_ERROR, "something went wrong on our side")
