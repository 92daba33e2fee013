"""Plugging a broker's identity-authority connector into the server (the ``authority`` check).

Witness Kiosk ships no connector to the Ministry of Public Security's citizen-identity
service (公安部公民身份信息核查, 权威库): access is contracted by each broker, through its own
channel. A broker writes one class that satisfies ``kiosk.identity.checks.IdentityAuthority``
(a ``name`` and ``verify(name, id_number) -> AuthorityAnswer``) and names it in the settings::

    identity_authority: "broker_ext.mps:MpsConnector"     # module:attribute, importable
    identity_authority_options: {endpoint: "https://...", timeout_seconds: 5}

The attribute (a class or a factory function) is called once at start with the options as
keyword arguments; the object it returns is checked (``name`` a non-empty string,
``verify`` callable). Anything wrong stops the start with a ``ConfigError`` naming the
setting and what is wrong, never the options' values (they may hold credentials). Unset (the
default) or ``none``: no connector, and the check reads ``not checked: human review``, which
the pre-review flags ("identity not checked against the authority: human review"): a case is
never ``clear`` without an identity check. ``external``: the broker declares that it checks
every applicant against the authority in its own system, outside the kiosk; the check is then
``not_checked`` with that detail, and the pre-review keeps it as information.

``verify`` is called from a web request thread, at most once a session for a definite
answer (``kiosk.witness.id_card``): it must bound its own time (a timeout) and raise on any
failure to get an answer, which makes the check ``needs_human``, never a pass.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kiosk.errors import ConfigError

if TYPE_CHECKING:  # the settings check the form of the setting without loading the checks
    from kiosk.identity.checks import IdentityAuthority

NONE = ("", "none")
EXTERNAL = "external"
SPEC = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
SETTING = "identity_authority"


def check_spec(spec: str) -> str:
    """``spec`` stripped, when it is ``none``, empty or ``package.module:attribute``;
    ValueError saying the form otherwise (no import happens here)."""
    spec = spec.strip()
    if spec.lower() in (*NONE, EXTERNAL) or SPEC.match(spec):
        return spec
    raise ValueError(f"{SETTING} must be 'none', 'external' or 'package.module:attribute' (a "
                     "class or "
                     f"factory returning an IdentityAuthority), got {spec!r}")


def load_authority(spec: str, options: Mapping[str, Any] | None = None
                   ) -> IdentityAuthority | None:
    """The connector ``spec`` names, built with ``options``; None for ``none`` or empty;
    ``VerifiedElsewhere()`` for ``external``.

    ConfigError, naming ``identity_authority``, when the module cannot be imported, the
    attribute is missing or not callable, building it raises, or what it built has no
    non-empty string ``name`` or no callable ``verify``.
    """
    try:
        spec = check_spec(spec)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if spec.lower() in NONE:
        return None
    if spec.lower() == EXTERNAL:
        return VerifiedElsewhere()
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"{SETTING} {spec!r}: module {module_name!r} cannot be imported "
                          f"({type(exc).__name__}: {exc})") from exc
    target: Any = module
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ConfigError(f"{SETTING} {spec!r}: {module_name} has no {attr!r}") from None
    if not callable(target):
        raise ConfigError(f"{SETTING} {spec!r}: {attr} is not a class or a function")
    try:
        connector = target(**dict(options or {}))
    except Exception as exc:  # the broker's code: any failure stops the start, named
        raise ConfigError(f"{SETTING} {spec!r}: building the connector failed "
                          f"({type(exc).__name__}; check identity_authority_options)") from exc
    name = getattr(connector, "name", None)
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{SETTING} {spec!r}: the connector has no 'name' (a non-empty "
                          "string shown in the check's result)")
    if not callable(getattr(connector, "verify", None)):
        raise ConfigError(f"{SETTING} {spec!r}: the connector has no verify(name, id_number) "
                          "method")
    return connector


class VerifiedElsewhere:
    """``identity_authority: external``: the broker checks each applicant against the
    citizen-identity service in its own system, outside the kiosk. Never asked: the
    ``authority`` check is ``not_checked`` with ``EXTERNAL_DETAIL`` and the pre-review keeps
    it as information instead of a flag."""

    name = "the broker's own system"
    external = True

    def verify(self, name: str, id_number: str):  # never called (checks.check_authority)
        raise RuntimeError("identity_authority: external is never asked")
