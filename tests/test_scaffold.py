"""`switchboard init DIR`: a manifest that loads, empty CSV files that import, nothing clobbered."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner, Result

from switchboard.bot.cli import app
from switchboard.bot.scaffold import MANIFEST_TEMPLATE
from switchboard.store.csv_import import FILE_NAMES, FILES
from switchboard.store.manifest import AgencyManifest, load_manifest
from tests.conftest import sqlite_store
from tests.test_docs import manifest_keys
from tests.test_settings import VARIABLES


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No variable from the developer's shell, no .env, and a working directory of our own."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def written_by_init(folder: Path) -> list[Path]:
    return [folder / "agency.yaml", *(folder / "data" / name for name in FILE_NAMES)]


def test_init_writes_a_manifest_that_loads_and_a_header_only_csv_of_each_kind(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "northwind"
    result = invoke("init", str(folder))
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    wrote = [line for line in result.stdout.splitlines() if line.startswith("wrote ")]
    assert wrote == [f"wrote {path}" for path in written_by_init(folder)]
    assert isinstance(load_manifest(folder / "agency.yaml"), AgencyManifest)
    for spec in FILES:
        text = (folder / "data" / spec.name).read_text(encoding="utf-8")
        assert list(csv.reader(io.StringIO(text))) == [spec.columns], spec.name


def test_the_files_init_writes_import_as_they_are(tmp_path: Path, sqlite_template: Path) -> None:
    invoke("init", "agency")
    url, engine = sqlite_store(sqlite_template, tmp_path)
    engine.dispose()
    result = invoke("--db", url, "--manifest", "agency/agency.yaml", "import", "agency/data")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"{name}: 0 rows" for name in FILE_NAMES]


def test_init_says_what_to_do_next_with_this_folders_paths() -> None:
    result = invoke("init", "my agency")
    assert result.exit_code == 0
    steps = result.stdout.split("Next steps:")[1]
    assert "Edit 'my agency/agency.yaml'" in steps
    assert "Fill the CSV files in 'my agency/data'" in steps
    assert "switchboard --manifest 'my agency/agency.yaml' import 'my agency/data'" in steps
    for pointer in ("docs/manifest.md", "docs/data.md", "switchboard demo"):
        assert pointer in steps


def test_init_refuses_to_overwrite_a_file_and_writes_nothing(tmp_path: Path) -> None:
    spend = tmp_path / "agency" / "data" / "spend.csv"
    spend.parent.mkdir(parents=True)
    spend.write_text("account_id,date,spend\nA1,2026-03-01,5\n")
    result = invoke("init", "agency")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "agency/data/spend.csv already exists; nothing was written (--force overwrites them)"
    ]
    assert spend.read_text() == "account_id,date,spend\nA1,2026-03-01,5\n"
    assert sorted(p.name for p in (tmp_path / "agency").rglob("*") if p.is_file()) == ["spend.csv"]


def test_a_second_init_names_the_first_existing_file_in_one_line() -> None:
    assert invoke("init", "agency").exit_code == 0
    result = invoke("init", "agency")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "agency/agency.yaml already exists (and 7 more of the files init writes); "
        "nothing was written (--force overwrites them)"
    ]


def test_init_force_overwrites_the_files_it_writes_and_nothing_else(tmp_path: Path) -> None:
    folder = tmp_path / "agency"
    (folder / "data").mkdir(parents=True)
    (folder / "agency.yaml").write_text("agency: mine\n")
    (folder / "data" / "spend.csv").write_text("old\n")
    (folder / "data" / "notes.txt").write_text("keep me\n")
    result = invoke("init", "--force", str(folder))
    assert result.exit_code == 0, result.output
    assert (folder / "agency.yaml").read_text() == MANIFEST_TEMPLATE
    assert (folder / "data" / "spend.csv").read_text() == "account_id,date,spend,leads\n"
    assert (folder / "data" / "notes.txt").read_text() == "keep me\n"


def test_init_into_a_file_exits_2_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("")
    result = invoke("init", "taken")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == ["taken is a file, not a folder; nothing was written"]


# -- the manifest template ----------------------------------------------------------------


def holds(data: Any, path: str) -> bool:
    """Whether some entry of `data` has this key path (`people[].lead`, `domains.<name>.x`)."""
    if not path:
        return True
    if path.startswith("[]"):
        return isinstance(data, list) and any(holds(item, path[2:]) for item in data)
    path = path.removeprefix(".")
    if path.startswith("<name>"):
        rest = path.removeprefix("<name>")
        return isinstance(data, dict) and any(holds(item, rest) for item in data.values())
    key, _, _ = path.partition(".")
    key = key.split("[")[0]
    return isinstance(data, dict) and key in data and holds(data[key], path[len(key) :])


def test_holds_follows_lists_and_named_entries() -> None:
    data = {"people": [{"name": "a"}, {"lead": "U1"}], "domains": {"x": {"agent": "p"}}}
    assert holds(data, "people[].lead")
    assert holds(data, "domains.<name>.agent")
    assert not holds(data, "people[].roles")
    assert not holds(data, "domains.<name>.owner")
    assert not holds(data, "pacing.over_pct")


def test_the_template_shows_every_key_of_the_manifest() -> None:
    data = yaml.safe_load(MANIFEST_TEMPLATE)
    missing = [key.path for key in manifest_keys() if not holds(data, key.path)]
    assert not missing, f"bot/scaffold.py: show {missing} in MANIFEST_TEMPLATE, with a comment"


def test_every_section_of_the_template_has_a_comment_above_it() -> None:
    lines = MANIFEST_TEMPLATE.splitlines()
    for i, line in enumerate(lines):
        if line and not line.startswith((" ", "#", "-")):
            above = next(ln for ln in reversed(lines[:i]) if ln.strip())
            assert above.startswith("#"), f"no comment above `{line}`"
