"""The console's one way to its service: ``current_review()``.

``kiosk.review.console.register`` keeps the ``ReviewService`` in ``app.extensions[EXTENSION]``; the
console's blueprints (and the broker page, which shares its login and audit log) read it
through ``current_review()`` only, typed, instead of reaching into the app's extensions.
"""

from __future__ import annotations

from flask import current_app

from kiosk.review.service import ReviewService

# Where register() keeps the console's service (``app.extensions[EXTENSION]``).
EXTENSION = "review"


def current_review() -> ReviewService:
    """The review console's service of the app handling the current request.

    Raises RuntimeError outside a request or app context, or when the console was never
    registered on the app (``kiosk.review.console.register``: no ``ReviewService`` under
    ``EXTENSION``)."""
    svc = current_app.extensions.get(EXTENSION)
    if not isinstance(svc, ReviewService):
        raise RuntimeError("the app has no review console (register it with "
                           "kiosk.review.console.register)")
    return svc
