"""Process settings from the environment and `.env`, read once (DESIGN section 4)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_MANIFESTS = Path(__file__).resolve().parent.parent / "manifests"


class SettingsError(Exception):
    """One line naming the variable and what is wrong with it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    database_url: str = Field(
        "sqlite:///switchboard.db", validation_alias=AliasChoices("DATABASE_URL")
    )
    manifest: Path = Field(
        Path("manifests/agency.example.yaml"), validation_alias=AliasChoices("SWITCHBOARD_MANIFEST")
    )
    slack_bot_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SLACK_BOT_TOKEN")
    )
    slack_app_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SLACK_APP_TOKEN")
    )
    slack_signing_secret: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SLACK_SIGNING_SECRET")
    )
    slack_api_url: str = Field(
        "https://slack.com/api/", validation_alias=AliasChoices("SLACK_API_URL")
    )
    anthropic_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("ANTHROPIC_API_KEY")
    )
    anthropic_base_url: str | None = Field(
        None, validation_alias=AliasChoices("ANTHROPIC_BASE_URL")
    )
    model: str = Field("claude-sonnet-4-5", validation_alias=AliasChoices("SWITCHBOARD_MODEL"))
    email_backend: Literal["smtp", "file"] = Field(
        "file", validation_alias=AliasChoices("EMAIL_BACKEND")
    )
    smtp_url: str | None = Field(None, validation_alias=AliasChoices("SMTP_URL"))
    email_from: str | None = Field(None, validation_alias=AliasChoices("EMAIL_FROM"))
    email_file_dir: Path = Field(
        Path("outbox-mail"), validation_alias=AliasChoices("EMAIL_FILE_DIR")
    )

    @property
    def manifest_path(self) -> Path:
        """The manifest; the default one is found beside the code when run from elsewhere."""
        if self.manifest.exists() or self.manifest.is_absolute():
            return self.manifest
        bundled = REPO_MANIFESTS / self.manifest.name
        return (
            bundled
            if self.manifest.parent == Path("manifests") and bundled.exists()
            else self.manifest
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


_FIELD_ENV = {
    name: field.validation_alias.choices[0]  # type: ignore[union-attr]
    for name, field in Settings.model_fields.items()
}


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment; overrides (CLI flags) win. Raises SettingsError."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as error:
        first = error.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else ""
        variable = _FIELD_ENV.get(field, field.upper())
        message = first["msg"].removeprefix("Value error, ")
        # Never echo the offending value: it may be a secret.
        raise SettingsError(f"{variable}: {message}") from None
