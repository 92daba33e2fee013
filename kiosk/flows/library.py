"""The flows of one directory, by id (``FlowLibrary``), reloaded when a file changes."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from kiosk.errors import FlowError
from kiosk.flows.loader import analyse_flow
from kiosk.flows.messages import plural
from kiosk.flows.model import Flow, is_flow_id

log = logging.getLogger(__name__)


class UnknownFlowError(FlowError, KeyError):
    """No flow with that id in the library."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class FlowLibrary:
    """The flows of one directory, by id; reloads a file when it changes on disk."""

    def __init__(self, flows_dir: Path | str):
        self.flows_dir = Path(flows_dir)
        self._cache: dict[str, tuple[tuple[int, int], Flow]] = {}
        self._lock = threading.Lock()

    def path_for(self, flow_id: str) -> Path:
        """The file of a flow id; refuses anything but [a-z0-9_] (no paths, no dots)."""
        if not is_flow_id(flow_id):
            raise UnknownFlowError(
                f"invalid flow id {str(flow_id)[:80]!r}: use lowercase letters, digits and _"
            )
        return self.flows_dir / f"{flow_id}.yaml"

    def get(self, flow_id: str) -> Flow:
        """The valid flow with this id; UnknownFlowError or FlowError (with problems) if not."""
        path = self.path_for(flow_id)
        try:
            st = path.stat()
        except OSError:
            available = ", ".join(self.ids()) or "none"
            raise UnknownFlowError(f"unknown flow '{flow_id}'; available: {available}") from None
        stamp = (st.st_mtime_ns, st.st_size)
        with self._lock:
            cached = self._cache.get(flow_id)
            if cached and cached[0] == stamp:
                return cached[1]
        flow, problems = analyse_flow(path, None)
        if problems:
            log.error("flow %s is invalid: %s", flow_id, "; ".join(map(str, problems[:5])))
            # No directory in the message: callers may show it to the investor.
            raise FlowError(f"flow '{flow_id}' is invalid ({plural(len(problems), 'problem')});"
                            f" run: kiosk flows check {path.name}", problems=problems)
        assert flow is not None
        with self._lock:
            self._cache[flow_id] = (stamp, flow)
        return flow

    def ids(self) -> list[str]:
        """Ids of every *.yaml file whose name is a valid flow id."""
        if not self.flows_dir.is_dir():
            return []
        return sorted(p.stem for p in self.flows_dir.glob("*.yaml")
                      if is_flow_id(p.stem))

    def scan(self) -> list[tuple[Path, Flow | FlowError]]:
        """Every flow file with its flow or the error that keeps it from loading."""
        out: list[tuple[Path, Flow | FlowError]] = []
        for fid in self.ids():
            try:
                out.append((self.path_for(fid), self.get(fid)))
            except FlowError as exc:
                out.append((self.path_for(fid), exc))
        return out

    def list(self) -> list[Flow]:
        """Every valid flow, by id; invalid files are logged and left out."""
        return [f for _, f in self.scan() if isinstance(f, Flow)]

