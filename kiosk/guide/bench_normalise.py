"""Time ``speakable`` per prompt on the shipped flows: ``python -m kiosk.guide.bench_normalise``.

Prints the mean and the slowest milliseconds per prompt, per locale (the figure in
docs/flows.md, "What the guide says").
"""

from __future__ import annotations

import time

from kiosk.flows.loader import load_flow
from kiosk.flows.preview import prompt_variants
from kiosk.guide.normalise import speakable
from kiosk.protocol import LOCALES
from kiosk.resources import SHIPPED_FLOWS_DIR


def main(rounds: int = 200) -> None:
    """Normalise every prompt of every shipped flow ``rounds`` times; print ms per prompt."""
    for locale in LOCALES:
        texts: list[str] = []
        for path in sorted(SHIPPED_FLOWS_DIR.glob("*.yaml")):
            flow = load_flow(path)
            for step in flow.steps:
                texts.extend(w for w, _ in prompt_variants(flow, step, locale))
        times = []
        for text in texts:
            # The spoken text of a flow prompt is ``prompt_text(..., spoken=True)``; its cost
            # over the written text is the normaliser's.
            t0 = time.perf_counter()
            for _ in range(rounds):
                speakable(text, locale)
            times.append((time.perf_counter() - t0) / rounds * 1e3)
        print(f"{locale}: {len(texts)} prompts, mean {sum(times) / len(times):.3f} ms, "
              f"max {max(times):.3f} ms per prompt")


if __name__ == "__main__":
    main()
