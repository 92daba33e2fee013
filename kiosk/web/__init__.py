"""The HTTP layer: ``create_app`` (app.py) with the investor's pages, the back-office API, the
Socket.IO events and the security guard as blueprints, and ``kiosk serve`` (serve.py,
production.py). Only this package and the command line import it (tests/test_layering.py).
"""
