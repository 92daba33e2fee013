"""The ``kiosk`` command: serve, simulate, bench, loadtest, flows, evidence, ledger, analyze, ...

Sub-commands live next to the code they drive and are imported only when invoked, so that
``kiosk flows check`` does not load mediapipe or aiortc.
"""

from __future__ import annotations

import importlib

import click

# name -> "module:attribute" of a click command or group
_COMMANDS = {
    "serve": "kiosk.web.serve:serve",
    "simulate": "kiosk.media.simulate:simulate",
    "bench": "kiosk.bench:bench",
    "replay-bench": "kiosk.cli:replay_bench",
    "loadtest": "kiosk.loadtest:loadtest",
    "flows": "kiosk.flows.cli:flows",
    "evidence": "kiosk.evidence.cli:evidence",
    "ledger": "kiosk.evidence.cli:ledger",
    "analyze": "kiosk.liveness.cli:analyze",
    "liveness-eval": "kiosk.liveness.cli:liveness_eval",
    "speech-eval": "kiosk.speech.cli:speech_eval",
    "answer": "kiosk.speech.cli:answer",
    "eval": "kiosk.evaluation.cli:evaluate",
    "users": "kiosk.review.cli:users",
    "idcard": "kiosk.idcard.cli:idcard",
    "db": "kiosk.migrations.cli:db",
    "balancer": "kiosk.cluster.cli:balancer",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(_COMMANDS)

    def get_command(self, ctx, name):
        target = _COMMANDS.get(name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("kiosk"):
                raise click.ClickException(
                    f"'kiosk {name}' is not available in this build"
                ) from exc
            raise
        return getattr(module, attr)


@click.group(cls=LazyGroup)
@click.version_option(package_name="witness-kiosk")
def main() -> None:
    """Witness Kiosk: digital-human guided one-way video witnessing."""


@click.command("replay-bench")
@click.option("--seconds", type=float, default=180.0, show_default=True,
              help="length of the sealed sample case")
@click.option("--runs", type=int, default=3, show_default=True)
@click.option("--no-browser", is_flag=True, help="time the server only (no headless chromium)")
def replay_bench(seconds: float, runs: int, no_browser: bool) -> None:
    """Time how fast the review console opens a sealed case and starts playing it."""
    # The benchmark (kiosk.testing) takes the app from here: only the command line and the
    # web layer itself import kiosk.web.
    from kiosk.config import load_settings
    from kiosk.testing.replay_bench import bench_replay_open
    from kiosk.web.app import create_app

    bench_replay_open(lambda data_dir: create_app(load_settings(data_dir=data_dir)),
                      seconds=seconds, runs=runs, browser=not no_browser)


if __name__ == "__main__":
    main()
