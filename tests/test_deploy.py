"""The deploy files: what can be checked without a container runtime or a running systemd."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bot.settings import SETTING_KEYS

ROOT = Path(__file__).parent.parent
DEPLOY = ROOT / "deploy"
INSTALLED_EXITPLAN = "/opt/exitplan/.venv/bin/exitplan"
HARDENING = (
    "DynamicUser=yes",
    "StateDirectory=exitplan",
    "Environment=EXITPLAN_DB=%S/exitplan/exitplan.db",
    "EnvironmentFile=-/etc/exitplan/exitplan.env",
    "ProtectSystem=strict",
    "ProtectHome=yes",
    "PrivateTmp=yes",
    "PrivateDevices=yes",
    "NoNewPrivileges=yes",
    "ProtectKernelTunables=yes",
    "ProtectKernelModules=yes",
    "ProtectKernelLogs=yes",
    "ProtectControlGroups=yes",
    "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
    "RestrictNamespaces=yes",
    "LockPersonality=yes",
    "MemoryDenyWriteExecute=yes",
    "SystemCallFilter=@system-service",
    "CapabilityBoundingSet=",
    "Restart=on-failure",
    f"ExecStart={INSTALLED_EXITPLAN} run",
)


def _instructions(dockerfile: str) -> list[tuple[str, str]]:
    """Dockerfile instructions as (KEYWORD, arguments), continuation lines joined."""
    joined = re.sub(r"\\\n", " ", dockerfile)
    pairs = []
    for line in joined.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, rest = stripped.partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


def _unit_lines() -> set[str]:
    return {
        line.strip()
        for line in (DEPLOY / "exitplan.service").read_text("utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }


@pytest.fixture
def unit_copy(tmp_path: Path) -> Path:
    """The unit with ExecStart pointed at a stand-in executable, so `verify` can check it."""
    stand_in = tmp_path / "exitplan"
    stand_in.write_text("#!/bin/sh\nexit 0\n")
    stand_in.chmod(0o755)
    text = (DEPLOY / "exitplan.service").read_text("utf-8")
    assert INSTALLED_EXITPLAN in text
    copy = tmp_path / "exitplan.service"
    copy.write_text(text.replace(INSTALLED_EXITPLAN, str(stand_in)))
    return copy


def test_unit_carries_the_hardening() -> None:
    """The systemd unit runs as a dynamic user in a read-only system, with every protection."""
    assert set(HARDENING) - _unit_lines() == set()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not here")
def test_unit_passes_systemd_analyze_verify(unit_copy: Path) -> None:
    """`systemd-analyze verify` accepts the unit without a single warning (unknown keys warn)."""
    done = subprocess.run(  # noqa: S603 - fixed arguments
        ["systemd-analyze", "verify", "--man=no", str(unit_copy)],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert (done.returncode, done.stderr) == (0, "")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not here")
def test_unit_exposure_is_low(unit_copy: Path) -> None:
    """`systemd-analyze security` rates the unit's exposure at 2.0 or below ("OK")."""
    done = subprocess.run(  # noqa: S603 - fixed arguments
        ["systemd-analyze", "security", "--offline=yes", "--threshold=20", str(unit_copy)],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout[-400:]


def test_dockerfile_runs_unprivileged_with_a_volume_and_a_healthcheck() -> None:
    """Non-root USER, /data volume for the database, HEALTHCHECK on /healthz, `exitplan run`."""
    steps = _instructions((DEPLOY / "Dockerfile").read_text("utf-8"))
    keywords = [keyword for keyword, _ in steps]
    last = {keyword: rest for keyword, rest in steps}
    env = " ".join(rest for keyword, rest in steps if keyword == "ENV")
    assert last["USER"].split(":")[0] not in {"root", "0"}
    assert keywords.index("USER") > max(i for i, k in enumerate(keywords) if k == "RUN")
    assert last["VOLUME"] == '["/data"]'
    assert "/healthz" in last["HEALTHCHECK"]
    assert "urllib.request" in last["HEALTHCHECK"]
    assert last["CMD"] == '["exitplan", "run"]'
    assert {"EXITPLAN_DB=/data/exitplan.db", "EXITPLAN_HTTP_PORT=8080"} <= set(env.split())
    assert "EXITPLAN_HTTP_HOST=0.0.0.0" in env.split()
    assert "PYTHON_IMAGE=docker.io/library/python:${PYTHON_VERSION}-slim" in last["ARG"]
    assert [rest for k, rest in steps if k == "FROM"] == [
        "${PYTHON_IMAGE} AS build",
        "${PYTHON_IMAGE}",
    ]


def test_dockerignore_keeps_secrets_and_state_out_of_the_image() -> None:
    """The build context leaves out .env files, databases, the virtualenv and git."""
    ignored = set((ROOT / ".dockerignore").read_text("utf-8").split())
    assert {".env", "*.db", ".venv", ".git", "tests"} <= ignored


def test_compose_file_builds_the_image_with_the_env_file_and_a_volume() -> None:
    """compose.yaml parses; it reads .env, keeps /data on a volume and publishes on 127.0.0.1."""
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text("utf-8"))
    service = compose["services"]["exitplan"]
    assert service["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
    assert service["env_file"] == [".env"]
    assert service["environment"]["EXITPLAN_DB"] == "/data/exitplan.db"
    assert service["ports"] == ["127.0.0.1:8080:8080"]
    assert service["volumes"] == ["exitplan-data:/data"]
    assert service["restart"] == "unless-stopped"
    assert "exitplan-data" in compose["volumes"]
    assert (ROOT / service["build"]["dockerfile"]).exists()


def test_example_config_documents_every_setting() -> None:
    """Every settings key appears in deploy/exitplan.example.toml, set or commented out."""
    text = (DEPLOY / "exitplan.example.toml").read_text("utf-8")
    missing = [key for key in SETTING_KEYS if not re.search(rf"^#? ?{key} = ", text, re.M)]
    assert missing == []
