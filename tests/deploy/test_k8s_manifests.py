"""Every manifest in k8s/ is valid for a current Kubernetes, and agrees with the code."""

from __future__ import annotations

import copy

import kubernetes_validate
import pytest
from deploy_files import K8S, k8s_manifests, load_docs, validate_k8s

from acav_assets.defs.execution import GPU_NODE_SELECTOR, GPU_RESOURCE, GPU_TOLERATIONS

NAMESPACE = "acav"
CLUSTER_SCOPED = {"Namespace"}


@pytest.mark.parametrize("path", k8s_manifests(), ids=lambda p: str(p.relative_to(K8S)))
def test_manifest_validates_against_current_kubernetes_schema(path):
    docs = load_docs(path)
    assert docs, f"{path} holds no Kubernetes object"
    for doc in docs:
        validate_k8s(doc)


def test_k8s_folder_covers_the_pieces_a_cluster_needs(k8s_objects):
    kinds = {kind for kind, _ in k8s_objects}
    expected = {
        "Namespace",
        "ServiceAccount",
        "Role",
        "RoleBinding",
        "PersistentVolumeClaim",
        "ConfigMap",
        "DaemonSet",
        "ResourceQuota",
        "LimitRange",
    }
    assert expected <= kinds


def test_strict_validation_rejects_a_misspelt_field(k8s_objects):
    quota = copy.deepcopy(k8s_objects[("ResourceQuota", "acav-compute")])
    quota["spec"]["hardd"] = quota["spec"].pop("hard")
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_k8s(quota)


def test_namespaced_objects_live_in_acav_except_the_device_plugin():
    for path in k8s_manifests():
        for doc in load_docs(path):
            if doc["kind"] in CLUSTER_SCOPED:
                continue
            expected = "kube-system" if doc["kind"] == "DaemonSet" else NAMESPACE
            assert doc["metadata"]["namespace"] == expected, f"{path}: {doc['kind']}"


def test_both_storage_options_define_the_same_env_config_map():
    maps = {}
    for path in sorted((K8S / "storage").glob("*.yaml")):
        (cm,) = [d for d in load_docs(path) if d["kind"] == "ConfigMap"]
        assert cm["metadata"]["name"] == "acav-storage"
        maps[path.stem] = cm["data"]
    assert maps["pvc"]["ACAV_HOME"] == "/var/lib/acav"
    assert maps["object-store"]["ACAV_HOME"].startswith("s3://")
    assert all(data["ACAV_EXECUTOR"] == "k8s" for data in maps.values())


def test_object_store_option_carries_no_credentials():
    for doc in load_docs(K8S / "storage" / "object-store.yaml"):
        assert doc["kind"] != "Secret"
        for key in doc.get("data", {}):
            assert "SECRET" not in key and "ACCESS_KEY" not in key and "PASSWORD" not in key


def test_service_account_may_create_jobs_and_follow_their_pods(k8s_objects):
    role = k8s_objects[("Role", "acav-dagster-launcher")]
    granted = {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    needed = {
        ("batch", "jobs", "create"),
        ("batch", "jobs", "get"),
        ("batch", "jobs", "list"),
        ("batch", "jobs", "delete"),
        ("", "pods", "list"),
        ("", "pods", "get"),
        ("", "pods/log", "get"),
    }
    assert needed <= granted
    assert not any(resource == "secrets" for _, resource, _ in granted)
    binding = k8s_objects[("RoleBinding", "acav-dagster-launcher")]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "acav-dagster", "namespace": NAMESPACE}
    ]


def test_device_plugin_runs_on_the_pool_the_gpu_steps_select(k8s_objects):
    spec = k8s_objects[("DaemonSet", "nvidia-device-plugin")]["spec"]["template"]["spec"]
    assert spec["nodeSelector"] == GPU_NODE_SELECTOR
    assert spec["tolerations"] == GPU_TOLERATIONS


def test_quota_admits_as_many_gpus_as_the_run_queue_lets_run(k8s_objects, k8s_instance):
    hard = k8s_objects[("ResourceQuota", "acav-compute")]["spec"]["hard"]
    limits = k8s_instance["run_coordinator"]["config"]["tag_concurrency_limits"]
    (gpu_limit,) = [lim["limit"] for lim in limits if lim["key"] == "acav/gpu"]
    assert int(hard[f"requests.{GPU_RESOURCE}"]) >= gpu_limit
