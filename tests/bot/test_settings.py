"""Settings: defaults, the TOML file, the environment, and errors that name the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings
from feeds.pool import auto_workers


def test_defaults_put_the_database_in_the_users_data_folder() -> None:
    """With no file and no variables, the database lives under XDG_DATA_HOME."""
    settings = load_settings(environ={"XDG_DATA_HOME": "/data"})
    assert (settings.db_path, settings.poll_interval, settings.chat_configured) == (
        Path("/data/exitplan/exitplan.db"),
        600.0,
        False,
    )


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    """EXITPLAN_* variables win over the same keys in the TOML file."""
    config = tmp_path / "exitplan.toml"
    config.write_text('database = "from-file.db"\npoll_interval = "5m"\n')
    settings = load_settings(config, environ={"EXITPLAN_POLL_INTERVAL": "1h"})
    assert (settings.db_path, settings.poll_interval) == (Path("from-file.db"), 3600.0)


def test_config_file_adds_providers(tmp_path: Path) -> None:
    """A [[providers]] table becomes a provider with its feeds."""
    config = tmp_path / "exitplan.toml"
    config.write_text(
        '[[providers]]\nslug = "acme"\nname = "Acme Cloud"\n'
        'feeds = [{ url = "https://status.acme.test/history.rss", role = "status" }]\n'
    )
    (provider,) = load_settings(config, environ={}).providers
    assert (provider.slug, provider.name, [f.url for f in provider.feeds]) == (
        "acme",
        "Acme Cloud",
        ["https://status.acme.test/history.rss"],
    )


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    """Bad values in the file and the environment are listed together, each with its source."""
    config = tmp_path / "exitplan.toml"
    config.write_text('poll_interval = "soon"\nfetch_concurrency = 0\ncolour = "blue"\n')
    with pytest.raises(SettingsError) as caught:
        load_settings(config, environ={"EXITPLAN_POLL_JITTER": "2"})
    message = str(caught.value)
    assert f"{config}: unknown key 'colour'" in message
    assert f"{config}: poll_interval must be a duration like" in message
    assert f"{config}: fetch_concurrency must be a whole number of at least 1" in message
    assert "EXITPLAN_POLL_JITTER must be a fraction from 0 to below 1" in message


def test_broken_toml_names_the_file_and_line(tmp_path: Path) -> None:
    """A TOML syntax error names the file and the line to fix."""
    config = tmp_path / "exitplan.toml"
    config.write_text("database = 'ok.db'\npoll_interval = 10m\n")
    with pytest.raises(SettingsError, match=r"exitplan.toml: not valid TOML: .*line 2"):
        load_settings(config, environ={})


def test_secrets_never_show_in_repr() -> None:
    """Tokens are masked when settings are printed or logged."""
    settings = load_settings(environ={"SLACK_BOT_TOKEN": "xoxb-secret", "HOME": "/home/x"})
    assert "xoxb-secret" not in repr(settings)
    assert "slack_bot_token=***" in repr(settings)
    assert settings.chat_configured


def test_parse_workers_take_auto_or_a_count() -> None:
    """The default "auto" leaves the choice to the machine; a number is taken as it is."""
    values = [
        load_settings(environ={"EXITPLAN_PARSE_WORKERS": raw} if raw else {}).parse_workers
        for raw in ("", "auto", "0", "3")
    ]
    with pytest.raises(SettingsError, match='EXITPLAN_PARSE_WORKERS must be "auto" or a whole'):
        load_settings(environ={"EXITPLAN_PARSE_WORKERS": "-1"})
    assert values == [None, None, 0, 3]


def test_auto_parse_workers_use_two_cores_at_most_and_none_on_one() -> None:
    """One core gains nothing from a pool; more than two leave room for the rest."""
    assert [auto_workers(cpus) for cpus in (1, 2, 8)] == [0, 2, 2]
