"""docs/data.md and docs/manifest.md, checked against the models the code uses.

The docs are written by hand, for an agency's operations lead. These tests read their tables
and examples and compare them with the pydantic models behind the importer and the manifest
loader: every CSV column and manifest key, its required flag, default, format and allowed
values. A column or key added to a model without a row in the docs fails here, with a message
naming the row to write and the section it belongs in. The examples must import and load,
and the error examples must be what the code prints.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin
from zoneinfo import ZoneInfo

import pytest
import yaml
from pydantic import BaseModel, TypeAdapter
from pydantic.fields import FieldInfo
from sqlalchemy import Engine
from typer.testing import CliRunner

from switchboard.bot.cli import app
from switchboard.store import csv_rows
from switchboard.store import manifest as agency
from switchboard.store.csv_import import (
    FILE_NAMES,
    FILES,
    FileSpec,
    ImportFailed,
    import_dir,
)
from switchboard.store.csv_read import MAY_BE_EMPTY
from switchboard.store.manifest import AgencyManifest, ManifestError, parse_manifest
from switchboard.store.slack_ids import USER_ID
from switchboard.store.zones import iana_zone
from tests.conftest import EXAMPLE_MANIFEST, REPO, sqlite_store
from tests.model_fields import constraint, field_type, unwrap, validators
from tests.test_settings import VARIABLES

DATA_DOC = REPO / "docs" / "data.md"
MANIFEST_DOC = REPO / "docs" / "manifest.md"
DATA_COLUMNS = ("column", "required", "format", "meaning")
MANIFEST_COLUMNS = ("key", "type", "default", "meaning")
FORMAT_COLUMNS = ("format", "how to write it", "example")


# -- reading the docs ---------------------------------------------------------------------


def sections(text: str) -> dict[str, str]:
    """`## heading` -> the text under it (the heading without its backticks)."""
    parts = re.split(r"^## (.+)$", text, flags=re.MULTILINE)[1:]
    return {
        heading.strip().strip("`"): body
        for heading, body in zip(parts[0::2], parts[1::2], strict=True)
    }


def table(body: str, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """The rows of the table with these column headings in `body` (none: an empty list)."""
    lines = body.splitlines()
    heading = "| " + " | ".join(columns) + " |"
    if heading not in lines:
        return []
    rows = []
    for line in lines[lines.index(heading) + 2 :]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        assert len(cells) == len(columns), f"a table row has {len(cells)} cells: {line}"
        rows.append(dict(zip(columns, cells, strict=True)))
    return rows


def code_blocks(body: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", body, flags=re.MULTILINE | re.DOTALL)


def ticked(cell: str) -> list[str]:
    """The `code` spans of a cell."""
    return re.findall(r"`([^`]+)`", cell)


def untick(cell: str) -> str:
    return cell.replace("`", "")


def format_name(cell: str, names: set[str]) -> str | None:
    """The format a cell names: the longest format name it starts with."""
    text = untick(cell)
    found = [n for n in names if text == n or text.startswith((n + " ", n + ","))]
    return max(found, key=len) if found else None


def bounds(metadata: list[Any]) -> str | None:
    """How the docs write a number's limits: `above 0`, `from 1 to 28`, `from 0`."""
    gt, ge, le = (constraint(metadata, name) for name in ("gt", "ge", "le"))
    low = f"above {gt:,}" if gt is not None else f"from {ge:,}" if ge is not None else None
    if le is not None:
        return f"{low} to {le:,}" if low else f"up to {le:,}"
    return low


def enum_values(kind: Any) -> list[str] | None:
    """The allowed words of an enum or a Literal (or a list of them), else None."""
    if get_origin(kind) is list:
        kind = unwrap(get_args(kind)[0])[0]
    if isinstance(kind, type) and issubclass(kind, Enum):
        return [member.value for member in kind]
    if get_origin(kind) is Literal:
        return list(get_args(kind))
    return None


# -- docs/data.md -------------------------------------------------------------------------

DATA = sections(DATA_DOC.read_text(encoding="utf-8"))
DATA_FORMATS = {untick(row["format"]): row for row in table(DATA["Formats"], FORMAT_COLUMNS)}
# The format each column validator stands for (csv_rows' own named types).
CSV_VALIDATORS = {
    csv_rows._identifier: "identifier",
    csv_rows._iso_date: "date",
    csv_rows._month: "month",
    csv_rows._money: "money",
    csv_rows._email: "email",
    iana_zone: "time zone",
}
CSV_PATTERNS = {USER_ID: "Slack user id", r"^[A-Z]{3}$": "currency code"}


def csv_format(field: FieldInfo) -> str:
    """The docs' format name for a column, worked out from its model field."""
    kind, metadata, _ = field_type(field)
    named = {CSV_VALIDATORS[f] for f in validators(metadata) if f in CSV_VALIDATORS}
    pattern = constraint(metadata, "pattern")
    if named:
        (name,) = named
        return name
    if pattern is not None:
        assert pattern in CSV_PATTERNS, f"a column with pattern {pattern}: name its format here"
        return CSV_PATTERNS[pattern]
    if isinstance(kind, type) and issubclass(kind, Enum):
        return "one of"
    simple = {datetime: "date and time", int: "whole number", str: "text"}
    assert kind in simple, f"a column of type {kind}: name its format here and in docs/data.md"
    return simple[kind]


def data_rows(spec: FileSpec) -> list[dict[str, str]]:
    assert spec.name in DATA, f"docs/data.md: add a section '## `{spec.name}`'"
    return table(DATA[spec.name], DATA_COLUMNS)


def test_data_doc_has_a_section_per_import_file_in_import_order() -> None:
    documented = [name for name in DATA if name.endswith(".csv")]
    assert documented == list(FILE_NAMES), (
        f"docs/data.md: the file sections are {documented}; the importer reads {FILE_NAMES}"
    )


@pytest.mark.parametrize("spec", FILES, ids=lambda s: s.name)
def test_data_doc_lists_every_column_of_the_file(spec: FileSpec) -> None:
    documented = [untick(row["column"]) for row in data_rows(spec)]
    missing = [c for c in spec.columns if c not in documented]
    extra = [c for c in documented if c not in spec.columns]
    assert not missing, (
        f"docs/data.md, section `{spec.name}`: add a row for column(s) {missing} "
        f"({spec.row.__name__} has them)"
    )
    assert not extra, f"docs/data.md, `{spec.name}`: {spec.row.__name__} has no column {extra}"
    assert documented == spec.columns, f"docs/data.md, `{spec.name}`: list them in file order"


@pytest.mark.parametrize("spec", FILES, ids=lambda s: s.name)
def test_data_doc_says_which_columns_are_required(spec: FileSpec) -> None:
    for row in data_rows(spec):
        column, cell = untick(row["column"]), row["required"]
        expected = "yes" if column in spec.required else "no"
        if column in MAY_BE_EMPTY:
            expected += ", may be empty"
        assert cell == expected, (
            f"docs/data.md, `{spec.name}`, `{column}`: required is {expected!r}"
        )


@pytest.mark.parametrize("spec", FILES, ids=lambda s: s.name)
def test_data_doc_gives_each_column_its_format(spec: FileSpec) -> None:
    for row in data_rows(spec):
        column, cell = untick(row["column"]), row["format"]
        field = spec.row.model_fields[column]
        kind, metadata, _ = field_type(field)
        expected = csv_format(field)
        where = f"docs/data.md, `{spec.name}`, `{column}`"
        assert format_name(cell, set(DATA_FORMATS)) == expected, f"{where}: format is {expected}"
        if expected == "one of":
            assert ticked(cell) == enum_values(kind), f"{where}: allowed {enum_values(kind)}"
        if expected == "text":
            limit = constraint(metadata, "max_length")
            assert f"up to {limit:,} characters" in cell, f"{where}: say 'up to {limit:,}'"
        if expected == "whole number" and bounds(metadata):
            phrase = bounds(metadata).removeprefix("from ")  # type: ignore[union-attr]
            assert phrase in cell, f"{where}: say '{phrase}'"


def test_data_doc_defines_exactly_the_formats_the_columns_use() -> None:
    used = {csv_format(f) for spec in FILES for f in spec.row.model_fields.values()}
    assert set(DATA_FORMATS) == used, f"docs/data.md, Formats: the columns use {sorted(used)}"


@pytest.mark.parametrize("spec", FILES, ids=lambda s: s.name)
def test_data_doc_names_the_key_of_each_file(spec: FileSpec) -> None:
    (line,) = [ln for ln in DATA[spec.name].split("\n\n") if "**Key:**" in ln]
    key = ticked(line.split("**Key:**")[1].split("(")[0].split(":")[0])
    assert tuple(key) == spec.key, f"docs/data.md, `{spec.name}`: the key is {spec.key}"


@pytest.mark.parametrize("spec", FILES, ids=lambda s: s.name)
def test_data_doc_says_what_each_reference_must_name(spec: FileSpec) -> None:
    for row in data_rows(spec):
        column, meaning = untick(row["column"]), row["meaning"]
        for kind, referring, file in (
            ("client", spec.clients, "clients.csv"),
            ("account", spec.accounts, "ad_accounts.csv"),
        ):
            names_it = f"from `{file}`" in meaning
            expected = column == referring
            assert names_it == expected, f"docs/data.md, `{spec.name}`, `{column}`: " + (
                f"say the {kind} comes from `{file}`" if expected else f"names `{file}`"
            )


def data_examples() -> dict[str, str]:
    return {spec.name: code_blocks(DATA[spec.name], "csv")[0] for spec in FILES}


@pytest.mark.parametrize("spec", FILES, ids=lambda s: s.name)
def test_each_example_shows_every_column(spec: FileSpec) -> None:
    header = next(csv.reader(io.StringIO(data_examples()[spec.name])))
    assert header == spec.columns


def write_examples(directory: Path, **replace: str) -> Path:
    directory.mkdir()
    for name, text in {**data_examples(), **replace}.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


def test_the_examples_import_together(engine: Engine, tmp_path: Path) -> None:
    folder = write_examples(tmp_path / "data")
    try:
        now = datetime(2026, 3, 16, 9, 0, tzinfo=ZoneInfo("America/New_York"))
        report = import_dir(engine, folder, ZoneInfo("America/New_York"), now=now, today=now.date())
    except ImportFailed as failure:
        pytest.fail(
            "docs/data.md: the examples do not import:\n" + "\n".join(map(str, failure.problems))
        )
    records = {
        name: sum(1 for _ in csv.reader(io.StringIO(text))) - 1  # less the header
        for name, text in data_examples().items()
    }
    assert report.rows == records


@pytest.fixture
def quiet_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_the_error_example_is_what_import_prints(
    sqlite_template: Path, tmp_path: Path, quiet_environment: None
) -> None:
    errors = DATA["Errors"]
    (bad_spend,) = code_blocks(errors, "csv")
    (printed,) = code_blocks(errors, "text")
    folder = write_examples(tmp_path / "data", **{"spend.csv": bad_spend})
    url, engine = sqlite_store(sqlite_template, tmp_path)
    engine.dispose()
    result = CliRunner().invoke(
        app, ["--db", url, "--manifest", str(EXAMPLE_MANIFEST), "import", str(folder)]
    )
    assert result.exit_code == 2
    assert result.stderr == printed


def test_import_help_names_every_file_and_points_to_the_docs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "300")
    result = CliRunner().invoke(app, ["import", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())  # help wraps at 80 columns, between words
    for name in FILE_NAMES:
        assert name in text
    assert "docs/data.md" in text
    assert "switchboard init DIR" in text


# -- links -------------------------------------------------------------------------------

USER_DOCS = [REPO / "README.md", DATA_DOC, MANIFEST_DOC]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(path: Path) -> set[str]:
    """GitHub's anchors for a Markdown file's headings."""
    headings = re.findall(r"^#+ (.+)$", path.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("page", USER_DOCS, ids=lambda p: p.name)
def test_user_docs_only_point_inside_the_repository(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert "../shared" not in text and "DESIGN" not in text, f"{page.name}: users have no shared/"
    for target in LINK.findall(text):
        if re.match(r"^[a-z]+:", target):
            continue  # a web address
        file, _, anchor = target.partition("#")
        linked = (page.parent / file).resolve() if file else page
        assert linked.is_relative_to(REPO) and linked.exists(), f"{page.name}: {target}"
        if anchor:
            assert anchor in anchors(linked), f"{page.name}: {target}: no such heading"


# -- docs/manifest.md ---------------------------------------------------------------------

MANIFEST = sections(MANIFEST_DOC.read_text(encoding="utf-8"))
MANIFEST_FORMATS = {untick(row["format"]) for row in table(MANIFEST["Formats"], FORMAT_COLUMNS)}
MANIFEST_VALIDATORS = {
    iana_zone: "time zone",
    agency._cron: "cron",
    agency._duration: "duration",
}
MANIFEST_PATTERNS = {
    agency.SLACK_USER_ID: "Slack user id",
    agency.SLACK_CHANNEL_ID: "Slack channel id",
}
PLACEHOLDER = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Key:
    path: str  # `people[].lead`, `domains.<name>.owner`
    model: type[BaseModel]
    name: str
    field: FieldInfo

    @property
    def section(self) -> str:
        return re.split(r"[.\[]", self.path)[0]


def _model_in(kind: Any) -> tuple[type[BaseModel], str] | None:
    """The model a field holds, and how its keys continue the path: `.`, `[].`, `.<name>.`."""
    kind = unwrap(kind)[0]
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return kind, "."
    if get_origin(kind) is list:
        inner = _model_in(get_args(kind)[0])
        return (inner[0], "[]" + inner[1]) if inner else None
    if get_origin(kind) is dict:
        inner = _model_in(get_args(kind)[1])
        return (inner[0], ".<name>" + inner[1]) if inner else None
    return None


def manifest_keys(model: type[BaseModel] = AgencyManifest, prefix: str = "") -> list[Key]:
    """Every key path of the manifest, depth first, in the models' order."""
    keys = []
    for name, field in model.model_fields.items():
        keys.append(Key(prefix + name, model, name, field))
        inner = _model_in(field.annotation)
        if inner:
            keys.extend(manifest_keys(inner[0], prefix + name + inner[1]))
    return keys


def manifest_rows() -> dict[str, tuple[str, dict[str, str]]]:
    """Documented key path (placeholders as `<name>`) -> (its section, its row)."""
    rows: dict[str, tuple[str, dict[str, str]]] = {}
    for heading, body in MANIFEST.items():
        for row in table(body, MANIFEST_COLUMNS):
            path = PLACEHOLDER.sub("<name>", untick(row["key"]))
            assert path not in rows, f"docs/manifest.md documents `{path}` twice"
            rows[path] = (heading, row)
    return rows


def manifest_type(field: FieldInfo) -> str | None:
    """The start of the type the docs must give a key, from its model field (None: free)."""
    kind, metadata, _ = field_type(field)
    named = [MANIFEST_VALIDATORS[f] for f in validators(metadata) if f in MANIFEST_VALIDATORS]
    pattern = constraint(metadata, "pattern")
    origin = get_origin(kind) or kind
    if named:
        return named[0]
    if pattern is not None:
        return MANIFEST_PATTERNS[pattern]
    if enum_values(kind) is not None:
        return "list of" if origin is list else "one of"
    if isinstance(origin, type) and issubclass(origin, BaseModel):
        return "section"
    words = {
        list: "list of",
        dict: "map of",
        Decimal: "number",
        int: "whole number",
        date: "date",
        time: "time",
    }
    return words.get(origin)


def test_manifest_doc_documents_every_key() -> None:
    documented = manifest_rows()
    missing = [
        f"`{key.path}` ({key.model.__name__}.{key.name}) in the table under '## `{key.section}`'"
        for key in manifest_keys()
        if key.path not in documented
    ]
    assert not missing, "docs/manifest.md: add a row for " + "; ".join(missing)
    known = {key.path for key in manifest_keys()}
    extra = [path for path in documented if path not in known]
    assert not extra, f"docs/manifest.md documents {extra}: AgencyManifest has no such key"


def test_manifest_doc_lists_keys_in_their_sections_in_model_order() -> None:
    rows = manifest_rows()
    for key in manifest_keys():
        section = rows[key.path][0] if key.path in rows else key.section
        assert section == key.section, (
            f"docs/manifest.md: move `{key.path}` to '## `{key.section}`'"
        )
    known = [key.path for key in manifest_keys()]
    assert [p for p in rows if p in known] == [p for p in known if p in rows], "model order"


def doc_row(key: Key) -> dict[str, str]:
    found = manifest_rows().get(key.path)
    if found is None:
        pytest.fail(f"docs/manifest.md: add a row for `{key.path}` under '## `{key.section}`'")
    return found[1]


def expected_default(key: Key) -> str | None:
    """What the default cell must read, or None for a value to compare as YAML."""
    if key.field.is_required():
        return "required"
    if key.field.default is None:
        return "unset"
    if isinstance(key.field.default, BaseModel):
        return "defaults below"
    return None


@pytest.mark.parametrize("key", manifest_keys(), ids=lambda k: k.path)
def test_manifest_doc_gives_each_default(key: Key) -> None:
    cell = doc_row(key)["default"]
    where = f"docs/manifest.md, `{key.path}`"
    expected = expected_default(key)
    if expected is not None:
        assert cell == expected, f"{where}: the default is {expected!r}"
        return
    (text,) = re.fullmatch(r"`([^`]+)`", cell).groups()  # type: ignore[union-attr]
    _, metadata, _ = field_type(key.field)
    annotation = key.field.annotation
    adapter = TypeAdapter(Annotated[(annotation, *metadata)] if metadata else annotation)
    documented = adapter.validate_python(yaml.safe_load(text))
    assert documented == key.field.default, f"{where}: the default is {key.field.default!r}"


@pytest.mark.parametrize("key", manifest_keys(), ids=lambda k: k.path)
def test_manifest_doc_gives_each_type(key: Key) -> None:
    cell = doc_row(key)["type"]
    where = f"docs/manifest.md, `{key.path}`"
    kind, metadata, _ = field_type(key.field)
    expected = manifest_type(key.field)
    if expected is not None:
        assert untick(cell).startswith(expected), f"{where}: the type starts with {expected!r}"
    values = enum_values(kind)
    if values is not None:
        assert ticked(cell) == values, f"{where}: the allowed values are {values}"
    limits = bounds(metadata)
    if limits is not None:
        assert limits in cell, f"{where}: say '{limits}'"
    if get_origin(kind) is list and constraint(metadata, "min_length") == 1:
        assert "at least one" in cell, f"{where}: say 'at least one'"


def test_manifest_doc_defines_exactly_the_formats_its_keys_use() -> None:
    formats = {*MANIFEST_VALIDATORS.values(), *MANIFEST_PATTERNS.values(), "date", "time"}
    used = {manifest_type(key.field) for key in manifest_keys()} & formats
    assert used == MANIFEST_FORMATS, f"docs/manifest.md, Formats: the keys use {sorted(used)}"


def test_manifest_doc_example_is_the_example_manifest() -> None:
    (example,) = code_blocks(MANIFEST["Example"], "yaml")
    data = yaml.safe_load(example)
    assert data == yaml.safe_load(EXAMPLE_MANIFEST.read_text(encoding="utf-8"))
    parse_manifest(data, "docs/manifest.md")


def test_manifest_doc_error_example_is_what_the_loader_says() -> None:
    intro = MANIFEST_DOC.read_text(encoding="utf-8").split("\n## ")[0]
    (printed,) = code_blocks(intro, "text")
    data = yaml.safe_load(EXAMPLE_MANIFEST.read_text(encoding="utf-8"))
    data["agents"]["drafting"]["autonomy"] = "autonomus"
    with pytest.raises(ManifestError) as failure:
        parse_manifest(data, "agency.yaml")
    assert [f"{failure.value.source}: {p}" for p in failure.value.problems] == printed.splitlines()
