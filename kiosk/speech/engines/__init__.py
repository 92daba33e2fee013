"""Speech recognition engines, one module each; ``kiosk.speech.recognize`` picks among them.

- ``base``: ``Engine``, ``Recognition`` (what every engine gives), model hashes, readings.
- ``grammar``: ``PocketSphinxGrammar``, pocketsphinx with a JSGF grammar (English, or Mandarin
  through pinyin mapped onto en-us phones).
- ``whisper``: ``WhisperEngine``, the client of the Whisper worker process
  (``kiosk.speech.whisper_proc``).

Nothing is imported here, so that importing one engine does not load another.
"""
