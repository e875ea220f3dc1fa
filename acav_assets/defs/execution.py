"""Where steps run: the executor of this deployment and the pod each asset asks for.

The laptop/cluster choice is made here and nowhere else, from ``ACAV_EXECUTOR``
(``multiprocess``, the default, or ``k8s``). On the cluster every step is its own Kubernetes
Job (``dagster_k8s.k8s_job_executor``); an asset states what its pod needs through
``op_tags=k8s_op_tags(...)``, which the multiprocess executor ignores, so one definition serves
both.
"""

from __future__ import annotations

import os
import re
from typing import Any

import dagster as dg
from dagster_k8s import k8s_job_executor

EXECUTOR_ENV = "ACAV_EXECUTOR"
EXECUTOR_MODES = ("multiprocess", "k8s")
DEFAULT_EXECUTOR_MODE = "multiprocess"

K8S_CONFIG_TAG = "dagster-k8s/config"
GPU_RESOURCE = "nvidia.com/gpu"
# The GPU node pool carries this label and taint (see k8s/gpu-node-pool.yaml): only pods that
# ask for a GPU select it and tolerate the taint, so CPU steps never hold a GPU node.
GPU_NODE_SELECTOR: dict[str, str] = {"acav.io/pool": "gpu"}
GPU_TOLERATIONS: list[dict[str, str]] = [
    {"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}
]

SHM_VOLUME = "dshm"

# Run tags the queued run coordinator limits (tag_concurrency_limits in deployments/dagster*.yaml
# and the Helm values): runs that download, and runs that hold GPUs, each have their own cap.
DOWNLOAD_RUN_TAG = ("acav/downloads", "true")
GPU_RUN_TAG = ("acav/gpu", "true")

# Kubernetes resource quantities: "500m", "2", "1.5", "4Gi", "512M", "1e3".
_QUANTITY = re.compile(
    r"^([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][0-9]+|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$"
)


def _quantity(name: str, value: str) -> str:
    match = _QUANTITY.match(value) if isinstance(value, str) else None
    if match is None or float(match.group(1)) == 0:
        raise ValueError(
            f"{name}={value!r} is not a positive Kubernetes quantity (e.g. '2', '500m', '8Gi')"
        )
    return value


def k8s_op_tags(
    *,
    cpu: str,
    memory: str,
    gpu: int = 0,
    ephemeral_storage: str | None = None,
    shared_memory: str | None = None,
) -> dict[str, Any]:
    """The ``dagster-k8s/config`` op tag for a step's pod.

    Requests equal limits (Guaranteed QoS): a batch step is then the last to be evicted and the
    namespace quota counts exactly what it runs. ``gpu > 0`` adds ``nvidia.com/gpu`` and pins
    the pod to the GPU pool; ``ephemeral_storage`` reserves node disk for media scratch files;
    ``shared_memory`` mounts a memory-backed ``/dev/shm`` of that size (counted in ``memory``):
    a container's own is 64 MB, too small for the batches PyTorch's DataLoader workers hand
    over through it.
    """
    quantities = {"cpu": _quantity("cpu", cpu), "memory": _quantity("memory", memory)}
    if ephemeral_storage is not None:
        quantities["ephemeral-storage"] = _quantity("ephemeral_storage", ephemeral_storage)
    if isinstance(gpu, bool) or not isinstance(gpu, int) or gpu < 0:
        raise ValueError(f"gpu={gpu!r} must be a whole number of GPUs >= 0")
    if gpu:
        quantities[GPU_RESOURCE] = str(gpu)
    container: dict[str, Any] = {"resources": {"requests": dict(quantities), "limits": quantities}}
    pod: dict[str, Any] = {}
    if gpu:
        pod["node_selector"] = dict(GPU_NODE_SELECTOR)
        pod["tolerations"] = [dict(t) for t in GPU_TOLERATIONS]
    if shared_memory is not None:
        size = _quantity("shared_memory", shared_memory)
        pod["volumes"] = [
            {"name": SHM_VOLUME, "empty_dir": {"medium": "Memory", "size_limit": size}}
        ]
        container["volume_mounts"] = [{"name": SHM_VOLUME, "mount_path": "/dev/shm"}]
    config: dict[str, Any] = {"container_config": container}
    if pod:
        config["pod_spec_config"] = pod
    return {K8S_CONFIG_TAG: config}


def run_tags(*, downloads: bool = False, gpu: bool = False) -> dict[str, str]:
    """Tags for a job or sensor's run requests, so the run queue caps downloads and GPU runs."""
    tags = {}
    if downloads:
        tags[DOWNLOAD_RUN_TAG[0]] = DOWNLOAD_RUN_TAG[1]
    if gpu:
        tags[GPU_RUN_TAG[0]] = GPU_RUN_TAG[1]
    return tags


def executor_for(mode: str) -> dg.ExecutorDefinition:
    """Dagster's multiprocess executor (``multiprocess``) or one Kubernetes Job a step (``k8s``).

    The k8s executor takes its image, namespace, secrets and service account from the
    ``K8sRunLauncher`` of the instance (deployments/helm-values.yaml), so nothing is repeated here.
    """
    if mode == "multiprocess":
        return dg.multiprocess_executor
    if mode == "k8s":
        return k8s_job_executor
    raise ValueError(f"executor mode {mode!r} is not one of {', '.join(EXECUTOR_MODES)}")


def build_executor() -> dg.ExecutorDefinition:
    """The executor of this deployment, from ``$ACAV_EXECUTOR`` (default multiprocess)."""
    mode = os.environ.get(EXECUTOR_ENV, DEFAULT_EXECUTOR_MODE).strip() or DEFAULT_EXECUTOR_MODE
    try:
        return executor_for(mode)
    except ValueError as e:
        raise ValueError(f"${EXECUTOR_ENV}: {e}") from e
