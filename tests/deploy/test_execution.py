"""Pod tags ask for a GPU only where told, and both executors build."""

from __future__ import annotations

import dagster as dg
import kubernetes
import pytest
import yaml
from dagster._config import process_config
from dagster._core.definitions.job_base import InMemoryJob
from dagster._core.executor.init import InitExecutorContext
from dagster_k8s import k8s_job_executor
from dagster_k8s.executor import K8sStepHandler
from dagster_k8s.job import (
    DagsterK8sJobConfig,
    construct_dagster_k8s_job,
    get_user_defined_k8s_config,
)
from deploy_files import validate_k8s
from hypothesis import given
from hypothesis import strategies as st

from acav_assets.defs.execution import (
    EXECUTOR_ENV,
    GPU_NODE_SELECTOR,
    GPU_RESOURCE,
    GPU_TOLERATIONS,
    K8S_CONFIG_TAG,
    SHM_VOLUME,
    build_executor,
    executor_for,
    k8s_op_tags,
    run_tags,
)


def _step_pod(tags: dict) -> dict:
    """The pod spec of the Job the k8s executor would submit for a step with these op tags."""

    @dg.asset(op_tags=tags)
    def step():
        return 1

    job_def = dg.Definitions(assets=[step]).resolve_implicit_global_asset_job_def()
    node_tags = job_def.graph.node_named("step").tags
    job = construct_dagster_k8s_job(
        DagsterK8sJobConfig(job_image="ghcr.io/acav-project/acav-gpu:0.1.0"),
        ["dagster", "api", "execute_step"],
        "dagster-step-0123abcd",
        get_user_defined_k8s_config(node_tags),
    )
    doc = kubernetes.client.ApiClient().sanitize_for_serialization(job)
    validate_k8s(doc)
    return doc["spec"]["template"]["spec"]


def test_gpu_step_requests_a_gpu_on_the_gpu_pool():
    pod = _step_pod(k8s_op_tags(cpu="4", memory="16Gi", gpu=1, ephemeral_storage="50Gi"))
    resources = pod["containers"][0]["resources"]
    assert resources["limits"][GPU_RESOURCE] == "1"
    assert resources["requests"][GPU_RESOURCE] == "1"
    assert resources["requests"]["ephemeral-storage"] == "50Gi"
    assert pod["nodeSelector"] == GPU_NODE_SELECTOR
    assert pod["tolerations"] == GPU_TOLERATIONS


def test_cpu_step_asks_for_cpu_and_memory_and_no_gpu():
    pod = _step_pod(k8s_op_tags(cpu="500m", memory="2Gi"))
    resources = pod["containers"][0]["resources"]
    assert resources["requests"] == {"cpu": "500m", "memory": "2Gi"}
    assert resources["limits"] == {"cpu": "500m", "memory": "2Gi"}
    assert "nodeSelector" not in pod and "tolerations" not in pod


def test_shared_memory_mounts_a_memory_backed_dev_shm_of_that_size():
    pod = _step_pod(k8s_op_tags(cpu="4", memory="16Gi", shared_memory="2Gi"))
    (volume,) = [v for v in pod["volumes"] if v["name"] == SHM_VOLUME]
    assert volume["emptyDir"] == {"medium": "Memory", "sizeLimit": "2Gi"}
    mounts = pod["containers"][0]["volumeMounts"]
    assert {"name": SHM_VOLUME, "mountPath": "/dev/shm"} in mounts
    assert "nodeSelector" not in pod


def test_embedding_step_gets_shared_memory_for_its_loader_workers():
    from acav_assets.defs.features.assets import embedded_shard

    config = get_user_defined_k8s_config(embedded_shard.op.tags)
    assert [v["name"] for v in config.pod_spec_config["volumes"]] == [SHM_VOLUME]
    assert config.container_config["volume_mounts"][0]["mount_path"] == "/dev/shm"


@given(
    cpu=st.sampled_from(["250m", "1", "2.5", "16"]),
    memory=st.sampled_from(["512Mi", "4Gi", "1e9", "64G"]),
    gpu=st.integers(0, 8),
)
def test_gpu_appears_in_tags_exactly_when_asked(cpu, memory, gpu):
    config = k8s_op_tags(cpu=cpu, memory=memory, gpu=gpu)[K8S_CONFIG_TAG]
    resources = config["container_config"]["resources"]
    assert resources["requests"] == resources["limits"]
    assert (GPU_RESOURCE in resources["limits"]) == (gpu > 0)
    assert ("pod_spec_config" in config) == (gpu > 0)
    if gpu:
        assert resources["limits"][GPU_RESOURCE] == str(gpu)


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"cpu": "two", "memory": "1Gi"}, "cpu='two'"),
        ({"cpu": "0", "memory": "1Gi"}, "cpu='0'"),
        ({"cpu": "1", "memory": "4GB"}, "memory='4GB'"),
        ({"cpu": "1", "memory": "1Gi", "gpu": -1}, "gpu=-1"),
        ({"cpu": "1", "memory": "1Gi", "gpu": 1.5}, "gpu=1.5"),
        ({"cpu": "1", "memory": "1Gi", "ephemeral_storage": ""}, "ephemeral_storage=''"),
        ({"cpu": "1", "memory": "1Gi", "shared_memory": "2GB"}, "shared_memory='2GB'"),
    ],
)
def test_bad_resource_request_names_the_value(kwargs, named):
    with pytest.raises(ValueError, match=named.replace("(", r"\(")):
        k8s_op_tags(**kwargs)


def test_run_tags_match_the_run_queue_limits(k8s_instance):
    keys = {
        lim["key"] for lim in k8s_instance["run_coordinator"]["config"]["tag_concurrency_limits"]
    }
    assert set(run_tags(downloads=True, gpu=True)) == keys
    assert run_tags() == {}


def test_executor_modes_pick_multiprocess_or_k8s_jobs():
    assert executor_for("multiprocess") is dg.multiprocess_executor
    assert executor_for("k8s") is k8s_job_executor
    with pytest.raises(ValueError, match="'celery'"):
        executor_for("celery")


def test_build_executor_reads_the_one_env_var(monkeypatch):
    monkeypatch.delenv(EXECUTOR_ENV, raising=False)
    assert build_executor() is dg.multiprocess_executor
    monkeypatch.setenv(EXECUTOR_ENV, "k8s")
    assert build_executor() is k8s_job_executor
    monkeypatch.setenv(EXECUTOR_ENV, "kubernetes")
    with pytest.raises(ValueError, match=f"{EXECUTOR_ENV}.*'kubernetes'"):
        build_executor()


def _init_executor(executor_def: dg.ExecutorDefinition, config: dict, instance):
    @dg.asset(op_tags=k8s_op_tags(cpu="1", memory="1Gi"))
    def step():
        return 1

    job_def = dg.Definitions(assets=[step], executor=executor_def)
    job_def = job_def.resolve_implicit_global_asset_job_def()
    processed = process_config(executor_def.config_schema.config_type, config)
    assert processed.success, processed.errors
    context = InitExecutorContext(
        job=InMemoryJob(job_def),
        executor_def=executor_def,
        executor_config=processed.value,
        instance=instance,
    )
    return executor_def.executor_creation_fn(context)


def test_both_executors_build(tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "acav",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:6443"}}],
                "users": [{"name": "u", "user": {"token": "unused"}}],
                "contexts": [{"name": "acav", "context": {"cluster": "c", "user": "u"}}],
            }
        )
    )
    with dg.instance_for_test() as instance:
        local = _init_executor(executor_for("multiprocess"), {"max_concurrent": 2}, instance)
        assert type(local).__name__ == "MultiprocessExecutor"
        cluster = _init_executor(
            executor_for("k8s"),
            {"load_incluster_config": False, "kubeconfig_file": str(kubeconfig)},
            instance,
        )
        assert isinstance(cluster._step_handler, K8sStepHandler)
