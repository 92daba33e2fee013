"""The wheel, installed outside the checkout, carries its templates, static files and flows.

The wheel is built offline from a copy of the sources (``pip wheel --no-build-isolation``,
with the setuptools of this environment) and installed without dependencies into a fresh venv
that sees this environment's packages through a ``.pth`` line (its own ``.pth`` files, such as
an editable install of the checkout, are not run). The checks then run from a directory
outside the checkout, without PYTHONPATH, so nothing can come from the checkout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# What a wheel is built from: the project file, its readme, the package and the folders
# that kiosk/static and kiosk/flows/shipped link to.
SOURCES = ("pyproject.toml", "README.md", "kiosk", "static", "flows")

CHECK = textwrap.dedent("""
    import json, sys
    from pathlib import Path

    import kiosk
    from kiosk.config import load_settings
    from kiosk.flows.templates import templates
    from kiosk.resources import SHIPPED_FLOWS_DIR, STATIC_DIR
    from kiosk.web.app import create_app

    out = {"kiosk": kiosk.__file__, "static": str(STATIC_DIR),
           "static_is_link": STATIC_DIR.is_symlink(),
           "flows": sorted(p.name for p in SHIPPED_FLOWS_DIR.iterdir()),
           "default_data_dir": str(load_settings().data_dir),
           "default_flows_dir": str(load_settings().flows_dir),
           "templates": [t.id for t in templates()]}
    settings = load_settings(data_dir=Path(sys.argv[1]), demo=True, liveness=False,
                             speech=False)
    app = create_app(settings)
    try:
        client = app.test_client()
        demo = client.get("/demo?lang=en")
        out["demo"] = [demo.status_code, demo.headers.get("Location", "")]
        page = client.get(demo.headers["Location"])
        out["page"] = [page.status_code, "/static/investor.js" in page.get_data(as_text=True)]
        js = client.get("/static/investor.js")
        out["static_js"] = [js.status_code, len(js.get_data())]
        js.close()
        # Every ES module the wheel holds (the investor page's, the review console's and the
        # broker page's, with their subfolders): each one served, with a script type.
        out["modules"] = {}
        for path in sorted(STATIC_DIR.rglob("*.js")):
            name = path.relative_to(STATIC_DIR).as_posix()
            if name.startswith("vendor/"):
                continue
            r = client.get("/static/" + name)
            out["modules"][name] = [r.status_code, r.mimetype, len(r.get_data())]
            r.close()
        vendor = client.get("/static/vendor/socket.io.min.js")
        out["vendor_js"] = vendor.status_code
        vendor.close()
        out["review_login"] = client.get("/review/login").status_code
        out["broker_template"] = app.jinja_env.get_template("broker_index.html").name
        out["console_templates"] = [app.jinja_env.get_template(t).name
                                    for t in ("review_case.html", "broker_edit.html")]
    finally:
        app.extensions["kiosk"].shutdown()
    print(json.dumps(out))
""")


# No PYTHONPATH (it may point at a checkout) and no settings from the environment.
CLEAN_ENV = {k: v for k, v in os.environ.items()
             if k != "PYTHONPATH" and not k.startswith("KIOSK_")}


def _run(cmd: list, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=CLEAN_ENV,
                          **kw)
    shown = " ".join(str(c) for c in cmd[:4])  # not the whole check script
    assert proc.returncode == 0, (f"{shown} ... failed:\n{proc.stdout[-3000:]}\n"
                                  f"{proc.stderr[-3000:]}")
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """(the venv's python, a work folder outside the checkout) with the wheel installed."""
    tmp = tmp_path_factory.mktemp("packaging")
    src = tmp / "src"
    src.mkdir()
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(path, src / name)
    dist = tmp / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
          "--no-index", "-q", "-w", dist, src])
    wheels = list(dist.glob("witness_kiosk-*.whl"))
    assert len(wheels) == 1, wheels

    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv])
    python = venv / "bin" / "python"
    purelib = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()"
                                       "['purelib'])"]).stdout.strip())
    # The dependencies: this environment's site-packages, as a plain path line.
    (purelib / "kiosk_test_dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    # --ignore-installed: the checkout's own (editable) install is visible through the .pth.
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps",
          "--no-index", "--ignore-installed", "-q", wheels[0]])
    work = tmp / "elsewhere"
    work.mkdir()
    return python, work


def test_the_installed_wheel_serves_the_demo_from_outside_the_checkout(installed):
    python, work = installed
    proc = _run([python, "-c", CHECK, work / "data"], cwd=work, timeout=300)
    out = json.loads(proc.stdout.strip().splitlines()[-1])

    venv = python.parent.parent
    assert Path(out["kiosk"]).is_relative_to(venv), out["kiosk"]  # not the checkout's
    assert Path(out["static"]).is_relative_to(venv) and not out["static_is_link"]
    assert out["flows"] == ["fund_suitability.yaml", "margin_account_risk.yaml", "schema.json",
                            "securities_account_opening.yaml"]
    assert Path(out["default_flows_dir"]).is_relative_to(venv)
    assert out["default_data_dir"] == str(work / "media")  # the working directory's media/
    assert out["templates"] == ["securities_account_opening", "margin_account_risk",
                                "fund_suitability"]
    assert out["demo"][0] == 303 and out["demo"][1].startswith("/w/"), out["demo"]
    assert out["page"] == [200, True]
    size = (REPO / "static" / "investor.js").stat().st_size
    assert out["static_js"] == [200, size]
    static = REPO / "static"
    modules = {p.relative_to(static).as_posix(): p for p in static.rglob("*.js")
               if "vendor" not in p.relative_to(static).parts}
    for page, least in (("investor", 10), ("review", 5), ("broker", 5)):
        assert f"{page}.js" in modules
        assert len([n for n in modules if n.startswith(page + "/")]) >= least, page
    # A browser runs a module script only when it is served with a JavaScript type.
    assert {name: (status, size) for name, (status, _, size) in out["modules"].items()} == {
        name: (200, p.stat().st_size) for name, p in modules.items()}
    assert {t for _, t, _ in out["modules"].values()} <= {"text/javascript",
                                                          "application/javascript"}
    assert out["vendor_js"] == 200
    assert out["review_login"] == 200
    assert out["broker_template"] == "broker_index.html"
    assert out["console_templates"] == ["review_case.html", "broker_edit.html"]


def test_the_checkout_links_the_shipped_folders():
    """In a checkout the package's static/ and flows/shipped/ are the repository's folders."""
    from kiosk.resources import SHIPPED_FLOWS_DIR, STATIC_DIR

    assert STATIC_DIR.resolve() == (REPO / "static").resolve()
    assert SHIPPED_FLOWS_DIR.resolve() == (REPO / "flows").resolve()


SERVE_CHECK = textwrap.dedent("""
    import json, os, sys
    from pathlib import Path

    import requests

    import kiosk
    from kiosk.resources import SHIPPED_FLOWS_DIR
    from kiosk.testing.server import ServerProcess

    data = Path(sys.argv[1])
    with ServerProcess(data, SHIPPED_FLOWS_DIR, KIOSK_LIVENESS="false",
                       KIOSK_SPEECH="false") as server:
        ready = requests.get(server.url + "/api/ready", timeout=10).status_code
        cwd = os.readlink(f"/proc/{server.proc.pid}/cwd")
        child = server.env.get("PYTHONPATH", "")
    print(json.dumps({"kiosk": kiosk.__file__, "ready": ready, "cwd": cwd,
                      "pythonpath": child}))
""")


def test_the_installed_wheel_starts_a_test_server_outside_the_checkout(installed):
    """``kiosk loadtest`` and ``kiosk eval`` start servers with kiosk.testing.server: from a
    wheel, the child runs the wheel's kiosk in its data folder, not in a checkout's."""
    python, work = installed
    proc = _run([python, "-c", SERVE_CHECK, work / "serve-data"], cwd=work, timeout=300)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    venv = python.parent.parent
    assert Path(out["kiosk"]).is_relative_to(venv), out["kiosk"]
    assert out["ready"] == 200
    assert out["cwd"] == str(work / "serve-data")
    assert out["pythonpath"].split(os.pathsep)[0] == str(Path(out["kiosk"]).parent.parent)
