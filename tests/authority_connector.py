"""A test connector for the ``identity_authority`` setting (tests only: Witness Kiosk ships no
connector). It answers from a registry given in its options, as a broker's connector to the
citizen-identity service would answer from the service, and counts the questions."""

from __future__ import annotations

from kiosk.identity.checks import AuthorityAnswer


class RegistryAuthority:
    """``people``: {id_number: name} the "authority" knows; ``fail``: raise instead of
    answering (the service unreachable)."""

    def __init__(self, people: dict[str, str] | None = None, fail: bool = False,
                 name: str = "test registry") -> None:
        self.name = name
        self.people = dict(people or {})
        self.fail = fail
        self.calls = 0

    def verify(self, name: str, id_number: str) -> AuthorityAnswer:
        self.calls += 1
        if self.fail:
            raise TimeoutError("the registry did not answer")
        known = self.people.get(id_number)
        if known is None:
            return AuthorityAnswer(False, "no such number in the registry")
        return AuthorityAnswer(known == name, "name and number agree" if known == name
                               else "the name is not the number's")


def without_verify(**_options):
    """Builds something that is not a connector (no ``verify``)."""
    return type("NotAConnector", (), {"name": "broken"})()


def exploding(**_options):
    raise RuntimeError("secret-token-123 rejected")  # must not reach the start-up error


NOT_CALLABLE = 42
