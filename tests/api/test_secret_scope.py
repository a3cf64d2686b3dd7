"""A workspace names only the secrets its config lists (services/alerting/secret_scope.py):
checked when a report or alert rule is saved (422 naming the field, the same whether the
variable is set or not) and again when it is delivered, over real stores and a real SMTP
server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.alerting.channels import make_notifier
from services.alerting.notifiers.base import DeliveryError
from services.alerting.rules import Channel
from services.alerting.secret_scope import SecretNotAllowed, SecretScope, context_scope
from services.collector.social.registry import BUILTINS
from services.core.secret_names import INSTALLATION_SECRET_NAMES
from services.core.settings import build_settings
from services.core.workspace import Workspace
from services.reports.delivery import recipient_addresses
from services.runtime.app.context import ServiceContext
from services.runtime.app.workspaces import Installation
from services.runtime.governance.installation_secret import SECRET_NAME
from tests.alerting.notifiers import make_message
from tests.alerting.notifiers.test_email import Mailbox
from tests.apps import app_for
from tests.smtp_server import smtp_server

ACME_YAML = "secrets: [VEILLE_ACME_REPORT_TO]\nbrands:\n  - name: Acmebrand\n"


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[TestClient, TestClient, Installation]]:
    (tmp_path / "config" / "workspaces" / "acme").mkdir(parents=True)
    (tmp_path / "config" / "workspaces" / "acme" / "workspace.yaml").write_text(ACME_YAML)
    settings = build_settings(
        {
            "data_dir": str(tmp_path / "data"),
            "demo_data": False,
            "store": {
                "state_url": f"sqlite:///{tmp_path}/veille.db",
                "index_url": f"embedded:{tmp_path}/index",
            },
        }
    )
    default = ServiceContext(settings, Workspace())
    app = app_for(default, config_dir=tmp_path / "config")
    installation: Installation = app.state.installation
    installation.tenancy.create_workspace("acme", "Acme")
    keys = {
        ws: installation.tenancy.create_key(name=f"{ws}-k", workspace=ws, service="tests")
        for ws in ("default", "acme")
    }
    with (
        TestClient(app, headers={"X-API-Key": keys["acme"]}) as acme,
        TestClient(app, headers={"X-API-Key": keys["default"]}) as home,
    ):
        for client, brand in ((acme, "Acmebrand"), (home, "Homebrand")):
            assert client.post("/api/v1/brands", json={"name": brand}).status_code == 201
        yield acme, home, installation
    installation.close()
    default.close()


def _report(name: str, brand: str, recipients: list[str]) -> dict[str, object]:
    return {"name": name, "brand": brand, "recipients": recipients}


def _rule(name: str, brand: str, target: str) -> dict[str, object]:
    return {
        "name": name,
        "target_type": "brand",
        "target": brand,
        "kind": "volume_spike",
        "channels": [{"type": "email", "target": target}],
    }


def test_a_workspace_cannot_name_another_workspaces_secret_or_any_variable(
    setup: tuple[TestClient, TestClient, Installation], monkeypatch: pytest.MonkeyPatch
) -> None:
    acme, home, _ = setup
    answers = []
    for value in (None, "boss@default.example.org"):  # unset, then set: the same answer
        if value:
            monkeypatch.setenv("VEILLE_REPORT_TO", value)
        answer = acme.post("/api/v1/reports", json=_report("r", "Acmebrand", ["VEILLE_REPORT_TO"]))
        assert answer.status_code == 422, answer.text
        answers.append({k: v for k, v in answer.json().items() if k != "instance"})
    assert answers[0] == answers[1]
    assert answers[0]["field"] == "recipients[0]"
    assert "acme" in answers[0]["detail"] and "secrets:" in answers[0]["detail"]
    home_answer = acme.post("/api/v1/reports", json=_report("r", "Acmebrand", ["HOME"]))
    assert home_answer.status_code == 422
    assert "not a Veille secret name" in home_answer.json()["detail"]
    rule = acme.post("/api/v1/alert-rules", json=_rule("x", "Acmebrand", "VEILLE_REPORT_TO"))
    assert rule.status_code == 422, rule.text
    assert rule.json()["field"] == "channels[0].target"
    # What acme's config lists, it may use.
    ok = acme.post("/api/v1/reports", json=_report("r", "Acmebrand", ["VEILLE_ACME_REPORT_TO"]))
    assert ok.status_code == 201, ok.text
    assert acme.get("/api/v1/reports/r").status_code == 200
    # `default` (no `secrets:` list) keeps every Veille name, but never HOME or PATH.
    assert home.post("/api/v1/reports", json=_report("h", "Homebrand", ["PATH"])).status_code == 422
    assert (
        home.post(
            "/api/v1/reports", json=_report("h", "Homebrand", ["VEILLE_REPORT_TO"])
        ).status_code
        == 201
    )
    made = home.post("/api/v1/alert-rules", json=_rule("y", "Homebrand", "VEILLE_REPORT_TO"))
    assert made.status_code == 201, made.text


def test_a_report_or_rule_stored_before_the_check_does_not_deliver_across_workspaces(
    setup: tuple[TestClient, TestClient, Installation], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, installation = setup
    monkeypatch.setenv("VEILLE_REPORT_TO", "boss@default.example.org")
    monkeypatch.setenv("HOME", "/root")
    acme_scope = context_scope(installation.context("acme"))
    home_scope = context_scope(installation.context("default"))
    with pytest.raises(SecretNotAllowed, match="acme"):
        recipient_addresses(["VEILLE_REPORT_TO"], acme_scope)
    with pytest.raises(SecretNotAllowed, match="HOME"):
        recipient_addresses(["HOME"], home_scope)
    assert recipient_addresses(["VEILLE_REPORT_TO"], home_scope) == ["boss@default.example.org"]

    box = Mailbox()
    with smtp_server(box) as port:
        settings = build_settings(
            {"alerting": {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "plain"}}
        ).alerting
        channel = Channel(type="email", target="VEILLE_REPORT_TO")
        message = make_message()
        refused = make_notifier(channel, settings, acme_scope)
        assert refused is not None
        with pytest.raises(DeliveryError, match="may not use") as caught:
            refused.send(message, idempotency_key="k1")
        assert caught.value.permanent
        assert box.envelopes == []
        allowed = make_notifier(channel, settings, home_scope)  # the same channel in default
        assert allowed is not None
        allowed.send(message, idempotency_key="k2")
        assert [e.rcpt_tos for e in box.envelopes] == [["boss@default.example.org"]]


def test_the_installations_own_secrets_are_never_targets(tmp_path: Path) -> None:
    settings = build_settings({"alerting": {"smtp_password_secret": "VEILLE_SMTP_PASSWORD"}})
    scope = SecretScope.of("default", None, settings)
    assert scope.check("VEILLE_SLACK_MARKETING") is None
    for name in (
        "VEILLE_SMTP_PASSWORD",
        "VEILLE_SECRETS_FILE",
        "VEILLE_STORE__STATE_URL",
        "VEILLE_INSTALLATION_SECRET",
        "VEILLE_MASTODON_TOKEN",
        "VEILLE_BLUESKY_APP_PASSWORD",
    ):
        assert scope.check(name) is not None, name
    # A key of the secrets file is a secret name unless the installation reads it itself.
    secrets_file = tmp_path / "secrets.env"
    secrets_file.write_text("POSTGRES_PASSWORD=x\nTEAM_LIST=a@example.org\nVEILLE_A__B=y\n")
    environ = {"VEILLE_SECRETS_FILE": str(secrets_file)}
    assert scope.check("TEAM_LIST", environ=environ) is None
    assert scope.check("POSTGRES_PASSWORD", environ=environ) is not None
    assert scope.check("VEILLE_A__B", environ=environ) is not None  # a settings variable


_READS = re.compile(
    r"(?:resolve_secret|env_value|environ\.get|getenv|env\.get|envvar=)\(?\s*(?:env,\s*)?"
    r"(f?)\"([A-Za-z0-9_{}().]+)\""
)


def test_every_secret_name_the_code_reads_is_reserved() -> None:
    """A name read in services/ and missing from INSTALLATION_SECRET_NAMES could be named
    as a recipient, and its value mailed out or quoted back in a refusal."""
    root = Path(__file__).resolve().parents[2] / "services"
    read: set[str] = set()
    for path in root.rglob("*.py"):
        for is_f, name in _READS.findall(path.read_text(encoding="utf-8")):
            if is_f and name == "VEILLE_{kind.upper()}_BASE_URL":
                read |= {f"VEILLE_{kind.upper()}_BASE_URL" for kind in BUILTINS}
            else:
                assert not is_f, f"{path}: {name}: expand it here"
                read.add(name)
    assert len(read) > 20  # the pattern still finds what the code reads
    # a folder, read as the XDG spec says; the terminal's width, as shells set it
    not_secrets = {"XDG_CACHE_HOME", "COLUMNS"}
    assert read - not_secrets - INSTALLATION_SECRET_NAMES == set()
    assert SECRET_NAME in INSTALLATION_SECRET_NAMES  # read through a constant


def test_config_check_names_a_workspace_report_using_a_secret_it_may_not(tmp_path: Path) -> None:
    from tests.cli_runner import veille
    from tests.e2e.service import write_workspace

    config = write_workspace(tmp_path, sources=[])
    folder = config / "workspaces" / "acme"
    folder.mkdir(parents=True)
    report = "reports:\n  - {name: weekly, brand: Acmebrand, recipients: [VEILLE_REPORT_TO]}\n"
    (folder / "workspace.yaml").write_text(ACME_YAML + report)
    refused = veille("config", "check", "--config", str(config))
    assert refused.returncode == 2, refused.stdout
    assert "reports[weekly].recipients[0]" in refused.stdout + refused.stderr
    assert "Traceback" not in refused.stderr
    (folder / "workspace.yaml").write_text(ACME_YAML + report.replace("_REPORT", "_ACME_REPORT"))
    accepted = veille("config", "check", "--config", str(config))
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "OK: workspace acme" in accepted.stdout


def test_the_installations_brand_rule_channels_deliver_in_every_workspace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`alerting.brand_rules.channels` is the operator's choice, copied into every
    workspace: a workspace without `secrets:` delivers to it; its own rules and reports may
    not name it, and a reserved name stays refused even there."""
    from services.alerting.secret_scope import workspace_secret_problems

    monkeypatch.setenv("VEILLE_ALERTS_TO", "ops@installation.example.org")
    box = Mailbox()
    with smtp_server(box) as port:
        settings = build_settings(
            {
                "alerting": {
                    "smtp_host": "127.0.0.1",
                    "smtp_port": port,
                    "smtp_security": "plain",
                    "brand_rules": {"channels": ["email:VEILLE_ALERTS_TO"]},
                }
            }
        )
        acme = SecretScope.of("acme", None, settings)
        channel = Channel(type="email", target="VEILLE_ALERTS_TO")
        make_notifier(channel, settings.alerting, acme).send(make_message(), idempotency_key="k")
        assert [e.rcpt_tos for e in box.envelopes] == [["ops@installation.example.org"]]
    assert workspace_secret_problems("acme", Workspace(), settings) == []
    assert acme.check("VEILLE_ALERTS_TO") is not None  # a report or a rule of acme's own
    reserved = settings.model_copy(deep=True)
    reserved.alerting.brand_rules.channels = ["email:VEILLE_INSTALLATION_SECRET"]
    [problem] = workspace_secret_problems("acme", Workspace(), reserved)
    assert "installation's own secrets" in problem
