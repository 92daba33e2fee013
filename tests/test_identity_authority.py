"""The ``identity_authority`` setting: a broker's connector to the citizen-identity service
plugged by name, validated at start with a clear error, asked through the card API (real OCR
on a synthetic card); none configured is "not checked: human review", never a pass. The
connector is a test one (tests/authority_connector.py): the product ships none."""

from __future__ import annotations

from datetime import date

import pytest

from kiosk.config import load_settings
from kiosk.errors import ConfigError
from kiosk.identity.authority import load_authority
from kiosk.testing.idcards import make_person, photograph, render_back, render_front
from kiosk.web.app import create_app
from tests.authority_connector import RegistryAuthority
from tests.kiosk_server import API_KEY, make_flows_dir

KEY = {"X-API-Key": API_KEY}
CONNECTOR = "tests.authority_connector:RegistryAuthority"


def test_none_is_no_connector_and_a_connector_is_built_with_its_options():
    assert load_authority("none") is None and load_authority("") is None
    got = load_authority(CONNECTOR, {"people": {"1": "张三"}, "name": "MPS test"})
    assert isinstance(got, RegistryAuthority) and got.name == "MPS test"
    assert got.people == {"1": "张三"}


@pytest.mark.parametrize("spec,options,words", [
    ("tests.no_such_module:X", {}, "module 'tests.no_such_module' cannot be imported"),
    ("tests.authority_connector:Missing", {}, "tests.authority_connector has no 'Missing'"),
    ("tests.authority_connector:NOT_CALLABLE", {}, "NOT_CALLABLE is not a class or a function"),
    ("tests.authority_connector:without_verify", {}, "no verify(name, id_number) method"),
    (CONNECTOR, {"name": ""}, "the connector has no 'name'"),
    (CONNECTOR, {"unknown_option": 1}, "building the connector failed (TypeError"),
    ("tests.authority_connector:exploding", {"token": "secret-token-123"},
     "building the connector failed (RuntimeError; check identity_authority_options)"),
])
def test_a_bad_connector_is_refused_with_its_reason(spec, options, words):
    with pytest.raises(ConfigError) as err:
        load_authority(spec, options)
    message = str(err.value)
    assert message.startswith(f"identity_authority {spec!r}: ") and words in message
    assert "secret-token-123" not in message  # options and the connector's words stay out


def test_the_setting_states_its_form_and_a_bad_connector_stops_the_start(tmp_path):
    with pytest.raises(ConfigError, match=r"identity_authority must be 'none', 'external' or "
                                          r"'package\.module:attribute'"):
        load_settings(data_dir=tmp_path, identity_authority="tests/authority_connector.py")
    settings = load_settings(data_dir=tmp_path / "data", api_keys=[API_KEY],
                             flows_dir=make_flows_dir(tmp_path / "flows"),
                             identity_authority="tests.authority_connector:without_verify")
    with pytest.raises(ConfigError, match="no verify"):
        create_app(settings)


@pytest.fixture(scope="module")
def person():
    return make_person(53, date.today())


@pytest.fixture(scope="module")
def images(person):
    return {"front": photograph(render_front(person, 53), "clean", 1),
            "back": photograph(render_back(person, 53), "clean", 2)}


def served(tmp_path, **settings):
    app = create_app(load_settings(data_dir=tmp_path / "data", api_keys=[API_KEY],
                                   flows_dir=make_flows_dir(tmp_path / "flows"), **settings))
    return app


def send(client, person, images, sides=("front", "back"), name=None) -> dict:
    r = client.post("/api/sessions", headers=KEY, json={
        "applicant": {"name": name or person.name, "id_number": person.id_number},
        "locale": "zh-CN", "flow_id": "quick"})
    assert r.status_code == 201, r.get_json()
    sid = r.get_json()["session_id"]
    card = {}
    for side in sides:
        r = client.put(f"/api/sessions/{sid}/id-card/{side}", data=images[side],
                       headers={**KEY, "Content-Type": "image/jpeg"})
        assert r.status_code == 200, r.get_json()
        card = r.get_json()
    return card


def authority_of(card: dict) -> dict:
    return next(c for c in card["checks"] if c["name"] == "authority")


def test_the_connector_is_asked_once_a_session_and_its_answer_is_the_check(tmp_path, person,
                                                                           images):
    app = served(tmp_path, identity_authority=CONNECTOR, identity_authority_options={
        "people": {person.id_number: person.name}, "name": "MPS test registry"})
    try:
        connector = app.extensions["kiosk"].authority
        client = app.test_client()
        card = send(client, person, images)
        assert authority_of(card) == {"name": "authority", "status": "pass",
                                      "detail": "MPS test registry: matched. name and number "
                                                "agree"}
        assert card["authority"]["configured"] is True
        assert card["authority"]["name"] == "MPS test registry"
        assert connector.calls == 1  # the back reused the front's definite answer
        card = send(client, person, images, sides=("front",), name="王五")
        assert authority_of(card)["status"] == "fail"
        assert authority_of(card)["detail"].startswith("MPS test registry: not matched.")
        assert connector.calls == 2
    finally:
        app.extensions["kiosk"].shutdown()


def test_a_connector_that_gives_no_answer_needs_a_human_and_is_asked_again(tmp_path, person,
                                                                           images):
    app = served(tmp_path, identity_authority=CONNECTOR,
                 identity_authority_options={"fail": True})
    try:
        card = send(app.test_client(), person, images)
        assert authority_of(card) == {"name": "authority", "status": "needs_human",
                                      "detail": "test registry gave no answer (TimeoutError)"}
        assert app.extensions["kiosk"].authority.calls == 2
        assert card["overall"] == "needs_human"
    finally:
        app.extensions["kiosk"].shutdown()


def test_no_connector_is_not_checked_human_review_never_a_pass(tmp_path, person, images):
    app = served(tmp_path)
    try:
        assert app.extensions["kiosk"].authority is None
        card = send(app.test_client(), person, images, sides=("front",))
        assert authority_of(card) == {"name": "authority", "status": "not_checked",
                                      "detail": "not checked: human review"}
        assert card["overall"] != "pass"
    finally:
        app.extensions["kiosk"].shutdown()
