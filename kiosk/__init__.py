"""Witness Kiosk: digital-human guided one-way video witnessing."""

__version__ = "0.1.0"
