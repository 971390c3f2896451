"""`pip install .` (not editable) works from any directory: the wheel holds `switchboard.*`
only, with its migrations and manifests, and `switchboard demo` runs from it offline, in an
empty directory, with the repository nowhere on the path.

Building and installing costs a few seconds (bench/README.md, "Start-up time"); it is never
skipped, so CI (.ci/run) always checks the installed layout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.test_settings import VARIABLES

PACKAGES = ("store", "bot", "agents", "handlers", "manifests")
LIMIT = 180  # seconds for any one step: a hang fails the test


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    ran = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=LIMIT,
        check=False,
    )
    assert ran.returncode == 0, f"{' '.join(map(str, args))}:\n{ran.stdout}\n{ran.stderr}"
    return ran.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built offline from a copy of the sources (a build in the repository would
    leave build/ and *.egg-info beside the code, and race a concurrent run)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    for package in PACKAGES:
        shutil.copytree(
            REPO / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    out = tmp_path_factory.mktemp("wheel")
    run(
        sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
        "--no-index", "--wheel-dir", out, source,
        cwd=source,
    )  # fmt: skip
    [built] = out.glob("agency_switchboard-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel installed; the dependencies come from the
    test environment's site-packages (offline). This environment's pip installs into it: a
    venv made with its own pip would carry an old setuptools."""
    venv = tmp_path_factory.mktemp("venv")
    run(sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", venv, cwd=venv)
    python = venv / "bin" / "python"
    run(
        sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps",
        "--no-index", wheel,
        cwd=venv,
    )  # fmt: skip
    return venv


def clean_env() -> dict[str, str]:
    """No setting from the developer's shell, and nothing that would put the repository on
    the path: what runs is what was installed."""
    hidden = {*VARIABLES, "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP"}
    return {k: v for k, v in os.environ.items() if k not in hidden}


def test_the_wheel_holds_switchboard_only(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    assert top == {"switchboard", wheel.name.split("-py3")[0] + ".dist-info"}
    for data in (
        "switchboard/manifests/agency.example.yaml",
        "switchboard/manifests/slack_app.yaml",
        "switchboard/store/migrations/env.py",
        "switchboard/store/migrations/script.py.mako",
        "switchboard/bot/sandbox/page/index.html",
        "switchboard/bot/sandbox/page/app.js",
        "switchboard/bot/sandbox/page/style.css",
    ):
        assert data in names
    assert any(n.startswith("switchboard/store/migrations/versions/") for n in names)


def test_the_installed_demo_runs_from_an_empty_directory(installed: Path, tmp_path: Path) -> None:
    site = next((installed / "lib").glob("python3*/site-packages"))
    assert not {p.name for p in site.iterdir()} & set(PACKAGES), "a top-level package leaked"
    assert {p.name for p in (site / "switchboard").iterdir()} >= set(PACKAGES)

    where = tmp_path / "anywhere"
    where.mkdir()
    env = clean_env()
    loaded = run(
        installed / "bin" / "python",
        "-c",
        "import switchboard.bot.cli, switchboard.store.engine as e; print(e.__file__)",
        cwd=where,
        env=env,
    )
    assert Path(loaded.strip()).is_relative_to(site), "the repository's copy was imported"

    shown = run(
        installed / "bin" / "switchboard", "demo", "--date", "2026-03-16", cwd=where, env=env
    )
    assert "Northwind Growth" in shown
    assert "Next:" in shown
    assert list(where.iterdir()) == [], "the demo writes nothing in the working directory"
