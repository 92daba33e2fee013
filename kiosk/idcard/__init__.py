"""Reading PRC resident ID cards: OCR seam (``ocr``), fields by layout (``fields``), bounded
reading of image bytes (``reader``), the ``kiosk idcard`` command (``cli``)."""
