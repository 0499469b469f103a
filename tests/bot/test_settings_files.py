"""The example settings in deploy/ stay valid and complete."""

from __future__ import annotations

from pathlib import Path

from bot.settings import SETTING_KEYS, VENDOR_ENV, load_settings

DEPLOY = Path(__file__).parent.parent.parent / "deploy"


def test_example_config_loads_with_the_defaults() -> None:
    """deploy/exitplan.example.toml is valid and gives the same values as no file at all."""
    from_file = load_settings(DEPLOY / "exitplan.example.toml", environ={"HOME": "/h"})
    defaults = load_settings(environ={"HOME": "/h"})
    assert from_file.poll_interval == defaults.poll_interval
    assert from_file.fetch_max_bytes == defaults.fetch_max_bytes
    assert from_file.poll_catalog is defaults.poll_catalog


def test_env_example_lists_every_variable() -> None:
    """deploy/.env.example names every variable exitplan reads."""
    listed = {
        line.split("=", 1)[0]
        for line in (DEPLOY / ".env.example").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    }
    wanted = {variable for variable, _ in SETTING_KEYS.values()} | set(VENDOR_ENV.values())
    assert wanted - listed == set()
