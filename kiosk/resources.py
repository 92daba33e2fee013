"""Where the files the package ships are: static files, sample flows (templates sit beside
their blueprints: ``kiosk/web/templates``, ``kiosk/review/templates``, ``kiosk/broker/templates``).

All are package data, so an installed wheel carries them and nothing depends on the current
directory or on a checkout. In a checkout ``kiosk/static`` and ``kiosk/flows/shipped`` are
symbolic links to the repository's ``static/`` and ``flows/``; building the wheel copies
the files they point to.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
# The investor, review and broker pages' scripts, styles and vendored libraries (/static/...).
STATIC_DIR = PACKAGE_DIR / "static"
# The three sample flows (the default flows_dir and the broker's templates) and schema.json.
SHIPPED_FLOWS_DIR = PACKAGE_DIR / "flows" / "shipped"
