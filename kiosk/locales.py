"""The investor-facing languages: the one list, ``LOCALES``, and the default.

The page's strings (``static/i18n.js``), the guide's voices, the API's ``locale`` field and
the page's language switch all cover exactly these. ``kiosk.protocol`` re-exports both (the
shared vocabulary); this module imports nothing, so a command's options (``kiosk eval
--locale``) can offer the list without loading pydantic.
"""

from __future__ import annotations

LOCALES: tuple[str, ...] = ("zh-CN", "en")
DEFAULT_LOCALE = "zh-CN"
