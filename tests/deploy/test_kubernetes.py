"""The Kubernetes manifests in deploy/kubernetes, checked offline.

Each manifest is validated against the Kubernetes OpenAPI JSON schemas bundled in the
`kubernetes-validate` package (strict: unknown fields are errors), and their
cross-references (labels, Secret, ConfigMap, claims, commands) are checked here. No
cluster is involved: `kubectl apply --dry-run=server` remains the final check.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

kubernetes_validate = pytest.importorskip(
    "kubernetes_validate", reason="pip install kubernetes-validate (in veille[dev])"
)

KUBE = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"
KUBE_VERSION = "1.30"  # the oldest Kubernetes version the manifests target
ROLE_ARGS = {
    "api": ["api"],
    "worker": ["up", "--no-api"],
    "analyzer": ["analyze", "--follow"],
}


def _documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


MANIFESTS = sorted(p for p in KUBE.glob("*.yaml") if p.name != "kustomization.yaml")


@pytest.fixture(scope="module")
def resources() -> dict[tuple[str, str], dict[str, Any]]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path in MANIFESTS:
        for doc in _documents(path):
            found[(doc["kind"], doc["metadata"]["name"])] = doc
    return found


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_manifest_matches_the_kubernetes_schema(path: Path) -> None:
    for doc in _documents(path):
        kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)


def test_the_validator_catches_a_misspelt_field(
    resources: dict[tuple[str, str], dict[str, Any]],
) -> None:
    broken = copy.deepcopy(resources[("Deployment", "veille-api")])
    broken["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError, match="readinesProbe"):
        kubernetes_validate.validate(broken, KUBE_VERSION, strict=True)


def test_kustomization_lists_every_manifest_but_the_secret_example() -> None:
    kustomization = yaml.safe_load((KUBE / "kustomization.yaml").read_text(encoding="utf-8"))
    listed = set(kustomization["resources"])
    assert all((KUBE / name).is_file() for name in listed)
    assert listed == {p.name for p in MANIFESTS} - {"secret.example.yaml"}


def test_each_role_is_a_deployment_with_its_command_and_probes(
    resources: dict[tuple[str, str], dict[str, Any]],
) -> None:
    for role, args in ROLE_ARGS.items():
        deployment = resources[("Deployment", f"veille-{role}")]
        spec = deployment["spec"]
        labels = spec["template"]["metadata"]["labels"]
        assert spec["selector"]["matchLabels"].items() <= labels.items()
        (container,) = spec["template"]["spec"]["containers"]
        assert container["command"] == ["veille"]
        assert container["args"][: len(args)] == args
        assert "readinessProbe" in container, role
        if role != "api":
            assert container["readinessProbe"]["exec"]["command"] == ["veille", "health"]
        assert spec["template"]["spec"]["securityContext"]["runAsNonRoot"] is True


def test_references_point_at_resources_that_exist(
    resources: dict[tuple[str, str], dict[str, Any]],
) -> None:
    service = resources[("Service", "veille-api")]
    api_labels = resources[("Deployment", "veille-api")]["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= api_labels.items()
    for (kind, _), doc in resources.items():
        if kind != "Deployment":
            continue
        pod = doc["spec"]["template"]["spec"]
        for source in pod["containers"][0]["envFrom"]:
            if "configMapRef" in source:
                assert ("ConfigMap", source["configMapRef"]["name"]) in resources
            else:
                assert ("Secret", source["secretRef"]["name"]) in resources
        for volume in pod["volumes"]:
            if "configMap" in volume:
                assert ("ConfigMap", volume["configMap"]["name"]) in resources
            if "persistentVolumeClaim" in volume:
                claim = volume["persistentVolumeClaim"]["claimName"]
                assert ("PersistentVolumeClaim", claim) in resources


def test_the_secret_example_holds_no_real_secret_and_config_maps_none(
    resources: dict[tuple[str, str], dict[str, Any]],
) -> None:
    secret = resources[("Secret", "veille-secrets")]
    for key, value in secret["stringData"].items():
        assert "change-me" in value, key
    for (kind, _), doc in resources.items():
        if kind == "ConfigMap":
            for key in doc["data"]:
                assert not any(word in key for word in ("PASSWORD", "API_KEY", "STATE_URL")), key


def test_the_workspace_config_map_is_a_valid_workspace(
    resources: dict[tuple[str, str], dict[str, Any]], tmp_path: Path
) -> None:
    from services.core.workspace import load_workspace

    (tmp_path / "veille.yaml").write_text(
        resources[("ConfigMap", "veille-workspace")]["data"]["veille.yaml"], encoding="utf-8"
    )
    loaded = load_workspace(tmp_path)
    assert [s.name for s in loaded.workspace.sources] == ["lemonde-pixels"]


def test_the_worker_that_runs_every_workspace_is_a_single_replica(
    resources: dict[tuple[str, str], dict[str, Any]],
) -> None:
    spec = resources[("Deployment", "veille-worker")]["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"]["type"] == "Recreate"  # never two during a rollout
