"""Settings read from the environment (prefix DONDOC_) and the .env file of dondoc's home."""

from __future__ import annotations

import datetime as dt
import math
import os
import string
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from sqlalchemy import make_url

HOME_VARIABLE = "DONDOC_HOME"
ENV_FILE = ".env"


def home_from_environment() -> Path:
    """dondoc's home: DONDOC_HOME, else the current directory (a checkout, a developer's shell).

    Read from the process environment only, never from a .env file: it says where that file is.
    """
    value = os.environ.get(HOME_VARIABLE, "").strip()
    return Path(value) if value else Path.cwd()


class HomeEnvFile(DotEnvSettingsSource):
    """The .env file, looked up in dondoc's home rather than in the current directory."""

    def __init__(
        self, settings_cls: type[BaseSettings], given: DotEnvSettingsSource, home: Path
    ) -> None:
        env_file = given.env_file
        if isinstance(env_file, str | Path) and not Path(env_file).is_absolute():
            env_file = home / env_file
        super().__init__(settings_cls, env_file=env_file, env_file_encoding="utf-8")

    def _load_env_vars(self) -> Mapping[str, str | None]:
        found = super()._load_env_vars()
        return {k: v for k, v in found.items() if k.upper() != HOME_VARIABLE}


class SmtpSettings(BaseModel):
    """Outgoing mail server; the password only ever lives in a SecretStr.

    No host, no e-mail: the channel (and the admin's alerts) work only when one is set.
    """

    host: str | None = None
    port: int = 25
    username: str | None = None
    password: SecretStr | None = None
    sender: str = "dondoc@localhost"
    starttls: bool = False


class ZaloSettings(BaseModel):
    """Zalo Official Account and Zalo Bot endpoints and credentials."""

    oa_api_base: str = "https://openapi.zalo.me"
    oauth_base: str = "https://oauth.zaloapp.com"
    bot_api_base: str = "https://bot-api.zaloplatforms.com"
    app_id: str | None = None
    secret_key: SecretStr | None = None
    bot_token: SecretStr | None = None
    # The first OA refresh token; each refresh rotates it and the new one lives in the database.
    oa_refresh_token: SecretStr | None = None


class EscalationSettings(BaseModel):
    """When reminders go out, how failed deliveries are retried and when they are given up."""

    work_start: dt.time = dt.time(7, 30)  # local (Asia/Ho_Chi_Minh) working hours
    work_end: dt.time = dt.time(17, 0)
    # A message not delivered within this many working days after the day it was queued is
    # given up (dead, shown to the admin), however many attempts an outage allowed.
    give_up_after_working_days: int = Field(default=3, ge=1)
    # Overdue items are chased this many working days after their deadline at most (60: the
    # latest rung a plan's ladder may set); a plan whose year report is compiled is not chased.
    chase_working_days: int = Field(default=60, ge=1)
    retry_base_seconds: int = Field(default=300, ge=1)  # doubled after each failed attempt
    retry_max_seconds: int = Field(default=6 * 3600, ge=1)


ITEM_MAX_BYTES = 50 * 1024 * 1024  # files stored for one item, each file counted once


class Settings(BaseSettings):
    """Everything dondoc reads from its environment."""

    model_config = SettingsConfigDict(
        env_prefix="DONDOC_",
        env_nested_delimiter="__",
        env_file=ENV_FILE,  # in `home`, see HomeEnvFile
        extra="ignore",
    )

    home: Path = Field(
        default_factory=home_from_environment,
        description="The fixed base: its .env is read, every relative path below resolves "
        "against it. The current directory when DONDOC_HOME is not set.",
    )
    database_url: str = Field(
        default="sqlite:///dondoc.sqlite3",
        description="SQLAlchemy URL: a SQLite file by default, postgresql+psycopg://...",
    )
    data_dir: Path = Field(default=Path("var"), description="Attachments, inbox, generated files.")
    portal_url: str = "http://127.0.0.1:8000"
    admin_token: SecretStr | None = None
    upload_max_bytes: int = Field(
        default=10 * 1024 * 1024, description="Largest request body the portal accepts (bytes)."
    )
    item_max_stored_bytes: int = Field(
        default=ITEM_MAX_BYTES,
        ge=1,
        description="Most bytes of files a unit may store for one item, all versions together.",
    )
    plan_file: Path | None = Field(default=None, description="The plan file `dondoc init` loads.")
    inbox_dir: Path | None = Field(
        default=None, description="Folder the inbox flow reads; data_dir/inbox by default."
    )
    smtp: SmtpSettings = SmtpSettings()
    zalo: ZaloSettings = ZaloSettings()
    escalation: EscalationSettings = EscalationSettings()
    admin_email: str | None = Field(
        default=None, description="Where an alert goes when a scheduled flow fails or crashes."
    )
    alert_reminder_hours: int = Field(
        default=24,
        ge=1,
        description="While a scheduled flow keeps failing, the admin is reminded this often.",
    )
    webhooks: dict[str, SecretStr] = Field(
        default_factory=dict,
        description='Named apprise json:// URLs that get every reminder, e.g. {"so": "json://..."}.',
    )
    # Prefect's own names, read like every setting (the environment, else the home's .env):
    # no URL, no Prefect for the portal's "Tổng hợp ngay" (settings/prefect.py).
    prefect_api_url: str | None = Field(
        default=None,
        validation_alias="PREFECT_API_URL",
        description="The Prefect API of the office's deployments and workers.",
    )
    prefect_api_auth_string: SecretStr | None = Field(
        default=None,
        validation_alias="PREFECT_API_AUTH_STRING",
        description='That API\'s login, "user:password".',
    )
    secret_blocks: dict[str, str] = Field(
        default_factory=dict,
        description="Settings read from Prefect Secret blocks instead of the environment, "
        '{"smtp.password": "dondoc-smtp-password"} (see settings/secrets.py).',
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        assert isinstance(dotenv_settings, DotEnvSettingsSource)
        given = getattr(init_settings, "init_kwargs", {}).get("home")  # Settings(home=...)
        home = Path(given) if given else home_from_environment()
        dotenv = HomeEnvFile(settings_cls, dotenv_settings, home)
        return init_settings, env_settings, dotenv, file_secret_settings

    @field_validator("home", mode="before")
    @classmethod
    def _blank_home_is_unset(cls, value: Any) -> Any:
        return home_from_environment() if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _anchor_paths(self) -> Settings:
        """Every relative path means "in the home": a flow run's working directory (a
        temporary folder under a process worker) never decides where data goes."""
        home = self.home
        if not home.is_absolute():
            raise ValueError(
                f"{HOME_VARIABLE} phải là đường dẫn tuyệt đối (ví dụ /var/lib/dondoc), "
                f"không phải {str(home)!r}"
            )
        self.data_dir = self.path(self.data_dir)
        if self.inbox_dir is not None:
            self.inbox_dir = self.path(self.inbox_dir)
        if self.plan_file is not None:
            self.plan_file = self.path(self.plan_file)
        self.database_url = anchored_database_url(self.database_url, home)
        return self

    def path(self, value: str | Path) -> Path:
        """A path as settings and flow parameters mean it: relative ones are in the home."""
        return self.home / Path(value).expanduser()


def anchored_database_url(url: str, home: Path) -> str:
    """A SQLite file URL with a relative path, made absolute in the home; others unchanged."""
    if not url.startswith("sqlite"):
        return url
    parsed = make_url(url)
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return url
    if Path(database).is_absolute():
        return url
    return parsed.set(database=str(home / database)).render_as_string(hide_password=False)


ADMIN_SECRET_MIN_LENGTH = 20
ADMIN_SECRET_MIN_DISTINCT = 10
ADMIN_SECRET_MIN_BITS = 100


class WeakAdminSecret(ValueError):
    """DONDOC_ADMIN_TOKEN is guessable; the message names the rule, never the value."""


def _estimated_bits(secret: str) -> float:
    """Length times log2 of the character classes used: what a guesser must cover at best."""
    classes = (string.digits, string.ascii_lowercase, string.ascii_uppercase)
    pool = sum(len(c) for c in classes if any(ch in c for ch in secret))
    if any(not any(ch in c for c in classes) for ch in secret):
        pool += 33  # punctuation and anything else
    return len(secret) * math.log2(pool) if pool else 0.0


def check_admin_secret(settings: Settings) -> None:
    """Refuse to start with a guessable admin secret (it signs in as the compiling officer)."""
    if settings.admin_token is None:
        return
    secret = settings.admin_token.get_secret_value()
    if (
        len(secret) >= ADMIN_SECRET_MIN_LENGTH
        and len(set(secret)) >= ADMIN_SECRET_MIN_DISTINCT
        and _estimated_bits(secret) >= ADMIN_SECRET_MIN_BITS
    ):
        return
    make = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
    raise WeakAdminSecret(
        f"DONDOC_ADMIN_TOKEN quá yếu: cần ít nhất {ADMIN_SECRET_MIN_LENGTH} ký tự ngẫu nhiên, "
        f"trong đó ít nhất {ADMIN_SECRET_MIN_DISTINCT} ký tự khác nhau. Tạo mã mới bằng: {make}\n"
        f"DONDOC_ADMIN_TOKEN is too weak: use at least {ADMIN_SECRET_MIN_LENGTH} random "
        f"characters ({ADMIN_SECRET_MIN_DISTINCT} or more distinct, about "
        f"{ADMIN_SECRET_MIN_BITS} bits). Make one with: {make}"
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read on first use (never at import time)."""
    settings = Settings()
    if settings.secret_blocks:
        from settings.secrets import from_secret_blocks

        settings = from_secret_blocks(settings)
    return settings
