"""The package's layering, read from the source with ``ast``.

- Only ``kiosk/web`` and the command-line entry points import ``kiosk.web``: the witness
  runner, recovery, review and the rest never depend on the HTTP layer.
- A ``kiosk.*`` import inside a function is never part of an import cycle: no chain of
  imports, top-level or inside functions, leads from what it loads back to its module.
- Each such import says why it is there, in a comment on its line or alone on the line above
  (a heavy or optional dependency, start-up time); a bare ``noqa`` is no reason. The command
  modules are the exception: each command imports what it runs inside its own function.
"""

from __future__ import annotations

import ast
import io
import re
import subprocess
import sys
import tokenize
from pathlib import Path

KIOSK = Path(__file__).resolve().parent.parent / "kiosk"

# Entry points that build the whole server, and may therefore import kiosk.web.
MAY_IMPORT_WEB = {
    "kiosk.cli": "the command line: `kiosk serve` starts the web server and `kiosk replay-bench`"
                 " builds the app the replay benchmark times",
}
# Command modules: every command imports what it runs inside its own function.
COMMAND_MODULES = {
    "kiosk.cli", "kiosk.bench", "kiosk.evaluation.cli",
    "kiosk.evidence.cli", "kiosk.flows.cli", "kiosk.liveness.cli", "kiosk.review.cli",
    "kiosk.speech.cli", "kiosk.idcard.cli", "kiosk.loadtest", "kiosk.migrations.cli",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(KIOSK.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(KIOSK.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _targets(node: ast.Import | ast.ImportFrom, here: str) -> list[str]:
    """The kiosk modules an import statement loads."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        if node.level:  # relative: resolve against this module's package
            package = here if MODULES[here].name == "__init__.py" else here.rpartition(".")[0]
            for _ in range(node.level - 1):
                package = package.rpartition(".")[0]
            base = f"{package}.{node.module}" if node.module else package
        else:
            base = node.module or ""
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base
                 for a in node.names]
    return sorted({n for n in names if n == "kiosk" or n.startswith("kiosk.")})


Imports = tuple[list[tuple[str, int]], list[tuple[str, ast.stmt]]]


def imports(name: str, source: str | None = None) -> Imports:
    """``(top-level, in-function)`` kiosk imports of a module (its file, or ``source``),
    without TYPE_CHECKING ones: top-level as (target, line), in-function as (target,
    statement)."""
    tree = ast.parse(source if source is not None else
                     MODULES[name].read_text(encoding="utf-8"))
    top: list[tuple[str, int]] = []
    lazy: list[tuple[str, ast.stmt]] = []

    def walk(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for stmt in child.orelse:
                    walk(stmt, in_function)
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                for target in _targets(child, name):
                    if in_function:
                        lazy.append((target, child))
                    else:
                        top.append((target, child.lineno))
            walk(child, in_function or isinstance(
                child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    walk(tree, False)
    return top, lazy


IMPORTS = {name: imports(name) for name in MODULES}


def _ancestors(name: str) -> set[str]:
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def _loads(name: str, target: str) -> set[str]:
    """The modules importing ``target`` from ``name`` loads: the target and its packages,
    but not ``name`` itself or its own packages (those are loaded before it anyway)."""
    return {t for t in {target} | _ancestors(target)
            if t in MODULES and t != name and t not in _ancestors(name)}


def top_level_graph(imports_of: dict[str, Imports] | None = None) -> dict[str, set[str]]:
    """module -> the modules its top-level imports load."""
    graph: dict[str, set[str]] = {}
    for name, (top, _lazy) in (imports_of or IMPORTS).items():
        graph[name] = set().union(*(_loads(name, target) for target, _line in top))
    return graph


def reaches(graph: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        if node == goal:
            return True
        if node not in seen:
            seen.add(node)
            todo.extend(graph.get(node, ()))
    return False


def test_only_the_web_layer_and_the_command_line_import_kiosk_web():
    offenders = []
    for name, (top, lazy) in IMPORTS.items():
        if name == "kiosk.web" or name.startswith("kiosk.web.") or name in MAY_IMPORT_WEB:
            continue
        for target, where in top + [(t, s.lineno) for t, s in lazy]:
            if target == "kiosk.web" or target.startswith("kiosk.web."):
                offenders.append(f"{MODULES[name].relative_to(KIOSK.parent)}:{where} "
                                 f"imports {target}")
    assert offenders == [], "\n".join(offenders)


def full_graph(imports_of: dict[str, Imports] | None = None) -> dict[str, set[str]]:
    """module -> every kiosk module it imports, at top level or inside a function (not the
    TYPE_CHECKING ones)."""
    imports_of = imports_of or IMPORTS
    graph = top_level_graph(imports_of)
    for name, (_top, lazy) in imports_of.items():
        for target, _stmt in lazy:
            graph[name] |= _loads(name, target)
    return graph


def path(graph: dict[str, set[str]], start: str, goal: str) -> list[str] | None:
    """The shortest chain of imports from ``start`` to ``goal``, or None."""
    previous: dict[str, str | None] = {start: None}
    todo = [start]
    while todo:
        node = todo.pop(0)
        if node == goal:
            chain = [node]
            while (before := previous[chain[-1]]) is not None:
                chain.append(before)
            return chain[::-1]
        for nxt in sorted(graph.get(node, ())):
            if nxt not in previous:
                previous[nxt] = node
                todo.append(nxt)
    return None


def hidden_cycles(imports_of: dict[str, Imports]) -> list[str]:
    """The import cycles that go through an import inside a function: such an import
    ``name -> target`` with a chain of imports (top-level or in functions) from ``target``
    back to ``name``. Each as "name:line imports target, which imports name back: chain"."""
    graph = full_graph(imports_of)
    hidden = []
    for name, (_top, lazy) in imports_of.items():
        for target, stmt in lazy:
            for loaded_module in sorted(_loads(name, target)):
                back = path(graph, loaded_module, name)
                if back is not None:
                    hidden.append(f"{name}:{stmt.lineno} imports {loaded_module}, which "
                                  f"imports {name} back: {' -> '.join(back)}")
    return sorted(set(hidden))


def test_no_import_inside_a_function_hides_a_cycle():
    found = hidden_cycles(IMPORTS)
    assert found == [], "\n".join(found)


# A suppression is no reason: what follows it, after its own "#", may be.
_SUPPRESSION = re.compile(r"^\s*(noqa(:\s*[A-Z]+[0-9]+(,\s*[A-Z]+[0-9]+)*)?"
                          r"|type:\s*ignore(\[[a-z0-9, -]+\])?)", re.IGNORECASE)


def comment_reason(source: str, line: int) -> str:
    """What a comment says about the statement starting on ``line`` of ``source``: a comment
    on that line, else a comment alone on the line right above it; the suppressions in it
    (noqa, type: ignore) left out. Empty when there is none, or it says nothing."""
    comments: dict[int, tuple[str, bool]] = {}  # row -> (text, alone on its line)
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            comments[tok.start[0]] = (tok.string, not tok.line[:tok.start[1]].strip())
    candidates = [comments[line][0]] if line in comments else []
    if not candidates and line - 1 in comments and comments[line - 1][1]:
        candidates = [comments[line - 1][0]]
    words = []
    for comment in candidates:
        for part in comment.split("#"):
            part = _SUPPRESSION.sub("", part).strip()
            if re.search(r"[^\W\d_]", part):  # a word, not bare punctuation or numbers
                words.append(part)
    return " ".join(words)


def test_every_import_inside_a_function_says_why():
    silent = []
    for name, (_top, lazy) in IMPORTS.items():
        if name in COMMAND_MODULES:
            continue
        source = MODULES[name].read_text(encoding="utf-8")
        for target, stmt in lazy:
            if not comment_reason(source, stmt.lineno):
                silent.append(f"{MODULES[name].relative_to(KIOSK.parent)}:{stmt.lineno} "
                              f"imports {target} inside a function without a reason")
    assert silent == [], "\n".join(sorted(set(silent)))


def test_a_reason_is_a_comment_that_says_something():
    noqa = "no" + "qa"  # spelt apart: ruff would read the samples as its own
    src = ("def f():\n"
           "    import a  # the worker starts only when asked\n"          # 2: on its line
           "    # start-up time: the model loads on first use\n"
           "    import b\n"                                                # 4: line above
           "    x = 1  # something else\n"
           "    import c\n"                                                # 6: a code line
           f"    import d  # {noqa}: F401\n"                                # 7: suppression
           "    import e  # \n"                                            # 8: empty
           "    s = '# not a comment'; import g\n"                         # 9: a string
           f"    import h  # {noqa}: F401  # re-exported for the CLI\n"    # 10
           "    import i  # --\n")                                         # 11: punctuation
    assert comment_reason(src, 2) == "the worker starts only when asked"
    assert comment_reason(src, 4) == "start-up time: the model loads on first use"
    assert [comment_reason(src, n) for n in (6, 7, 8, 9, 11)] == [""] * 5
    assert comment_reason(src, 10) == "re-exported for the CLI"


def test_the_checks_see_what_they_check():
    """The walk finds the imports it must judge (so the tests above cannot pass vacuously):
    top-level ones, ones inside functions, TYPE_CHECKING ones left out; and a cycle through
    an import inside a function is found, whether the way back is top-level imports or
    other imports inside functions."""
    assert any(t == "kiosk.services" for t, _ in IMPORTS["kiosk.web.app"][0])
    assert any(t == "kiosk.evidence.objectstore" for t, _ in IMPORTS["kiosk.evidence.service"][1])
    assert any(t == "kiosk.evidence.package" for t, _ in IMPORTS["kiosk.store"][0])
    assert not any(t == "kiosk.witness.runner" for t, _ in sum(IMPORTS["kiosk.services"], []))
    graph = top_level_graph()
    assert "kiosk.session" in graph["kiosk.witness.runner"]
    assert reaches(graph, "kiosk.web.app", "kiosk.witness.runner")
    assert not reaches(graph, "kiosk.witness.runner", "kiosk.web.app")

    def with_lazy(changes: dict[str, str]) -> dict[str, Imports]:
        """IMPORTS with a function importing ``target`` appended to each ``module``."""
        out = dict(IMPORTS)
        for module, target in changes.items():
            source = MODULES[module].read_text(encoding="utf-8")
            out[module] = imports(module, f"{source}\n\ndef _lazy():\n    import {target}\n")
        return out

    # kiosk.timeline importing the runner inside a function: the runner imports it back at
    # top level.
    found = hidden_cycles(with_lazy({"kiosk.timeline": "kiosk.witness.runner"}))
    assert any(c.startswith("kiosk.timeline:") and c.endswith(
        "back: kiosk.witness.runner -> kiosk.timeline") for c in found), found
    # Two modules that import each other only inside functions (neither imports the kiosk
    # at top level).
    assert not reaches(full_graph(), "kiosk.utc", "kiosk.locales")
    found = hidden_cycles(with_lazy({"kiosk.utc": "kiosk.locales", "kiosk.locales": "kiosk.utc"}))
    assert [c.split(" ")[0].split(":")[0] for c in found] == ["kiosk.locales", "kiosk.utc"]


# A suppression names what it silences and says why, after its own "#":
# ``type: ignore[code]  # reason`` and ``noqa: CODE  # reason``.
_IGNORE = re.compile(r"type:\s*ignore(?P<rest>.*)")
_NOQA = re.compile(r"noqa(?P<rest>.*)", re.IGNORECASE)
_IGNORE_OK = re.compile(r"\[[a-z0-9-]+(, *[a-z0-9-]+)*\]\s+#\s*\S")
_NOQA_OK = re.compile(r": *[A-Z]+[0-9]+(, *[A-Z]+[0-9]+)*\s+#\s*\S")


def unexplained_suppressions(source: str) -> list[int]:
    """Lines of ``source`` whose ``type: ignore`` or ``noqa`` comment lacks its code or its
    reason (comments only: strings that mention them are not suppressions)."""
    bad = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type != tokenize.COMMENT:
            continue
        for pattern, ok in ((_IGNORE, _IGNORE_OK), (_NOQA, _NOQA_OK)):
            m = pattern.search(tok.string)
            if m and not ok.match(m.group("rest")):
                bad.append(tok.start[0])
    return bad


def test_every_suppression_names_its_code_and_reason():
    found = [f"{path.relative_to(KIOSK.parent)}:{line}"
             for path in MODULES.values()
             for line in unexplained_suppressions(path.read_text(encoding="utf-8"))]
    assert found == [], "\n".join(found)
    # The check itself: what it refuses and what it accepts.
    noqa = "no" + "qa"  # spelt apart: ruff would read the samples as its own
    assert unexplained_suppressions(
        "a = 1  # type: ignore\nb = 2  # type: ignore[attr-defined]\n"
        f"c = 3  # {noqa}: E731\nimport d  # {noqa}\ne = '# type: ignore'\n") == [1, 2, 3, 4]
    assert unexplained_suppressions(
        "a = 1  # type: ignore[attr-defined, arg-type]  # set by the framework\n"
        f"import b  # {noqa}: F401  # re-exported\n") == []


def test_the_eval_command_loads_no_pydantic():
    """``kiosk --help`` imports every command module: ``kiosk eval``'s options (its locales
    from kiosk.locales, its literal splits) must not load pydantic or the corpus."""
    code = ("import sys, kiosk.evaluation.cli as c; "
            "print(sorted(m for m in ('pydantic', 'kiosk.protocol', 'kiosk.evaluation.corpus')"
            " if m in sys.modules)); print(list(c.LOCALES))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=KIOSK.parent).stdout.splitlines()
    from kiosk.protocol import LOCALES

    assert out == ["[]", str(list(LOCALES))]


# What stays below the runner (docs/architecture.md): the state machine is pure, the shared
# vocabulary imports nothing of the kiosk but the locale list, and the observers, the peer and
# the timeline report through callbacks: none of them may load the runner, the services or
# the web layer, not even from inside a function.
BELOW_THE_RUNNER = ("kiosk.session", "kiosk.protocol", "kiosk.liveness.observer",
                    "kiosk.speech.observer", "kiosk.media.peer", "kiosk.media.peer_session",
                    "kiosk.media.loop", "kiosk.media.remux", "kiosk.timeline")
ABOVE = ("kiosk.witness", "kiosk.services", "kiosk.web", "kiosk.review", "kiosk.recovery")


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(graph.get(node, ()))
    return seen - {start}


def test_the_state_machine_vocabulary_and_observers_stay_below_the_runner():
    graph = full_graph()
    assert reachable(graph, "kiosk.session") <= {"kiosk", "kiosk.protocol", "kiosk.locales"}
    assert reachable(graph, "kiosk.protocol") <= {"kiosk", "kiosk.locales"}
    upward = sorted(f"{low} loads {mod}" for low in BELOW_THE_RUNNER
                    for mod in reachable(graph, low)
                    if any(mod == a or mod.startswith(a + ".") for a in ABOVE))
    assert upward == [], "\n".join(upward)
    # The check sees what it checks: the runner does reach the observers and the session.
    assert {"kiosk.session", "kiosk.liveness.observer"} <= reachable(graph,
                                                                     "kiosk.witness.runner")


def loaded(*modules: str, watch: tuple[str, ...]) -> list[str]:
    """Which of ``watch`` importing ``modules`` loads, in a fresh interpreter."""
    code = (f"import sys; import {', '.join(modules)}; "
            f"print(sorted(m for m in {watch!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=KIOSK.parent).stdout.strip()
    return ast.literal_eval(out)


def test_the_services_and_the_runner_load_neither_flask_nor_aiortc():
    """Flask is the blueprints' (their accessor is kiosk.context), aiortc the peer's and the
    recorder's: the server's parts, the runner (given a peer of its own), the end of a
    witness and recovery load neither."""
    assert loaded("kiosk.services", "kiosk.witness.runner", "kiosk.witness.finalise",
                  "kiosk.recovery", watch=("flask", "aiortc")) == []
    # The check sees what it checks: the blueprints' accessor and the peer do load them.
    assert loaded("kiosk.context", "kiosk.media.peer", watch=("flask", "aiortc")) == [
        "aiortc", "flask"]
