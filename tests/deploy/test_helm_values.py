"""The Helm values name their chart version, run this package, and agree with k8s/."""

from __future__ import annotations

import copy
import importlib.metadata
import importlib.util
import re

import kubernetes
import pytest
import yaml
from dagster._cli.api import grpc_command
from dagster_k8s.job import (
    DagsterK8sJobConfig,
    UserDefinedDagsterK8sConfig,
    construct_dagster_k8s_job,
)
from deploy_files import DEPLOYMENTS, pyproject_pins, validate_k8s

HELM = DEPLOYMENTS / "helm"


def _chart_line() -> tuple[str, str]:
    match = re.search(r"^# chart: (\S+) (\S+)$", (HELM / "values.yaml").read_text(), re.M)
    assert match, "values.yaml must name its chart as '# chart: <name> <version>'"
    return match.group(1), match.group(2)


def test_values_name_the_dagster_chart_version_of_the_pinned_dagster():
    name, version = _chart_line()
    assert name == "dagster"
    # The Dagster chart is released with Dagster and carries its version.
    assert version == pyproject_pins()["dagster"] == importlib.metadata.version("dagster")
    text = (HELM / "values.yaml").read_text()
    assert f"--version {version}" in text


def _deployment(values: dict) -> dict:
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    return deployment


def test_user_code_deployment_serves_this_package(helm_values):
    deployment = _deployment(helm_values)
    args = deployment["dagsterApiGrpcArgs"]
    ctx = grpc_command.make_context("grpc", list(args) + ["--port", str(deployment["port"])])
    assert ctx.params["module_name"] == "acav_assets.definitions"
    assert importlib.util.find_spec("acav_assets.definitions") is not None
    assert helm_values["dagster-user-deployments"]["enabled"] is True
    assert deployment["image"]["repository"].endswith("acav-gpu")
    assert deployment["includeConfigInLaunchedRuns"] == {"enabled": True}


def test_user_code_env_and_secrets_come_from_k8s_objects(helm_values, k8s_objects):
    deployment = _deployment(helm_values)
    for ref in deployment["envConfigMaps"]:
        assert ("ConfigMap", ref["name"]) in k8s_objects
    # Secrets are made by hand (README), never committed: the values only name them.
    assert [s["name"] for s in deployment["envSecrets"]] == ["acav-object-store"]
    cookie_volumes = [v for v in deployment["volumes"] if "secret" in v]
    assert [v["secret"]["secretName"] for v in cookie_volumes] == ["acav-ytdlp-cookies"]
    assert helm_values["serviceAccount"] == {"create": False, "name": "acav-dagster"}
    assert ("ServiceAccount", "acav-dagster") in k8s_objects


def _pod_from_values(values: dict) -> dict:
    """The run pod the chart's K8sRunLauncher would make from these values, as a K8s Job."""
    deployment = _deployment(values)
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    job = construct_dagster_k8s_job(
        DagsterK8sJobConfig(
            job_image=f"{deployment['image']['repository']}:{deployment['image']['tag']}",
            dagster_home="/opt/dagster/dagster_home",
            service_account_name=values["serviceAccount"]["name"],
            env_config_maps=[r["name"] for r in deployment["envConfigMaps"]],
            env_secrets=[r["name"] for r in deployment.get("envSecrets", [])],
            volumes=deployment["volumes"],
            volume_mounts=deployment["volumeMounts"],
            labels=launcher["labels"],
        ),
        ["dagster", "api", "execute_run"],
        "dagster-run-0123abcd",
        UserDefinedDagsterK8sConfig.from_dict(
            {
                "container_config": launcher["runK8sConfig"]["containerConfig"],
                "pod_spec_config": launcher["runK8sConfig"]["podSpecConfig"],
                "job_spec_config": launcher["runK8sConfig"]["jobSpecConfig"],
            }
        ),
    )
    return kubernetes.client.ApiClient().sanitize_for_serialization(job)


def test_run_pod_defaults_make_a_valid_kubernetes_job(helm_values):
    doc = _pod_from_values(helm_values)
    validate_k8s(doc)
    pod = doc["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert "nvidia.com/gpu" not in pod["containers"][0]["resources"]["limits"]


def test_run_queue_in_values_matches_the_k8s_instance(helm_values, k8s_instance):
    queued = helm_values["dagsterDaemon"]["runCoordinator"]
    assert queued["enabled"] is True and queued["type"] == "QueuedRunCoordinator"
    config = queued["config"]["queuedRunCoordinator"]
    expected = k8s_instance["run_coordinator"]["config"]
    assert config["maxConcurrentRuns"] == expected["max_concurrent_runs"]
    assert config["tagConcurrencyLimits"] == expected["tag_concurrency_limits"]
    assert helm_values["runLauncher"]["type"] == "K8sRunLauncher"


def test_pvc_overlay_only_adds_the_shared_volume(helm_values):
    overlay = _deployment(yaml.safe_load((HELM / "values-pvc.yaml").read_text()))
    base = _deployment(helm_values)
    pvc = {"name": "acav-home", "persistentVolumeClaim": {"claimName": "acav-home"}}
    assert [v for v in overlay["volumes"] if v not in base["volumes"]] == [pvc]
    assert {"name": "acav-home", "mountPath": "/var/lib/acav"} in overlay["volumeMounts"]
    trimmed = {k: v for k, v in overlay.items() if k not in ("volumes", "volumeMounts")}
    assert trimmed == {
        k: v for k, v in base.items() if k not in ("volumes", "volumeMounts", "envSecrets")
    }
    merged = copy.deepcopy(helm_values)
    merged["dagster-user-deployments"]["deployments"] = [overlay]
    validate_k8s(_pod_from_values(merged))


@pytest.mark.parametrize("name", ["values.yaml", "values-pvc.yaml"])
def test_values_carry_no_secret_values(name):
    text = (HELM / name).read_text().lower()
    for word in ("password:", "secretaccesskey", "aws_secret_access_key", "token:"):
        assert word not in text, f"{name} holds {word!r}"
