"""Process settings from the environment and `.env`, read once (DESIGN section 4)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The manifests shipped with the package (the repository's manifests/ in an editable install).
BUNDLED_MANIFESTS = Path(str(files("switchboard.manifests")))


class SettingsError(Exception):
    """One line naming the variable and what is wrong with it."""


class Settings(BaseSettings):
    # Field names are the variable names (matched case-insensitively): nothing else in the
    # environment is read, and code builds Settings(database_url=...) by the same names.
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = "sqlite:///switchboard.db"
    switchboard_manifest: Path = Path("manifests/agency.example.yaml")
    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    anthropic_api_key: SecretStr | None = None
    anthropic_base_url: str | None = None
    switchboard_model: str = "claude-sonnet-4-5"
    email_backend: Literal["smtp", "file"] = "file"
    smtp_url: str | None = None
    email_from: str | None = None
    email_file_dir: Path = Path("outbox-mail")

    @field_validator("slack_api_url")
    @classmethod
    def _web_api_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("not an http(s) URL such as https://slack.com/api/")
        # slack_sdk appends the method name to it: without the slash, auth.test would be
        # requested at .../apiauth.test
        return value if value.endswith("/") else value + "/"

    @property
    def manifest_path(self) -> Path:
        """The manifest; the default one is found beside the code when run from elsewhere."""
        if self.switchboard_manifest.exists() or self.switchboard_manifest.is_absolute():
            return self.switchboard_manifest
        bundled = BUNDLED_MANIFESTS / self.switchboard_manifest.name
        return (
            bundled
            if self.switchboard_manifest.parent == Path("manifests") and bundled.exists()
            else self.switchboard_manifest
        )

    def require_slack(self) -> None:
        """`run` needs a bot token, and a signing secret unless it uses Socket Mode."""
        if self.slack_bot_token is None:
            raise SettingsError("SLACK_BOT_TOKEN: required to run the Slack app (xoxb-...)")
        if not self.slack_bot_token.get_secret_value().startswith("xoxb-"):
            raise SettingsError("SLACK_BOT_TOKEN: must be a bot token starting with xoxb-")
        if self.slack_app_token is not None:
            if not self.slack_app_token.get_secret_value().startswith("xapp-"):
                raise SettingsError(
                    "SLACK_APP_TOKEN: must be an app-level token starting with xapp-"
                )
        elif self.slack_signing_secret is None:
            raise SettingsError(
                "SLACK_SIGNING_SECRET: required in HTTP mode "
                "(or set SLACK_APP_TOKEN for Socket Mode)"
            )


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment; overrides (CLI flags) win. Raises SettingsError."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as error:
        first = error.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else ""
        variable = field.upper()
        message = first["msg"].removeprefix("Value error, ")
        # Never echo the offending value: it may be a secret.
        raise SettingsError(f"{variable}: {message}") from None
