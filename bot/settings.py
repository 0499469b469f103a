"""Settings: typed, validated, from an optional TOML file and the environment.

The environment wins over the file. Every problem is collected and reported at once,
each naming where it came from and the fix.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from feeds.catalog import CatalogError, Provider, provider_from_config

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)?\s*$")
_UNIT_SECONDS = {None: 1.0, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_SECRET_KEYS = ("slack_bot_token", "slack_app_token", "slack_signing_secret", "discord_token")


class SettingsError(ValueError):
    """The configuration is unusable; the message lists every problem and its fix."""


def default_db_path(environ: Mapping[str, str]) -> Path:
    """Where the database lives when EXITPLAN_DB is not set: the user's data folder."""
    base = environ.get("XDG_DATA_HOME") or str(Path(environ.get("HOME", ".")) / ".local/share")
    return Path(base) / "exitplan" / "exitplan.db"


@dataclass(frozen=True)
class Settings:
    """Everything exitplan can be told, with the embedded defaults."""

    db_path: Path
    config_path: Path | None = None
    poll_interval: float = 600.0
    poll_jitter: float = 0.1
    dispatch_interval: float = 15.0
    max_backoff: float = 86400.0
    fetch_timeout: float = 60.0
    fetch_connect_timeout: float = 10.0
    fetch_max_bytes: int = 5_000_000
    fetch_concurrency: int = 50
    fetch_per_host: int = 4
    #: Worker processes that parse first reads of feeds; None: "auto" (feeds.pool.auto_workers).
    parse_workers: int | None = None
    max_delivery_attempts: int = 8
    poll_catalog: bool = True
    console_channel: str = "console"
    reminder_days: tuple[int, ...] = (90, 30, 14, 7, 3, 1)
    feed_health_after: float = 86400.0
    allow_private_feeds: bool = False
    http_port: int | None = None
    http_host: str = "127.0.0.1"
    slack_mode: str = "socket"
    slack_api_url: str = "https://slack.com/api/"
    slack_admins: tuple[str, ...] = ()
    discord_api_url: str | None = None
    discord_gateway_url: str | None = None
    discord_guild: int | None = None
    log_level: str = "INFO"
    log_format: str = "text"
    providers: tuple[Provider, ...] = ()
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    discord_token: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        """Show the settings with every secret masked."""
        shown = [f"db_path={str(self.db_path)!r}", f"poll_interval={self.poll_interval}"]
        shown += [f"{key}={'***' if getattr(self, key) else None}" for key in _SECRET_KEYS]
        return f"Settings({', '.join(shown)})"

    @property
    def chat_configured(self) -> bool:
        """True when a Slack or Discord token is set."""
        return bool(self.slack_bot_token or self.discord_token)


#: Each key of the TOML file, with its environment variable and the kind of value it takes.
SETTING_KEYS: dict[str, tuple[str, str]] = {
    "database": ("EXITPLAN_DB", "path"),
    "poll_interval": ("EXITPLAN_POLL_INTERVAL", "duration"),
    "poll_jitter": ("EXITPLAN_POLL_JITTER", "fraction"),
    "dispatch_interval": ("EXITPLAN_DISPATCH_INTERVAL", "duration"),
    "max_backoff": ("EXITPLAN_MAX_BACKOFF", "duration"),
    "fetch_timeout": ("EXITPLAN_FETCH_TIMEOUT", "duration"),
    "fetch_connect_timeout": ("EXITPLAN_FETCH_CONNECT_TIMEOUT", "duration"),
    "fetch_max_bytes": ("EXITPLAN_FETCH_MAX_BYTES", "count"),
    "fetch_concurrency": ("EXITPLAN_FETCH_CONCURRENCY", "count"),
    "fetch_per_host": ("EXITPLAN_FETCH_PER_HOST", "count"),
    "parse_workers": ("EXITPLAN_PARSE_WORKERS", "workers"),
    "max_delivery_attempts": ("EXITPLAN_MAX_DELIVERY_ATTEMPTS", "count"),
    "poll_catalog": ("EXITPLAN_POLL_CATALOG", "flag"),
    "console_channel": ("EXITPLAN_CONSOLE_CHANNEL", "text"),
    "reminder_days": ("EXITPLAN_REMINDER_DAYS", "days"),
    "feed_health_after": ("EXITPLAN_FEED_HEALTH_AFTER", "duration"),
    "allow_private_feeds": ("EXITPLAN_ALLOW_PRIVATE_FEEDS", "flag"),
    "http_port": ("EXITPLAN_HTTP_PORT", "port"),
    "http_host": ("EXITPLAN_HTTP_HOST", "host"),
    "slack_mode": ("EXITPLAN_SLACK_MODE", "slack_mode"),
    "slack_api_url": ("EXITPLAN_SLACK_API_URL", "api_url"),
    "slack_admins": ("EXITPLAN_SLACK_ADMINS", "ids"),
    "discord_api_url": ("EXITPLAN_DISCORD_API_URL", "url"),
    "discord_gateway_url": ("EXITPLAN_DISCORD_GATEWAY_URL", "url"),
    "discord_guild": ("EXITPLAN_DISCORD_GUILD", "count"),
    "log_level": ("EXITPLAN_LOG_LEVEL", "level"),
    "log_format": ("EXITPLAN_LOG_FORMAT", "log_format"),
}
_FIELD_FOR_KEY = {"database": "db_path"}
VENDOR_ENV = {
    "slack_bot_token": "SLACK_BOT_TOKEN",
    "slack_app_token": "SLACK_APP_TOKEN",
    "slack_signing_secret": "SLACK_SIGNING_SECRET",
    "discord_token": "DISCORD_TOKEN",
}


def _to_text(text: str) -> str:
    if not text:
        raise ValueError("must not be empty")
    return text


def _to_level(text: str) -> str:
    if text.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
    return text.upper()


def _to_log_format(text: str) -> str:
    if text.lower() not in {"text", "json"}:
        raise ValueError('must be "text" (readable lines) or "json" (one JSON object a line)')
    return text.lower()


def _to_count(text: str) -> int:
    if not re.fullmatch(r"\d+", text) or int(text) < 1:
        raise ValueError("must be a whole number of at least 1")
    return int(text)


def _to_workers(text: str) -> int | None:
    if text.lower() == "auto":
        return None
    if not re.fullmatch(r"\d+", text):
        raise ValueError('must be "auto" or a whole number of processes (0: parse in-process)')
    return int(text)


def _to_fraction(text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        number = -1.0
    if not 0 <= number < 1:
        raise ValueError("must be a fraction from 0 to below 1, like 0.1")
    return number


def _to_flag(text: str) -> bool:
    if text.lower() in {"1", "true", "yes", "on"}:
        return True
    if text.lower() in {"0", "false", "no", "off"}:
        return False
    raise ValueError("must be true or false")


def _to_duration(text: str) -> float:
    match = _DURATION.match(text)
    if not match or float(match.group(1)) <= 0:
        raise ValueError('must be a duration like "600", "90s", "10m", "1h" or "1d"')
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def _to_path(text: str) -> Path:
    return Path(_to_text(text)).expanduser()


def _to_days(text: str) -> tuple[int, ...]:
    parts = [part for part in re.split(r"[,\s]+", text.strip("[]")) if part]
    if not parts or not all(re.fullmatch(r"\d+", part) for part in parts):
        raise ValueError('must be whole days before a deadline, like "90,30,14,7,3,1"')
    return tuple(sorted({int(part) for part in parts}, reverse=True))


def _to_port(text: str) -> int:
    if not re.fullmatch(r"\d+", text) or not 1 <= int(text) <= 65535:
        raise ValueError("must be a TCP port from 1 to 65535")
    return int(text)


def _to_host(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9.:-]+|\[[0-9A-Fa-f:.]+\]", text):
        raise ValueError('must be an address to listen on, like "127.0.0.1", "0.0.0.0" or "::"')
    return text.strip("[]")


def _to_url(text: str) -> str:
    if not re.match(r"^(https?|wss?)://[^\s/]+", text):
        raise ValueError("must be an absolute http(s) or ws(s) URL")
    return text


def _to_api_url(text: str) -> str:
    url = _to_url(text)
    return url if url.endswith("/") else url + "/"


def _to_slack_mode(text: str) -> str:
    if text.lower() not in {"socket", "http"}:
        raise ValueError('must be "socket" (Socket Mode, no public URL) or "http"')
    return text.lower()


def _to_ids(text: str) -> tuple[str, ...]:
    return tuple(part for part in re.split(r"[,\s]+", text.strip("[]")) if part)


_CONVERTERS: dict[str, Callable[[str], Any]] = {
    "days": _to_days,
    "port": _to_port,
    "host": _to_host,
    "url": _to_url,
    "api_url": _to_api_url,
    "slack_mode": _to_slack_mode,
    "ids": _to_ids,
    "path": _to_path,
    "text": _to_text,
    "level": _to_level,
    "log_format": _to_log_format,
    "count": _to_count,
    "workers": _to_workers,
    "fraction": _to_fraction,
    "flag": _to_flag,
    "duration": _to_duration,
}


def _convert(kind: str, value: object) -> Any:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, list):
        text = ",".join(str(item) for item in value)
    else:
        text = str(value).strip()
    return _CONVERTERS[kind](text)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as error:
        raise SettingsError(
            f"{path}: no such file; check the --config path or EXITPLAN_CONFIG"
        ) from error
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(
            f"{path}: not valid TOML: {error}. Fix that line; strings need quotes, "
            'e.g. poll_interval = "10m"'
        ) from error


def load_settings(
    config_path: Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Build the settings from the TOML file (if any) and the environment."""
    env = dict(os.environ if environ is None else environ)
    if config_path is None and env.get("EXITPLAN_CONFIG"):
        config_path = Path(env["EXITPLAN_CONFIG"]).expanduser()
    table = _read_toml(config_path) if config_path is not None else {}
    where = str(config_path) if config_path is not None else "config"
    errors: list[str] = []
    values: dict[str, Any] = {"db_path": default_db_path(env), "config_path": config_path}

    known = set(SETTING_KEYS) | {"providers"}
    for key in sorted(set(table) - known):
        errors.append(f"{where}: unknown key {key!r}; known keys: {', '.join(sorted(known))}")

    for key, (variable, kind) in SETTING_KEYS.items():
        target = _FIELD_FOR_KEY.get(key, key)
        for source, raw in ((where, table.get(key)), (variable, env.get(variable))):
            if raw is None or raw == "":
                continue
            try:
                values[target] = _convert(kind, raw)
            except ValueError as error:
                errors.append(f"{source}: {key if source == where else variable} {error}")

    providers: list[Provider] = []
    raw_providers = table.get("providers", [])
    if not isinstance(raw_providers, list):
        errors.append(f"{where}: providers must be a list of [[providers]] tables")
        raw_providers = []
    for index, item in enumerate(raw_providers):
        if not isinstance(item, dict):
            errors.append(f"{where}: providers[{index}] must be a [[providers]] table")
            continue
        try:
            providers.append(provider_from_config(item, where=f"{where}: providers[{index}]"))
        except CatalogError as error:
            errors.append(str(error))
    values["providers"] = tuple(providers)

    for name, variable in VENDOR_ENV.items():
        values[name] = env.get(variable) or None

    if errors:
        raise SettingsError("configuration problems:\n  - " + "\n  - ".join(errors))
    return Settings(**values)
