"""Guide TTS worker process: one pyttsx3 engine on espeak-ng, one voice and one rate for life.

``kiosk.guide.tts`` runs this file as a script (``python worker.py --voice V --rate R``) so the
child imports only the standard library and pyttsx3, never the kiosk package. It talks JSON
lines:

- first stdout line: ``{"ready": true, "voice", "rate", "engine", "pid"}`` after a warm-up,
  or ``{"ready": false, "error": "..."}`` and exit status 1;
- stdin ``{"id": n, "text": "...", "out": "/abs/file.wav"}`` ->
  stdout ``{"id": n, "ok": true, "ms": 12.3}`` or ``{"id": n, "ok": false, "error": "..."}``.

The worker exits when stdin closes, so it never outlives its parent unless it is hung (and
then the parent kills it on timeout).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import wave

# How long one utterance may take inside the worker; the parent's timeout is normally shorter
# and kills us first, this only stops a worker with no parent watching from waiting forever.
UTTERANCE_LIMIT_SECONDS = 120.0


class Speaker:
    """One pyttsx3 engine with the pyttsx3 traps handled (see the shared stack notes)."""

    def __init__(self, voice: str, rate: int):
        import pyttsx3  # imported here so a broken install is reported on the protocol
        from pyttsx3.drivers import _espeak

        self._espeak = _espeak
        self.engine = pyttsx3.init("espeak")
        self._done = threading.Event()
        self._completed = False
        self._errors: list[str] = []
        self.engine.connect("finished-utterance", self._on_finished)
        self.engine.connect("error", self._on_error)

        # pyttsx3 names espeak voices by the lower-cased identifier ("File" column of
        # `espeak-ng --voices`), e.g. sit/cmn-Latn-pinyin -> "sit/cmn-latn-pinyin".
        wanted = voice.lower()
        ids = sorted(v.id for v in self.engine.getProperty("voices"))
        if wanted not in ids:
            lang = wanted.rsplit("/", 1)[-1].split("-")[0]
            near = [i for i in ids if lang in i][:8]
            raise RuntimeError(f"espeak-ng voice {voice!r} not found; similar voices: {near}")
        # The voice and rate are set once and never changed: per-utterance changes are applied
        # unreliably because pyttsx3 queues them behind a still-busy utterance.
        self.engine.setProperty("voice", wanted)
        self.engine.setProperty("rate", int(rate))
        self.engine.setProperty("volume", 1.0)
        with tempfile.TemporaryDirectory(prefix="kiosk-tts-warm-") as tmp:
            # The warm-up also applies the queued settings: pyttsx3 runs them on the first loop.
            self.speak("warm up", os.path.join(tmp, "warm.wav"))
        self.voice = self.engine.getProperty("voice")
        # pyttsx3's getProperty("rate") reads espeak's *default* rate, so ask for the current one.
        self.rate = int(_espeak.dll.espeak_GetParameter(_espeak.RATE, 1))
        if self.voice != wanted:
            raise RuntimeError(f"engine kept voice {self.voice!r} instead of {voice!r}")
        if self.rate != int(rate):
            raise RuntimeError(f"engine kept rate {self.rate} instead of {rate}")
        self.engine_version = f"espeak-ng {_espeak.Info(None).decode()}"

    def _on_finished(self, name=None, completed=True):
        self._completed = bool(completed)
        self._done.set()

    def _on_error(self, name=None, exception=None):
        self._errors.append(repr(exception))

    def speak(self, text: str, out: str) -> None:
        """Synthesise ``text`` into the WAV file ``out`` and return once it is complete."""
        if os.path.exists(out):
            os.remove(out)
        self._done.clear()
        self._errors.clear()
        self.engine.save_to_file(text, out)
        self.engine.runAndWait()
        # runAndWait returns ~10 ms after synthesis *starts*; the espeak callback thread writes
        # the file and then reports finished-utterance.
        if not self._done.wait(UTTERANCE_LIMIT_SECONDS):
            raise RuntimeError("no finished-utterance from the engine")
        deadline = time.monotonic() + 2.0
        while self.engine.isBusy() and time.monotonic() < deadline:
            time.sleep(0.001)
        if self._errors:
            raise RuntimeError(f"engine error: {'; '.join(self._errors)}")
        if not self._completed:
            raise RuntimeError("utterance was cancelled")
        frames = 0
        while time.monotonic() < deadline:
            try:
                with wave.open(out, "rb") as wav:
                    frames = wav.getnframes()
                break
            except (FileNotFoundError, EOFError, wave.Error):
                time.sleep(0.002)
        if frames <= 0:
            raise RuntimeError("engine produced no audio (file missing or empty)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voice", required=True)
    parser.add_argument("--rate", type=int, required=True)
    args = parser.parse_args(argv)

    # Keep the real stdout for the protocol and send fd 1 to /dev/null: pyttsx3 prints
    # "Audio saved to ..." on every file, which would corrupt the JSON lines.
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)

    def send(msg: dict) -> None:
        proto.write(json.dumps(msg) + "\n")
        proto.flush()

    try:
        speaker = Speaker(args.voice, args.rate)
    except Exception as exc:  # report any start-up failure to the parent, then stop
        send({"ready": False, "error": f"{type(exc).__name__}: {exc}"})
        return 1
    send({"ready": True, "voice": speaker.voice, "rate": speaker.rate,
          "engine": speaker.engine_version, "pid": os.getpid()})

    for line in sys.stdin:
        if not line.strip():
            continue
        req_id = None
        try:
            req = json.loads(line)
            req_id = req["id"]
            t0 = time.perf_counter()
            speaker.speak(req["text"], req["out"])
            send({"id": req_id, "ok": True, "ms": round((time.perf_counter() - t0) * 1e3, 2)})
        except Exception as exc:  # one bad request must not end the worker
            send({"id": req_id, "ok": False, "error": f"{type(exc).__name__}: {exc}"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
