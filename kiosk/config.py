"""Settings: environment variables (``KIOSK_*``) over an optional file over defaults.

Nothing here is global: ``load_settings()`` builds a ``Settings`` and callers pass it on.
"""

from __future__ import annotations

import json
import os
import re
import socket
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from kiosk.atomic_files import make_private_dir
from kiosk.errors import ConfigError
from kiosk.identity.authority import check_spec
from kiosk.locales import LOCALES
from kiosk.media.candidates import parse_networks
from kiosk.protocol import PageEvent
from kiosk.resources import SHIPPED_FLOWS_DIR


class IceServer(BaseModel):
    """One STUN or TURN server handed to both aiortc and the browser."""

    urls: list[str]
    username: str | None = None
    credential: str | None = None

    @field_validator("urls", mode="before")
    @classmethod
    def _one_or_many(cls, v):
        return [v] if isinstance(v, str) else v


class SocketEventLimit(BaseModel):
    """A token bucket for one Socket.IO event: ``burst`` at once, then ``per_second``."""

    model_config = {"extra": "forbid"}

    per_second: float = Field(gt=0)
    burst: int = Field(ge=1, le=10_000)


# What the investor's page sends, and how often it may (kiosk.web.connections.EventLimiter).
# The page sends a heartbeat every 2 s, a few prompt reports a step, one offer (a retry or
# two after a refusal), and prefs when the investor changes speed or language.
SOCKET_EVENT_LIMITS: dict[str, tuple[float, int]] = {
    PageEvent.JOIN: (0.1, 3),
    PageEvent.OFFER: (1 / 60, 3),
    PageEvent.HEARTBEAT: (1.0, 10),
    PageEvent.PROMPT_STARTED: (1.0, 10),
    PageEvent.PROMPT_ENDED: (1.0, 10),
    PageEvent.PROMPT_BLOCKED: (1.0, 10),
    PageEvent.PROMPT_REPLAYED: (0.5, 5),
    PageEvent.PREFS: (1.0, 10),
    PageEvent.CANCEL: (0.2, 3),
    PageEvent.CLIENT_ERROR: (0.2, 5),
    "other": (0.2, 5),  # any event name without a handler
}


# Schemes python-socketio's RedisManager and redis-py both accept for one server.
REDIS_SCHEMES = ("redis", "rediss")


def check_redis_url(url: str) -> str:
    """The URL unchanged if it names one Redis server (``redis://`` or ``rediss://`` with a
    host); ValueError naming the problem otherwise. Syntax only: nothing connects."""
    parts = urlsplit(url)
    if parts.scheme not in REDIS_SCHEMES:
        raise ValueError(f"redis_url must start with redis:// or rediss://, not {parts.scheme!r}")
    if not parts.hostname:
        raise ValueError("redis_url names no host (e.g. redis://10.0.0.5:6379/0)")
    return url


def _default_event_limits() -> dict[str, SocketEventLimit]:
    return {k: SocketEventLimit(per_second=r, burst=b) for k, (r, b) in SOCKET_EVENT_LIMITS.items()}


class Settings(BaseSettings):
    """Every setting of the service, with embedded defaults good for a local demo."""

    model_config = SettingsConfigDict(
        env_prefix="KIOSK_", env_nested_delimiter="__", extra="forbid"
    )

    host: str = "127.0.0.1"
    port: int = 5000
    # The address the investor's browser uses to reach us; links are built from it.
    public_url: str = ""
    # Reverse proxies in front of us whose X-Forwarded-For/-Proto/-Host/-Port are believed
    # (werkzeug ProxyFix); 0 trusts none. Set it to the number of proxies, never more.
    trusted_proxy_hops: int = Field(default=0, ge=0, le=5)
    # Relative to the directory the service starts in (./dev.sh serve: the checkout's media/).
    data_dir: Path = Field(default_factory=lambda: Path.cwd() / "media")
    database_url: str = ""  # default: sqlite file inside data_dir
    flows_dir: Path = SHIPPED_FLOWS_DIR  # the sample flows the package ships
    default_flow: str = "securities_account_opening"
    # Flask session secret. Empty: generated once, into data_dir (one node) or into the
    # database (shared_state), so every node of an installation has the same one.
    secret_key: str = ""
    # With shared_state the evidence signing keys live in the database (kiosk.evidence.keys_db);
    # the current private key is encrypted with this, when set (the same on every node).
    evidence_key_passphrase: str = ""
    # back-office keys for POST /api/sessions
    api_keys: Annotated[list[str], NoDecode] = Field(default_factory=list)
    demo: bool = False  # the /demo page creates sessions for a sample applicant

    # Several nodes (docs/operations.md, *Several nodes with Redis*): unset, everything
    # below stays in this process. Set, Redis carries the Socket.IO message queue, the node
    # registry, session pins and the login throttle; a node that cannot reach it won't start.
    redis_url: str = ""  # redis://[:password@]host:port/db or rediss://...
    redis_prefix: str = Field(default="kiosk:", min_length=1, max_length=64)  # key namespace
    redis_timeout_seconds: float = Field(default=2.0, gt=0, le=60)  # connect and each command
    node_id: str = Field(default="", max_length=128)  # default: <hostname>:<port>
    # "path": several nodes behind one balancer (kiosk.cluster.routing). An investor link
    # that reaches any node is sent to /n/<node>/w/<token> of the node chosen for the
    # witness, and the balancer routes /n/<node>/ there (docs/operations.md, *Routing*).
    # "off": no prefix, as on one node. "path" needs redis_url (the registry and the pins).
    node_routing: Literal["off", "path"] = "off"
    # Live witnesses this node process carries (kiosk.witness.admission): beyond it an
    # investor is told the service is busy, with an estimated wait, and the link stays
    # unused. 0: witnesses_per_core times the machine's cores. Measure it with
    # `kiosk loadtest` (docs/operations.md, *Capacity*).
    node_capacity: int = Field(default=0, ge=0)
    witnesses_per_core: float = Field(default=3.0, gt=0, le=64)
    witness_expected_seconds: float = Field(default=180.0, gt=0)  # for the wait estimate
    node_heartbeat_seconds: float = Field(default=3.0, gt=0)
    node_ttl_seconds: float = Field(default=10.0, gt=0)  # a silent node drops out after this
    # How often a running node looks for live sessions of nodes whose lease expired and ends
    # them as aborted: node_lost (kiosk.recovery.watch_lost_nodes); 0: only at start-up.
    lost_node_check_seconds: float = Field(default=10.0, ge=0)
    # A lost node's session whose files are on that node's own disk is sealed by a surviving
    # node from what the shared database holds, marked incomplete, this long after it ended
    # node_lost (kiosk.recovery.seal_lost_from_shared_state): a node back sooner seals its
    # full copy itself; one back later seals its copy as a supplement.
    lost_node_seal_after_seconds: float = Field(default=300.0, ge=0)

    # Production serving (kiosk.web.production: gunicorn, one gthread worker). Each open
    # Socket.IO connection holds a pool thread (and three more outside the pool), so the
    # worker's pool has socket_max_connections (waiting to join) + node_capacity (joined) +
    # this many threads: the rest answer HTTP (API, pages, the console) while every socket is
    # open.
    serve_thread_headroom: int = Field(default=32, ge=4, le=1000)
    # SIGTERM: the node drains (no new witnesses, /api/ready 503), lets live witnesses finish
    # for up to drain_grace_seconds, then ends the rest as aborted: server_shutdown and seals
    # them within drain_finalise_seconds; the process manager must wait for the sum.
    drain_grace_seconds: float = Field(default=300.0, ge=0)
    drain_finalise_seconds: float = Field(default=60.0, gt=0)

    link_ttl_seconds: int = 30 * 60
    heartbeat_timeout_seconds: float = 10.0
    socket_ping_interval: float = 5.0
    socket_ping_timeout: float = 5.0
    # Sockets waiting to join (kiosk.web.connections): caps, and how long one may wait to join;
    # a joined witness's socket no longer counts (node_capacity bounds those).
    socket_max_connections: int = 200
    socket_max_per_address: int = 20
    socket_join_seconds: float = 5.0
    # Socket event rates (kiosk.web.connections.EventLimiter): given names replace the default
    # of that name; a socket whose events are refused this often within 10 s is disconnected.
    socket_event_limits: dict[str, SocketEventLimit] = Field(default_factory=_default_event_limits)
    socket_flood_refusals: int = Field(default=20, ge=1)
    ice_servers: list[IceServer] = Field(default_factory=list)  # none: no external STUN
    # TURN with time-limited credentials per session (kiosk.media.turn; coturn
    # use-auth-secret): e.g. ["turn:turn.example.com:3478", "turns:turn.example.com:443?
    # transport=tcp"] and coturn's static-auth-secret. Unset: no TURN entry is added.
    turn_urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    turn_secret: str = Field(default="", repr=False)
    turn_ttl_seconds: int = Field(default=3600, ge=60, le=86400)
    # Remote ICE candidates (kiosk.media.candidates): loopback only for tests and the local
    # demo; non-global ranges only inside these CIDRs (e.g. a branch LAN), never by default.
    ice_allow_loopback: bool = False
    ice_private_networks: Annotated[list[str], NoDecode] = Field(default_factory=list)

    max_sdp_bytes: int = 20_000
    max_socket_message_bytes: int = 64_000
    max_id_photo_bytes: int = 2_000_000
    max_id_photo_side: int = Field(default=4096, ge=64)  # pixels a side, read from the header
    max_request_bytes: int = 4_000_000
    # A request body not wholly received this many seconds after its headers: 408, connection
    # closed (kiosk.web.bodies; a body declared over its cap is refused with 413 unread).
    request_body_seconds: float = Field(default=20.0, gt=0, le=3600)
    # ID card images (PUT /api/sessions/<id>/id-card/<side>, docs/identity.md): bytes of one
    # image, pixels a side read from its header, images waiting for OCR, seconds to wait.
    max_id_card_bytes: int = Field(default=8_000_000, ge=1_000)
    max_id_card_side: int = Field(default=8192, ge=64)
    id_card_queue: int = Field(default=4, ge=1)
    id_card_timeout_seconds: float = Field(default=60.0, gt=0)
    min_free_mb: float = Field(default=500.0, ge=0)  # less free: new sessions get 503
    max_json_depth: int = 32  # deeper JSON bodies get 400 before any handler parses them

    tts_timeout_seconds: float = 8.0
    # The guide's speaking rate (words a minute) and espeak-ng voice, per language of LOCALES
    # (``voices()`` and ``tts_rates()`` key them by locale).
    tts_rate_zh: int = 165
    tts_rate_en: int = 160
    voice_zh: str = "sit/cmn-latn-pinyin"
    voice_en: str = "gmw/en-us"

    id_mask: str = "keep_last4"  # how evidence shows the ID number: keep_last4 | full | none
    # A broker's connector to the citizen-identity service (公安部 权威库), as
    # "package.module:attribute", built at start with the options as keyword arguments
    # (kiosk.identity.authority, docs/identity.md). "none" (default): "not checked: human review",
    # a flag in the pre-review; "external": the broker checks identity in its own system.
    identity_authority: str = "none"
    identity_authority_options: dict[str, Any] = Field(default_factory=dict)
    # Evidence in S3-compatible object storage with Object Lock (kiosk.evidence.objectstore,
    # docs/operations.md "Evidence in object storage"). Unset bucket: nothing is uploaded.
    # Set: each sealed <package_id>.tar is PUT to <prefix><package_id>.tar, locked until the
    # package's Retain-Until (the flow's retention_years), by a background uploader that
    # retries from the local archive until the upload is confirmed.
    evidence_s3_bucket: str = ""
    evidence_s3_prefix: str = Field(default="", max_length=512)
    evidence_s3_endpoint_url: str = ""  # empty: AWS S3; e.g. https://minio.example:9000
    evidence_s3_region: str = ""
    # Empty: boto3's own chain (AWS_* environment, ~/.aws, instance role).
    evidence_s3_access_key_id: str = ""
    evidence_s3_secret_access_key: str = ""
    # COMPLIANCE: nobody, root included, shortens or removes the lock. GOVERNANCE lets a user
    # with s3:BypassGovernanceRetention delete early: for tests and trials only.
    evidence_s3_lock_mode: Literal["COMPLIANCE", "GOVERNANCE"] = "COMPLIANCE"
    evidence_s3_addressing_style: Literal["auto", "path", "virtual"] = "auto"
    evidence_s3_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    evidence_s3_retry_seconds: float = Field(default=5.0, gt=0)  # doubles per failure
    evidence_s3_retry_max_seconds: float = Field(default=600.0, gt=0)
    # Another node's sealed archives, fetched from the bucket for reading here
    # (kiosk.evidence.bags), are kept under evidence_cache_dir up to this many bytes.
    evidence_cache_max_bytes: int = Field(default=2 * 1024**3, ge=0)
    speech: bool = True  # hear and check spoken answers
    speech_zh_engine: Literal["auto", "whisper", "pinyin", "none"] = "auto"  # docs/operations.md
    speech_en_engine: Literal["auto", "whisper", "pocketsphinx"] = "auto"  # docs/operations.md
    speech_zh_guard: bool = False  # pinyin forced-alignment veto on Whisper's Mandarin consents
    speech_whisper_model_dir: Path | None = None  # faster-whisper model; default: the bundled base
    speech_preload: bool = True  # start the recognisers (Whisper worker process) with the server
    liveness: bool = True  # watch the face; off only for benchmarks of the media path
    face_model: Path | None = None  # FaceLandmarker .task file; default: the packaged copy
    # Frames a second the face analysis looks at while no liveness action is being watched
    # (during actions: every frame it keeps up with); 0 = every frame. Fewer frames outside
    # actions leave more cores for more witnesses (the capacity in docs/operations.md was
    # measured at 8; the whole-session checks are calibrated at 7.5-25 fps).
    analysis_fps_idle: float = Field(default=8.0, ge=0, le=60)
    # /kiosk may create a witness for the next walk-in (sample applicant)
    kiosk_self_start: bool = False
    kiosk_reset_seconds: float = 15.0  # kiosk: the end screen stays this long, then the page resets
    kiosk_idle_seconds: float = 90.0  # kiosk: untouched this long before the witness starts: reset
    brand_color: str = ""  # "#rrggbb" broker colour; anything else is ignored with a warning
    brand_logo: Path | None = None  # PNG/SVG/JPEG/WebP, served at /brand/logo
    recorder: str = "packets"  # "packets" (no re-encode) or "blackhole" (decode only, for bench)
    keyframe_interval_seconds: float = 2.0
    # The media loop waking later than this is logged as a warning (kiosk.media.loop).
    media_loop_lag_warn_ms: float = Field(default=250.0, gt=0)
    log_format: str = "json"  # "json" or "text"
    log_level: str = "INFO"

    @field_validator("api_keys", "ice_private_networks", "turn_urls", mode="before")
    @classmethod
    def _comma_list(cls, v):
        if isinstance(v, str):
            v = v.strip()
            if v.startswith("["):
                return json.loads(v)
            return [k.strip() for k in v.split(",") if k.strip()]
        return v

    @field_validator("turn_urls", mode="after")
    @classmethod
    def _turn_urls(cls, v: list[str]) -> list[str]:
        bad = [u for u in v if not u.startswith(("turn:", "turns:"))]
        if bad:
            raise ValueError(f"turn_urls must start with turn: or turns: (RFC 7065), got {bad}")
        return v

    @field_validator("socket_event_limits", mode="after")
    @classmethod
    def _event_limits(cls, v: dict[str, SocketEventLimit]) -> dict[str, SocketEventLimit]:
        unknown = sorted(set(v) - set(SOCKET_EVENT_LIMITS))
        if unknown:
            raise ValueError(f"unknown socket events {unknown}; known: "
                             f"{', '.join(SOCKET_EVENT_LIMITS)}")
        return {**_default_event_limits(), **v}

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, v: str) -> str:
        """The scheme in lower case (RFC 3986 3.1: case-insensitive), so ``HTTPS://…`` makes
        the console cookie ``Secure`` as ``https://…`` does (base_url().startswith)."""
        v = v.strip()
        scheme, sep, rest = v.partition("://")
        return f"{scheme.lower()}{sep}{rest}" if sep else v

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, v: str) -> str:
        v = v.strip()
        if v:
            check_redis_url(v)  # ValueError names the problem
        return v

    @field_validator("evidence_s3_bucket")
    @classmethod
    def _s3_bucket(cls, v: str) -> str:
        v = v.strip()
        if v and not re.match(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", v):
            raise ValueError(f"evidence_s3_bucket {v!r} is not a bucket name (3-63 lowercase "
                             "letters, digits, '.', '-')")
        return v

    @field_validator("evidence_s3_prefix")
    @classmethod
    def _s3_prefix(cls, v: str) -> str:
        if v.startswith("/") or ".." in v.split("/"):
            raise ValueError(f"evidence_s3_prefix {v!r} must not start with '/' or hold '..'")
        return v

    @model_validator(mode="after")
    def _s3_retry(self) -> Settings:
        if self.evidence_s3_retry_max_seconds < self.evidence_s3_retry_seconds:
            raise ValueError(f"evidence_s3_retry_max_seconds "
                             f"({self.evidence_s3_retry_max_seconds}) must be at least "
                             f"evidence_s3_retry_seconds ({self.evidence_s3_retry_seconds})")
        return self

    @property
    def evidence_receipts_dir(self) -> Path:
        """Receipts of archives confirmed in the object store (kiosk.evidence.uploads)."""
        return self.data_dir / "evidence-stored"

    @property
    def evidence_cache_dir(self) -> Path:
        """Other nodes' verified packages fetched from the object store
        (kiosk.evidence.bags); safe to delete while the node is stopped."""
        return self.data_dir / "evidence-cache"

    @model_validator(mode="after")
    def _routing(self) -> Settings:
        if self.node_routing == "path" and not self.redis_url:
            raise ValueError("node_routing 'path' needs redis_url: the nodes find each other "
                             "and the sessions' pins in Redis")
        return self

    @model_validator(mode="after")
    def _heartbeat(self) -> Settings:
        if self.node_ttl_seconds <= self.node_heartbeat_seconds:
            raise ValueError(f"node_ttl_seconds ({self.node_ttl_seconds}) must exceed "
                             f"node_heartbeat_seconds ({self.node_heartbeat_seconds})")
        return self

    @field_validator("identity_authority")
    @classmethod
    def _authority(cls, v: str) -> str:
        return check_spec(v)  # ValueError says the form

    @field_validator("ice_private_networks")
    @classmethod
    def _networks(cls, v: list[str]) -> list[str]:
        parse_networks(v)  # ValueError names the bad one
        return v

    def _per_locale(self, field: str) -> dict[str, Any]:
        """``{locale: the setting <field>_<its language>}`` for every locale of LOCALES
        (``voice_zh`` for zh-CN); ConfigError when a locale has no such setting."""
        out = {}
        for locale in LOCALES:
            name = f"{field}_{locale.split('-')[0].lower()}"
            if name not in type(self).model_fields:
                raise ConfigError(f"no setting {name} for the locale {locale}")
            out[locale] = getattr(self, name)
        return out

    def voices(self) -> dict[str, str]:
        """The guide's espeak-ng voice per locale (``voice_zh``, ``voice_en``)."""
        return self._per_locale("voice")

    def tts_rates(self) -> dict[str, int]:
        """The guide's speaking rate per locale, words a minute (``tts_rate_zh``, ...)."""
        return self._per_locale("tts_rate")

    @property
    def sessions_dir(self) -> Path:
        return self.data_dir / "sessions"

    @property
    def tts_cache_dir(self) -> Path:
        return self.data_dir / "tts-cache"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'kiosk.sqlite3'}"

    @property
    def shared_state(self) -> bool:
        """Several nodes may run this installation (``redis_url`` set, or a database other
        than SQLite): secrets and signing keys come from the database, not per-node files."""
        return bool(self.redis_url) or not self.db_url.startswith("sqlite")

    @property
    def effective_node_id(self) -> str:
        """``node_id`` when set, else ``<hostname>:<port>`` (one node process per port)."""
        return self.node_id or f"{socket.gethostname()}:{self.port}"

    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def ensure_dirs(self) -> None:
        """Create the data folders the server needs, private (0700); existing ones keep their
        mode."""
        for d in (self.data_dir, self.sessions_dir, self.tts_cache_dir):
            make_private_dir(d)


def load_settings(config_file: str | os.PathLike | None = None, **overrides) -> Settings:
    """Build settings: ``overrides`` > environment > ``config_file`` (YAML) > defaults."""
    file_values: dict = {}
    path = config_file or os.environ.get("KIOSK_CONFIG")
    if path:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"{p}: settings file not found (from KIOSK_CONFIG or --config)")
        try:
            file_values = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{p}: not valid YAML: {exc}") from exc
        if not isinstance(file_values, dict):
            raise ConfigError(f"{p}: must be a mapping of setting names to values")
    env_names = {k[len("KIOSK_"):].lower() for k in os.environ if k.startswith("KIOSK_")}
    init = {k: v for k, v in file_values.items() if k not in env_names}
    init.update(overrides)
    try:
        return Settings(**init)
    except Exception as exc:  # pydantic ValidationError: show it as a settings problem
        raise ConfigError(f"invalid settings: {exc}") from exc
