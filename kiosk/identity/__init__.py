"""Identity documents: number rules per document type (``numbers``), the ID card reader
(``kiosk.idcard``) and the cross-checks against the broker's data."""
