"""The stand-in cluster of `make deploy-check` (deployments/podman_kube.py): a pod spec becomes
the podman arguments Kubernetes' own behaviour implies, what a cluster refuses is refused, and
the API answers the calls dagster-k8s makes. No container is started here: podman is not
needed."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import kubernetes
import pytest
from dagster_k8s.client import DagsterKubernetesClient
from dagster_k8s.job import (
    DagsterK8sJobConfig,
    UserDefinedDagsterK8sConfig,
    construct_dagster_k8s_job,
)
from deploy_files import DEPLOYMENTS
from hypothesis import given
from hypothesis import strategies as st

from acav_assets.defs.execution import k8s_op_tags

_spec = importlib.util.spec_from_file_location("podman_kube", DEPLOYMENTS / "podman_kube.py")
podman_kube = importlib.util.module_from_spec(_spec)
sys.modules["podman_kube"] = podman_kube
_spec.loader.exec_module(podman_kube)

IMAGE = "localhost/acav:local"


def _namespace() -> Any:
    return podman_kube.Namespace(
        "acav",
        config_maps={
            "acav-storage": {"ACAV_HOME": "s3://bucket/acav", "ACAV_EXECUTOR": "k8s"},
            "acav-postgres": {"DAGSTER_PG_HOST": "127.0.0.1"},
        },
        secrets={
            "dagster-postgresql-secret": {"postgresql-password": "pw"},
            "acav-object-store": {"AWS_ACCESS_KEY_ID": "key"},
        },
    )


def _api(tmp_path: Path) -> Any:
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    return podman_kube.ApiEndpoint("127.0.0.1", 6443, "token", ca)


def _step_pod(k8s_instance: dict, tags: dict) -> dict:
    """The pod spec dagster-k8s builds for a step with these op tags and this instance."""
    cfg = k8s_instance["run_launcher"]["config"]
    job_config = DagsterK8sJobConfig(
        job_image=IMAGE,
        dagster_home=cfg["dagster_home"],
        instance_config_map=cfg["instance_config_map"],
        postgres_password_secret=cfg["postgres_password_secret"],
        env_config_maps=cfg["env_config_maps"],
        env_secrets=cfg["env_secrets"],
        volumes=cfg["volumes"],
        volume_mounts=cfg["volume_mounts"],
    )
    user = UserDefinedDagsterK8sConfig.from_dict(tags["dagster-k8s/config"])
    job = construct_dagster_k8s_job(
        job_config, ["dagster", "api", "execute_step"], "dagster-step-abc", user
    )
    return kubernetes.client.ApiClient().sanitize_for_serialization(job)["spec"]["template"]


def _options(args: list[str], flag: str) -> list[str]:
    return [args[i + 1] for i, a in enumerate(args) if a == flag]


def test_embedding_step_pod_runs_with_its_env_limits_and_shared_memory(k8s_instance, tmp_path):
    tags = k8s_op_tags(cpu="4", memory="16Gi", gpu=1, shared_memory="2Gi")
    template = _step_pod(k8s_instance, tags)
    args = podman_kube.podman_run_args(
        "dagster-step-abc", template["spec"], _namespace(), tmp_path, _api(tmp_path), {}, 2
    )
    env = dict(e.split("=", 1) for e in _options(args, "--env"))
    assert env["ACAV_HOME"] == "s3://bucket/acav" and env["DAGSTER_PG_HOST"] == "127.0.0.1"
    assert env["DAGSTER_PG_PASSWORD"] == "pw" and env["AWS_ACCESS_KEY_ID"] == "key"
    assert env["DAGSTER_HOME"] == k8s_instance["run_launcher"]["config"]["dagster_home"]
    assert (
        env["KUBERNETES_SERVICE_HOST"] == "127.0.0.1" and env["KUBERNETES_SERVICE_PORT"] == "6443"
    )
    assert _options(args, "--shm-size") == [str(2 * 2**30)]
    assert _options(args, "--cpus") == ["2"]  # 4 asked, 2 here
    assert _options(args, "--memory") == [str(16 * 2**30)]
    (account,) = [
        m for m in _options(args, "-v") if m.endswith(podman_kube.SERVICE_ACCOUNT_DIR + ":ro")
    ]
    assert (Path(account.split(":")[0]) / "token").read_text() == "token"
    # The optional cookies Secret does not exist: Kubernetes mounts nothing for it.
    assert not [m for m in _options(args, "-v") if "ytdlp" in m]
    assert args[-4:] == [IMAGE, "dagster", "api", "execute_step"]
    assert podman_kube._unscheduled(template["spec"]) == [
        "limits nvidia.com/gpu",
        "nodeSelector {'acav.io/pool': 'gpu'}",
        "requests nvidia.com/gpu",
        "tolerations",
    ]


def test_config_map_file_and_security_context_become_a_read_only_mount_and_a_user(tmp_path):
    namespace = _namespace()
    namespace.config_maps["dagster-instance"] = {"dagster.yaml": "telemetry: {}\n"}
    spec = {
        "securityContext": {"runAsUser": 10001, "runAsNonRoot": True, "fsGroup": 10001},
        "containers": [
            {
                "name": "c",
                "image": IMAGE,
                "command": ["dagster-daemon"],
                "args": ["run"],
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"]},
                },
                "volumeMounts": [
                    {"name": "i", "mountPath": "/home/dagster.yaml", "subPath": "dagster.yaml"},
                    {"name": "scratch", "mountPath": "/scratch"},
                ],
            }
        ],
        "volumes": [
            {"name": "i", "configMap": {"name": "dagster-instance"}},
            {"name": "scratch", "emptyDir": {}},
        ],
    }
    args = podman_kube.podman_run_args("p", spec, namespace, tmp_path, _api(tmp_path), {}, 2)
    assert _options(args, "--user") == ["10001"] and _options(args, "--group-add") == ["10001"]
    assert _options(args, "--cap-drop") == ["ALL"] and "no-new-privileges" in args
    (instance,) = [m for m in _options(args, "-v") if m.endswith(":/home/dagster.yaml:ro")]
    assert Path(instance.split(":")[0]).read_text() == "telemetry: {}\n"
    (scratch,) = [m for m in _options(args, "-v") if m.endswith(":/scratch:rw")]
    assert Path(scratch.split(":")[0]).stat().st_gid == 10001
    assert _options(args, "--entrypoint") == ['["dagster-daemon"]']
    assert args[-2:] == [IMAGE, "run"]


def _pod(**overrides: Any) -> dict:
    container = {"name": "c", "image": IMAGE, **overrides.pop("container", {})}
    return {"containers": [container], **overrides}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (_pod(container={"envFrom": [{"configMapRef": {"name": "nope"}}]}), "'nope' does not"),
        (
            _pod(
                container={"volumeMounts": [{"name": "v", "mountPath": "/v"}]},
                volumes=[{"name": "v", "persistentVolumeClaim": {"claimName": "x"}}],
            ),
            "persistentVolumeClaim",
        ),
        (_pod(securityContext={"runAsNonRoot": True, "runAsUser": 0}), "runAsUser is 0"),
        (
            _pod(
                container={
                    "env": [
                        {
                            "name": "X",
                            "valueFrom": {
                                "secretKeyRef": {"name": "acav-object-store", "key": "missing"}
                            },
                        }
                    ]
                }
            ),
            "no key 'missing'",
        ),  # fmt: skip
        ({"containers": [{"name": "a", "image": IMAGE}, {"name": "b", "image": IMAGE}]}, "one"),
    ],
)
def test_pod_spec_a_cluster_would_refuse_is_refused(spec, message, tmp_path):
    with pytest.raises(podman_kube.PodSpecError, match=message):
        podman_kube.podman_run_args("p", spec, _namespace(), tmp_path, _api(tmp_path), {}, 2)


_UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}


@given(st.integers(1, 10**6), st.sampled_from(sorted(_UNITS)))
def test_memory_quantities_are_bytes(number, unit):
    assert podman_kube.memory_bytes(f"{number}{unit}") == number * _UNITS[unit]


@given(st.integers(1, 64_000))
def test_milli_cpus_are_thousandths(milli):
    assert podman_kube.cpus(f"{milli}m") == pytest.approx(milli / 1000)
    assert podman_kube.cpus(str(milli)) == milli


@pytest.mark.parametrize("quantity", ["", "2x", "1e3", "-1", "Gi"])
def test_bad_quantity_is_refused_with_its_value(quantity):
    with pytest.raises(podman_kube.PodSpecError, match=repr(quantity)):
        podman_kube.memory_bytes(quantity)


def _client(cluster: Any) -> DagsterKubernetesClient:
    config = kubernetes.client.Configuration()
    config.host = f"https://{cluster.api.host}:{cluster.api.port}"
    config.ssl_ca_cert = str(cluster.api.ca_file)
    config.api_key = {"authorization": f"bearer {cluster.api.token}"}
    api = kubernetes.client.ApiClient(config)
    return DagsterKubernetesClient.production_client(
        batch_api_override=kubernetes.client.BatchV1Api(api),
        core_api_override=kubernetes.client.CoreV1Api(api),
    )


def test_api_serves_dagster_k8s_job_calls_and_reports_a_pod_that_could_not_start(tmp_path):
    """A Job whose pod the stand-in refuses (a PVC) fails, as CreateContainerConfigError would."""
    body = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "dagster-step-x", "labels": {"dagster/op": "s"}},
        "spec": {
            "template": {
                "metadata": {"labels": {"dagster/op": "s"}},
                "spec": _pod(
                    container={"volumeMounts": [{"name": "v", "mountPath": "/v"}]},
                    volumes=[{"name": "v", "persistentVolumeClaim": {"claimName": "x"}}],
                ),
            }
        },
    }
    with podman_kube.Cluster(_namespace(), tmp_path, lambda image: "10001") as cluster:
        client = _client(cluster)
        client.create_namespaced_job_with_retries(body=body, namespace="acav")
        status = client.get_job_status(job_name="dagster-step-x", namespace="acav")
        assert status.failed == 1 and not status.active
        assert client.get_pod_names_in_job("dagster-step-x", namespace="acav") == ["dagster-step-x"]
        logs = client.core_api.read_namespaced_pod_log("dagster-step-x", "acav")
        assert "persistentVolumeClaim" in logs
        client.delete_job(job_name="dagster-step-x", namespace="acav")
        assert client.get_job_status(job_name="dagster-step-x", namespace="acav") is None
        assert cluster.unhandled == []


def test_api_refuses_a_client_without_the_token(tmp_path):
    with podman_kube.Cluster(_namespace(), tmp_path, lambda image: "10001") as cluster:
        client = _client(cluster)
        client.batch_api.api_client.configuration.api_key = {"authorization": "bearer wrong"}
        with pytest.raises(kubernetes.client.rest.ApiException) as caught:
            client.batch_api.list_namespaced_job("acav")
        assert caught.value.status == 401
