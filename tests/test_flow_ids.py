"""One rule for a flow id: the script's ``id`` (kiosk.flows.model), the library's file name,
published versions, a new flow from a template and a broker account's flows all agree.

The rule was written five times; the console's copy refused ids that start with a digit
(a valid flow ``2024_risk`` could not be given to a broker), and the ``^...$`` copies took
an id with a trailing newline.
"""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from kiosk.flows.library import FlowLibrary, UnknownFlowError
from kiosk.flows.model import StepId
from kiosk.flows.templates import TEMPLATE_IDS, TemplateError, from_template
from kiosk.flows.versions import VersionError, check_flow_id
from kiosk.migrations import open_store
from kiosk.review.accounts import add_user

IDS = ["2024_risk", "risk", "_x", "a" * 64, "a" * 65, "risk\n", "Risk", "a-b", "a.b", ""]


def model_accepts(flow_id: str) -> bool:
    try:
        TypeAdapter(StepId).validate_python(flow_id)
    except ValidationError:
        return False
    return True


def refuses(call, error, says: str = "flow id") -> bool:
    """True when ``call`` raises ``error`` about the flow id (any other refusal fails)."""
    try:
        call()
    except error as exc:
        assert says in str(exc), exc
        return True
    return False


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ids")
    store = open_store(f"sqlite:///{tmp / 'kiosk.db'}", tmp / "sessions")
    yield store
    store.engine.dispose()


@pytest.mark.parametrize("flow_id", IDS)
def test_every_place_takes_the_flow_ids_the_model_takes(flow_id, store, tmp_path):
    valid = model_accepts(flow_id)
    assert valid == (flow_id in {"2024_risk", "risk", "_x", "a" * 64})
    assert refuses(lambda: FlowLibrary(tmp_path).path_for(flow_id), UnknownFlowError) != valid
    assert refuses(lambda: check_flow_id(flow_id), VersionError) != valid
    assert refuses(lambda: from_template(TEMPLATE_IDS[0], flow_id), TemplateError) != valid
    if not flow_id:
        return  # an account's flow list skips empty entries ("a,,b"): not an id
    name = f"broker{IDS.index(flow_id)}"
    assert refuses(lambda: add_user(store, name, "correct horse battery", "broker_admin",
                                    flows=[flow_id]), ValueError) != valid
