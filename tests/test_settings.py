"""Settings from the environment and .env (DESIGN section 4): one clear line, no secrets shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from switchboard.bot.settings import BUNDLED_MANIFESTS, Settings, SettingsError, load_settings

VARIABLES = [
    "DATABASE_URL",
    "SWITCHBOARD_MANIFEST",
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_API_URL",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "SWITCHBOARD_MODEL",
    "EMAIL_BACKEND",
    "SMTP_URL",
    "EMAIL_FROM",
    "EMAIL_FILE_DIR",
    # Field names that are not the documented variables: they must never be read.
    "MODEL",
    "MANIFEST",
]
BOT_TOKEN = "xoxb-1234-TOPSECRETBOTTOKEN"
APP_TOKEN = "xapp-1-TOPSECRETAPPTOKEN"
SIGNING_SECRET = "TOPSECRETSIGNINGSECRET"
API_KEY = "sk-ant-TOPSECRETAPIKEY"
SECRETS = [BOT_TOKEN, APP_TOKEN, SIGNING_SECRET, API_KEY]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No variable from the developer's shell, and no .env but the test's own."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def set_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_APP_TOKEN", APP_TOKEN)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("ANTHROPIC_API_KEY", API_KEY)


def test_defaults() -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite:///switchboard.db"
    assert settings.switchboard_manifest == Path("manifests/agency.example.yaml")
    assert settings.slack_bot_token is None
    assert settings.slack_app_token is None
    assert settings.slack_signing_secret is None
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.anthropic_api_key is None
    assert settings.anthropic_base_url is None
    assert settings.email_backend == "file"
    assert settings.smtp_url is None
    assert settings.email_from is None
    assert settings.email_file_dir == Path("outbox-mail")


def test_the_default_manifest_is_found_beside_the_code_from_any_directory() -> None:
    assert load_settings().manifest_path == BUNDLED_MANIFESTS / "agency.example.yaml"
    assert load_settings().manifest_path.is_file()


def test_a_manifest_in_the_working_directory_wins_over_the_bundled_one(tmp_path: Path) -> None:
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / "agency.example.yaml").write_text("agency: local\n")
    assert load_settings().manifest_path == Path("manifests/agency.example.yaml")


def test_a_manifest_that_does_not_exist_is_not_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_MANIFEST", "elsewhere/agency.yaml")
    assert load_settings().manifest_path == Path("elsewhere/agency.yaml")


def test_every_variable_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    set_secrets(monkeypatch)
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.internal/switchboard")
    monkeypatch.setenv("SWITCHBOARD_MANIFEST", "/etc/switchboard/agency.yaml")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9999/api/")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9998")
    monkeypatch.setenv("SWITCHBOARD_MODEL", "claude-test")
    monkeypatch.setenv("EMAIL_BACKEND", "smtp")
    monkeypatch.setenv("SMTP_URL", "smtp://127.0.0.1:2525")
    monkeypatch.setenv("EMAIL_FROM", "ops@agency.example")
    monkeypatch.setenv("EMAIL_FILE_DIR", "/var/mail/out")
    settings = load_settings()
    assert settings.database_url == "postgresql://db.internal/switchboard"
    assert settings.manifest_path == Path("/etc/switchboard/agency.yaml")
    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.get_secret_value() == BOT_TOKEN
    assert settings.slack_app_token is not None
    assert settings.slack_app_token.get_secret_value() == APP_TOKEN
    assert settings.slack_signing_secret is not None
    assert settings.slack_signing_secret.get_secret_value() == SIGNING_SECRET
    assert settings.anthropic_api_key is not None
    assert settings.anthropic_api_key.get_secret_value() == API_KEY
    assert settings.slack_api_url == "http://127.0.0.1:9999/api/"
    assert settings.anthropic_base_url == "http://127.0.0.1:9998"
    assert settings.switchboard_model == "claude-test"
    assert (settings.email_backend, settings.smtp_url) == ("smtp", "smtp://127.0.0.1:2525")
    assert settings.email_from == "ops@agency.example"
    assert settings.email_file_dir == Path("/var/mail/out")


def test_only_the_documented_names_are_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`MODEL` and `MANIFEST` are common in shells and belong to other tools."""
    monkeypatch.setenv("MODEL", "someone-elses-model")
    monkeypatch.setenv("MANIFEST", "/someone/elses.yaml")
    (tmp_path / ".env").write_text("MODEL=also-not-ours\n")
    settings = load_settings()
    assert settings.switchboard_model == "claude-sonnet-4-5"
    assert settings.switchboard_manifest == Path("manifests/agency.example.yaml")


def test_dot_env_is_read_and_the_environment_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text(
        "DATABASE_URL=sqlite:///from-dotenv.db\nSWITCHBOARD_MODEL=from-dotenv\n"
    )
    assert load_settings().database_url == "sqlite:///from-dotenv.db"
    monkeypatch.setenv("DATABASE_URL", "sqlite:///from-env.db")
    settings = load_settings()
    assert (settings.database_url, settings.switchboard_model) == (
        "sqlite:///from-env.db",
        "from-dotenv",
    )


def test_overrides_win_over_the_environment_and_none_is_no_override(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "sqlite:///from-env.db")
    monkeypatch.setenv("SWITCHBOARD_MANIFEST", "env.yaml")
    settings = load_settings(
        database_url="sqlite:///from-flag.db", switchboard_manifest=Path("flag.yaml")
    )
    assert (settings.database_url, settings.switchboard_manifest) == (
        "sqlite:///from-flag.db",
        Path("flag.yaml"),
    )
    settings = load_settings(database_url=None, switchboard_manifest=None)
    assert (settings.database_url, settings.switchboard_manifest) == (
        "sqlite:///from-env.db",
        Path("env.yaml"),
    )


@pytest.mark.parametrize("value", ["pigeon", "SMTP ", "", "smtp,file"])
def test_invalid_email_backend_fails_with_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    set_secrets(monkeypatch)
    monkeypatch.setenv("EMAIL_BACKEND", value)
    with pytest.raises(SettingsError) as failure:
        load_settings()
    message = str(failure.value)
    assert message.startswith("EMAIL_BACKEND: ")
    assert "\n" not in message
    assert "'smtp'" in message and "'file'" in message
    for secret in SECRETS:
        assert secret not in message
    assert failure.value.__cause__ is None  # the pydantic error (with inputs) is not chained
    assert failure.value.__suppress_context__


def test_an_invalid_dot_env_value_names_the_variable(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("EMAIL_BACKEND=carrier-pigeon\n")
    with pytest.raises(SettingsError, match=r"^EMAIL_BACKEND: "):
        load_settings()


def test_secrets_never_appear_in_repr_or_str(monkeypatch: pytest.MonkeyPatch) -> None:
    set_secrets(monkeypatch)
    settings = load_settings()
    shown = [
        repr(settings),
        str(settings),
        str(settings.model_dump()),
        settings.model_dump_json(),
    ]
    for text in shown:
        for secret in SECRETS:
            assert secret not in text
    assert isinstance(settings.slack_bot_token, SecretStr)
    assert isinstance(settings.anthropic_api_key, SecretStr)
    assert "**********" in repr(settings)


def test_require_slack_needs_a_bot_token() -> None:
    with pytest.raises(SettingsError) as failure:
        load_settings().require_slack()
    assert str(failure.value) == "SLACK_BOT_TOKEN: required to run the Slack app (xoxb-...)"


def test_require_slack_needs_a_bot_token_of_the_right_kind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxp-TOPSECRETUSERTOKEN")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    with pytest.raises(SettingsError) as failure:
        load_settings().require_slack()
    assert str(failure.value) == "SLACK_BOT_TOKEN: must be a bot token starting with xoxb-"
    assert "TOPSECRET" not in str(failure.value)


def test_require_slack_in_http_mode_needs_the_signing_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    with pytest.raises(SettingsError) as failure:
        load_settings().require_slack()
    assert str(failure.value) == (
        "SLACK_SIGNING_SECRET: required in HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)"
    )
    assert BOT_TOKEN not in str(failure.value)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    load_settings().require_slack()  # HTTP mode, complete


def test_require_slack_in_socket_mode_needs_an_app_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_APP_TOKEN", "xoxb-TOPSECRETWRONGKIND")
    with pytest.raises(SettingsError) as failure:
        load_settings().require_slack()
    assert str(failure.value) == "SLACK_APP_TOKEN: must be an app-level token starting with xapp-"
    assert "TOPSECRET" not in str(failure.value)
    monkeypatch.setenv("SLACK_APP_TOKEN", APP_TOKEN)
    load_settings().require_slack()  # Socket Mode needs no signing secret


def test_settings_may_be_built_by_field_name() -> None:
    """Tests and the composition root pass field names; they win over nothing else."""
    settings = Settings(slack_bot_token=SecretStr(BOT_TOKEN), slack_signing_secret=None)
    assert settings.slack_bot_token is not None
    with pytest.raises(SettingsError, match=r"^SLACK_SIGNING_SECRET: "):
        settings.require_slack()
