"""A channel whose secret is not set: warned about by `veille config check` (the YAML's
default-rule channels), with the variable's name and never a value; the check still passes."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.cli_runner import veille
from tests.e2e.service import write_workspace


def _check(config: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return veille("config", "check", "--config", str(config), env=env)


def test_config_check_warns_of_a_default_rule_channel_whose_secret_is_unset(
    tmp_path: Path,
) -> None:
    config = write_workspace(
        tmp_path,
        sources=[],
        alerting={
            "brand_rules": {"channels": ["webhook:VEILLE_TEAM_HOOK", "slack:VEILLE_TEAM_SLACK"]}
        },
    )
    unset = _check(config, VEILLE_TEAM_SLACK="https://hooks.slack.com/services/T/B/x")
    assert unset.returncode == 0, unset.stderr
    assert "secret VEILLE_TEAM_HOOK is not set" in unset.stderr
    assert "secret VEILLE_TEAM_HOOK_SECRET is not set" in unset.stderr
    assert "VEILLE_TEAM_SLACK" not in unset.stderr
    assert "hooks.slack.com" not in unset.stderr + unset.stdout
    secrets = tmp_path / "secrets.env"
    secrets.write_text("VEILLE_TEAM_HOOK=https://example.org/h\nVEILLE_TEAM_HOOK_SECRET=k\n")
    set_ = _check(
        config,
        VEILLE_TEAM_SLACK="https://hooks.slack.com/services/T/B/x",
        VEILLE_SECRETS_FILE=str(secrets),
    )
    assert set_.returncode == 0, set_.stderr
    assert "Warning" not in set_.stderr
