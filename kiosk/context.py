"""The blueprints' one way to the server's parts: ``current_services()``.

``kiosk.web.app.create_app`` keeps the ``KioskServices`` in ``app.extensions[EXTENSION]``; the
investor's blueprints (``kiosk.web``) and the broker page read them through
``current_services()`` only, typed and checked. Kept apart from ``kiosk.services`` so that
the server's parts (and the runner, recovery and command-line tools that use them) do not
load Flask; the review console's service has its own accessor, ``kiosk.review.context``.
"""

from __future__ import annotations

from flask import current_app

from kiosk.services import KioskServices

# Where create_app keeps the services (``app.extensions[EXTENSION]``).
EXTENSION = "kiosk"


def current_services() -> KioskServices:
    """The services of the app handling the current request.

    Raises RuntimeError outside a request or app context, or when the app was not built by
    ``create_app`` (no ``KioskServices`` under ``EXTENSION``)."""
    services = current_app.extensions.get(EXTENSION)
    if not isinstance(services, KioskServices):
        raise RuntimeError("the app has no kiosk services (build it with create_app)")
    return services
