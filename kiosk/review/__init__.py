"""The compliance auditor console: staff login, review queue with dispatch, AI pre-review,
replay, signed decisions, and a JSON API for the back office (docs/review.md).

``kiosk.review.console.register(app, services)`` wires it into an app (``create_app`` calls
it). This package file imports nothing, so loading the review tables (``kiosk.review.models``,
as the schema migrations do) does not load Flask or the console.
"""
