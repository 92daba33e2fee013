"""Templates to start a flow from: the three sample flows the package ships."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from kiosk.errors import FlowError
from kiosk.flows.loader import check_flow, load_flow
from kiosk.flows.model import Flow, is_flow_id
from kiosk.resources import SHIPPED_FLOWS_DIR

TEMPLATES_DIR = SHIPPED_FLOWS_DIR
TEMPLATE_IDS = ("securities_account_opening", "margin_account_risk", "fund_suitability")
_ID_LINE = re.compile(r"^id:[ \t]*\S.*$", re.MULTILINE)
_VERSION_LINE = re.compile(r"^version:[ \t]*\S.*$", re.MULTILINE)


class TemplateError(FlowError):
    """Unknown template or a bad new id."""


@dataclass(frozen=True)
class Template:
    id: str
    path: Path
    flow: Flow


def templates() -> list[Template]:
    """The shipped templates (each valid in zh-CN and en; a test keeps it so)."""
    return [Template(t, TEMPLATES_DIR / f"{t}.yaml", load_flow(TEMPLATES_DIR / f"{t}.yaml"))
            for t in TEMPLATE_IDS]


def from_template(template_id: str, new_id: str) -> str:
    """The template's text with ``id: new_id`` and ``version: 1``, checked to be valid."""
    if template_id not in TEMPLATE_IDS:
        raise TemplateError(f"unknown template {template_id!r}; use "
                            f"{', '.join(TEMPLATE_IDS)}")
    if not is_flow_id(new_id):
        raise TemplateError(f"invalid flow id {str(new_id)[:80]!r}: use 1-64 lowercase "
                            "letters, digits and _")
    text = (TEMPLATES_DIR / f"{template_id}.yaml").read_text(encoding="utf-8")
    text = _ID_LINE.sub(f"id: {new_id}", text, count=1)
    text = _VERSION_LINE.sub("version: 1", text, count=1)
    problems = check_flow(f"{new_id}.yaml", text)
    if problems:  # the template changed shape; never hand out a broken start
        raise TemplateError(f"template {template_id} does not give a valid flow: {problems[0]}",
                            problems=problems)
    return text
