"""`make deploy-check`: acav's CPU image run for real on this machine, as a cluster runs it.

Prints ONE JSON line on stdout (progress goes to stderr) and exits 1 unless every check is ok:

- ``demo``: ``acav demo`` on a small generated corpus, in the image, as its non-root user;
- ``code_server``: the code server started as the Helm chart starts it (``dagster api grpc``
  with the args, env, Secrets, ConfigMaps and security context of deployments/helm/values.yaml),
  answering the chart's readiness probe (``dagster api grpc-health-check``);
- ``execute_step``: a shard run, end to end the cluster's way: the daemon (as the chart starts
  it, with deployments/dagster.k8s.yaml as its instance) runs ``new_manifest_sensor`` against
  the code server, which asks for a ``register_sources`` run, then for the shard's run; the
  daemon launches each with ``K8sRunLauncher``, and the run worker's ``k8s_job_executor`` runs
  each step as a Job whose pod runs ``dagster api execute_step`` with the arguments
  dagster-k8s serialises. Dagster's storage is
  a real PostgreSQL on 127.0.0.1 (deployments/local-postgres.sh, TLS as ``sslmode: require``
  asks), the storage root a bucket in moto's S3 server on 127.0.0.1, the videos URLs on a local
  HTTP server; the materializations are then read from this host's own instance.

Pods are podman containers (deployments/podman_kube.py says what that stand-in does and does
not do). Local changes to the cluster's configuration, all forced by having no cluster:
the Postgres port and host, the S3 endpoint (``AWS_ENDPOINT_URL``, as
k8s/storage/object-store.yaml describes for MinIO) and the code server's address are
127.0.0.1 and free ports instead of cluster DNS names; the code server binds 127.0.0.1, not
0.0.0.0, because pods share this host's network.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import logging
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import yaml
from podman_kube import PODMAN, ULIMITS, Cluster, Namespace

DEPLOYMENTS = Path(__file__).resolve().parent
REPO = DEPLOYMENTS.parent
NAMESPACE = "acav"
RELEASE = "dagster"  # `helm upgrade --install dagster ...` (deployments/README.md)
# Names the Dagster chart gives its objects for that release and its user-deployments subchart.
USER_DEPLOYMENTS = f"{RELEASE}-dagster-user-deployments"
PG_SECRET = "dagster-postgresql-secret"  # the chart's default global.postgresqlSecretName
DAGSTER_HOME = "/opt/dagster/dagster_home"
WORKSPACE = "/dagster-workspace/workspace.yaml"  # where the daemon's workspace is mounted
IMAGE_UID = "10001"
REGISTER_JOB = "register_sources"  # the sensor's first run: the manifest becomes shards
SHARD_JOB = "ingest_and_embed_shard"
SHARD_ASSETS = ["videos", "clips", "audio_embeddings", "visual_embeddings"]

log = logging.getLogger("deploy_check")


# --- small helpers ---


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(what: str, test: Callable[[], Any], timeout: float, every: float = 2.0) -> Any:
    """Polls ``test`` until it returns something truthy; TimeoutError names ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        result = test()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:.0f} s")
        time.sleep(every)


def podman(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([*PODMAN, *args], capture_output=True, text=True, check=check)


def image_bytes(image: str) -> int | None:
    out = podman("image", "inspect", "--format", "{{.Size}}", image, check=False)
    return int(out.stdout) if out.returncode == 0 else None


def image_user(image: str) -> str:
    return podman("image", "inspect", "--format", "{{.Config.User}}", image).stdout.strip()


def config_map(path: Path, name: str) -> dict[str, str]:
    """The data of ConfigMap ``name`` in a manifest of k8s/."""
    for doc in yaml.safe_load_all(path.read_text()):
        if doc and doc.get("kind") == "ConfigMap" and doc["metadata"]["name"] == name:
            return {k: str(v) for k, v in (doc.get("data") or {}).items()}
    raise ValueError(f"{path} has no ConfigMap {name!r}")


def _tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


# --- check 1: the demo ---


def check_demo(image: str, workdir: Path, videos: int, seeds: int) -> dict[str, Any]:
    """``acav demo`` in the image as its own user; its files land in a folder mounted from here."""
    user = image_user(image)
    if user.split(":")[0] != IMAGE_UID:
        raise RuntimeError(f"{image} runs as {user!r}, not uid {IMAGE_UID}")
    out = workdir / "demo"
    out.mkdir()
    os.chown(out, int(IMAGE_UID), int(IMAGE_UID))
    began = time.monotonic()
    # PyTorch's DataLoader workers hand batches over in /dev/shm: 64 MB by default in a
    # container, so `docker run` needs --shm-size (a pod: an emptyDir of medium Memory).
    run = subprocess.run(
        [*PODMAN, "run", "--rm", "--network", "host", "--shm-size", "2g", *ULIMITS,
         "-v", f"{out}:/var/lib/acav/demo", image,
         "acav", "demo", "--videos", str(videos), "--seeds", str(seeds)],
        capture_output=True, text=True,
    )  # fmt: skip
    seconds = time.monotonic() - began
    if run.returncode != 0:
        raise RuntimeError(f"acav demo exited {run.returncode}: {_tail(run.stderr)}")
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    report, export = out / "report.html", out / "subset.csv"
    for path in (report, export):
        if not path.is_file() or path.stat().st_uid != int(IMAGE_UID):
            raise RuntimeError(f"{path.name} was not written by uid {IMAGE_UID}")
    return {
        "demo_seconds": round(seconds, 1),
        "demo_user": user,
        "demo_videos": videos,
        "demo_precision": summary.get("precision", {}).get("acav"),
    }


# --- the cluster: its services, objects and the chart's pods ---


@contextmanager
def postgres(workdir: Path) -> Iterator[tuple[int, str]]:
    """(port, password) of a throwaway server made by local-postgres.sh."""
    folder, port = workdir / "postgres", free_port()
    script = str(DEPLOYMENTS / "local-postgres.sh")
    url = subprocess.run(
        [script, "start", str(folder), str(port)], capture_output=True, text=True, check=True
    ).stdout.strip()
    try:
        yield port, url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
    finally:
        subprocess.run([script, "stop", str(folder)], capture_output=True)


@contextmanager
def s3_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def http_server(folder: Path) -> Iterator[str]:
    """The corpus over HTTP on 127.0.0.1: the videos are URLs the ingest step downloads."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def render_instance(pg_port: int) -> str:
    """deployments/dagster.k8s.yaml with the local server's port (all else as in the file)."""
    config = yaml.safe_load((DEPLOYMENTS / "dagster.k8s.yaml").read_text())
    config["storage"]["postgres"]["postgres_db"]["port"] = pg_port
    return yaml.safe_dump(config, sort_keys=False)


def host_instance(instance: str, kubeconfig: Path) -> str:
    """The instance as this host opens it: the same storage; its run launcher (which Dagster
    builds with every instance that monitors runs) reaches the API through a kubeconfig, as
    from outside a cluster."""
    config = yaml.safe_load(instance)
    launcher = config["run_launcher"]["config"]
    launcher.update(load_incluster_config=False, kubeconfig_file=str(kubeconfig))
    return yaml.safe_dump(config, sort_keys=False)


def namespace_objects(
    instance: str, pg_password: str, s3_endpoint: str, grpc_port: int
) -> Namespace:
    """The ConfigMaps and Secrets of k8s/ and of the chart, with loopback for cluster names."""
    storage = config_map(REPO / "k8s" / "storage" / "object-store.yaml", "acav-storage")
    storage["AWS_ENDPOINT_URL"] = s3_endpoint
    pg = config_map(REPO / "k8s" / "postgres.yaml", "acav-postgres")
    pg["DAGSTER_PG_HOST"] = "127.0.0.1"
    workspace = {
        "load_from": [
            {"grpc_server": {"host": "127.0.0.1", "port": grpc_port, "location_name": "acav"}}
        ]
    }
    shared = {
        "DAGSTER_HOME": DAGSTER_HOME,
        "DAGSTER_K8S_PIPELINE_RUN_NAMESPACE": NAMESPACE,
        "DAGSTER_K8S_PIPELINE_RUN_ENV_CONFIGMAP": f"{RELEASE}-pipeline-env",
    }
    return Namespace(
        NAMESPACE,
        config_maps={
            "acav-storage": storage,
            "acav-postgres": pg,
            "dagster-instance": {"dagster.yaml": instance},
            "dagster-workspace-yaml": {"workspace.yaml": yaml.safe_dump(workspace)},
            f"{RELEASE}-daemon-env": shared,
            f"{USER_DEPLOYMENTS}-user-deployments-shared-env": shared,
            f"{USER_DEPLOYMENTS}-acav-user-env": {},
        },
        secrets={
            PG_SECRET: {"postgresql-password": pg_password},
            "acav-object-store": {
                "AWS_ACCESS_KEY_ID": "deploy-check",
                "AWS_SECRET_ACCESS_KEY": secrets.token_hex(16),
            },
        },
    )


def stand_in_values() -> dict[str, Any]:
    """The Helm values, but for the network reach: the chart refuses downloads from private
    addresses (ACAV_REFUSE_PRIVATE_ADDRESSES), and this check's videos are served on
    loopback, as its PostgreSQL and S3 are."""
    values = yaml.safe_load((DEPLOYMENTS / "helm" / "values.yaml").read_text())
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    for item in deployment.get("env", []):
        if item["name"] == "ACAV_REFUSE_PRIVATE_ADDRESSES":
            item["value"] = "false"
    return values


def code_server_pod(values: dict[str, Any], image: str, port: int) -> dict[str, Any]:
    """The pod of the chart's user deployment (templates/deployment-user.yaml) for acav."""
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    env_config_maps = [f"{USER_DEPLOYMENTS}-{deployment['name']}-user-env"]
    env_config_maps += [m["name"] for m in deployment.get("envConfigMaps", [])]
    container_context = {
        "k8s": {
            "image_pull_policy": deployment["image"]["pullPolicy"],
            "env_config_maps": env_config_maps,
            "env_secrets": [s["name"] for s in deployment.get("envSecrets", [])],
            "volume_mounts": deployment.get("volumeMounts", []),
            "volumes": deployment.get("volumes", []),
            "resources": deployment.get("resources", {}),
            "namespace": NAMESPACE,
            "service_account_name": values["global"]["serviceAccountName"],
            "env": deployment.get("env", []),
        }
    }
    secret_ref = {"secretKeyRef": {"name": PG_SECRET, "key": "postgresql-password"}}
    env = [
        {"name": "DAGSTER_CURRENT_IMAGE", "value": image},
        {"name": "DAGSTER_PG_PASSWORD", "valueFrom": secret_ref},
        {"name": "DAGSTER_CLI_API_GRPC_CONTAINER_CONTEXT", "value": json.dumps(container_context)},
        *deployment.get("env", []),
    ]
    env_from = [
        {"configMapRef": {"name": f"{USER_DEPLOYMENTS}-user-deployments-shared-env"}},
        *({"configMapRef": {"name": name}} for name in env_config_maps),
        # Chart-less instance (dagster.k8s.yaml) reads the database's address from env.
        {"configMapRef": {"name": "acav-postgres"}},
        *({"secretRef": s} for s in deployment.get("envSecrets", [])),
    ]
    args = ["dagster", "api", "grpc", "-h", "127.0.0.1", "-p", str(port)]
    return {
        "serviceAccountName": values["global"]["serviceAccountName"],
        "automountServiceAccountToken": True,
        "securityContext": deployment.get("podSecurityContext", {}),
        "containers": [
            {
                "name": "dagster-user-deployments",
                "image": image,
                "args": [*args, *deployment["dagsterApiGrpcArgs"]],
                "env": env,
                "envFrom": env_from,
                "securityContext": deployment.get("securityContext", {}),
                "resources": deployment.get("resources", {}),
                "volumeMounts": deployment.get("volumeMounts", []),
            }
        ],
        "volumes": deployment.get("volumes", []),
    }


def daemon_pod(values: dict[str, Any], image: str) -> dict[str, Any]:
    """The pod of the chart's daemon (templates/deployment-daemon.yaml), in acav's image."""
    secret_ref = {"secretKeyRef": {"name": PG_SECRET, "key": "postgresql-password"}}
    return {
        "serviceAccountName": values["global"]["serviceAccountName"],
        "automountServiceAccountToken": True,
        "containers": [
            {
                "name": "dagster",
                "image": image,
                "command": ["dagster-daemon"],
                "args": ["run", "-w", WORKSPACE],
                "env": [{"name": "DAGSTER_PG_PASSWORD", "valueFrom": secret_ref}],
                "envFrom": [
                    {"configMapRef": {"name": f"{RELEASE}-daemon-env"}},
                    {"configMapRef": {"name": "acav-postgres"}},
                ],
                "volumeMounts": [
                    {
                        "name": "dagster-instance",
                        "mountPath": f"{DAGSTER_HOME}/dagster.yaml",
                        "subPath": "dagster.yaml",
                    },
                    {
                        "name": "dagster-workspace-yaml",
                        "mountPath": WORKSPACE,
                        "subPath": "workspace.yaml",
                    },
                ],
            }
        ],
        "volumes": [
            {"name": "dagster-instance", "configMap": {"name": "dagster-instance"}},
            {"name": "dagster-workspace-yaml", "configMap": {"name": "dagster-workspace-yaml"}},
        ],
    }


# --- checks 2 and 3: the code server, then a shard run through the daemon and the executor ---


def _ready(cluster: Cluster, pod: str, port: int) -> bool:
    state, _ = cluster.pod_state(pod)
    if state == "Failed":
        raise RuntimeError(f"{pod} exited: {_tail(cluster.logs(pod))}")
    probe = ["dagster", "api", "grpc-health-check", "-p", str(port)]
    return cluster.exec(pod, probe, timeout=30).returncode == 0


def start_code_server(cluster: Cluster, image: str, port: int) -> dict[str, Any]:
    values = stand_in_values()
    pod = f"{USER_DEPLOYMENTS}-acav"
    spec = code_server_pod(values, image, port)
    began = time.monotonic()
    started = cluster.run_pod(pod, spec, {"component": "user-deployments", "deployment": "acav"})
    if started.error:
        raise RuntimeError(f"the code server did not start: {started.error}")
    # The chart's readinessProbe: every 20 s, up to 15 failures.
    wait_for("the code server's gRPC health check", lambda: _ready(cluster, pod, port), 300, 5)
    return {
        "code_server_seconds": round(time.monotonic() - began, 1),
        "code_server_command": spec["containers"][0]["args"],
        "code_server_user": cluster.pod_user(pod),
    }


def _host_env(pg_port: int, pg_password: str, home: Path) -> dict[str, str]:
    pg = config_map(REPO / "k8s" / "postgres.yaml", "acav-postgres")
    return {
        **os.environ,
        **pg,
        "DAGSTER_PG_HOST": "127.0.0.1",
        "DAGSTER_PG_PASSWORD": pg_password,
        "DAGSTER_HOME": str(home),
    }


def _run_errors(instance: Any, run_id: str) -> str:
    """The failures the run's event log holds: what the UI would show in red."""
    lines = []
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or not (event.is_failure or event.event_type_value == "ENGINE_EVENT"):
            continue
        error = getattr(event.event_specific_data, "error", None)
        lines.append(f"{event.event_type_value} {event.step_key or ''}: {event.message or ''}")
        if error is not None:
            lines.append(_tail(error.to_string(), 12))
    return "\n".join(lines[-40:])


def _pod_logs(cluster: Cluster) -> str:
    return "\n".join(
        f"--- pod {name}\n{_tail(cluster.logs(name), 15)}" for name in list(cluster.pods)
    )


def run_shard(
    cluster: Cluster, image: str, host_home: Path, host_env: dict[str, str], timeout: float
) -> dict[str, Any]:
    """Starts the daemon and the sensor, waits for the shard's run, checks what it wrote."""
    import dagster as dg

    values = stand_in_values()
    daemon = cluster.run_pod(
        f"{RELEASE}-daemon", daemon_pod(values, image), {"component": "daemon"}
    )
    if daemon.error:
        raise RuntimeError(f"the daemon did not start: {daemon.error}")
    # As an operator would without the UI: `kubectl exec deploy/dagster-daemon -- dagster
    # sensor start ...` (the CLI loads the instance, whose run launcher needs in-cluster config).
    sensor = ["dagster", "sensor", "start", "new_manifest_sensor", "-w", WORKSPACE]
    started = cluster.exec(daemon.name, sensor, timeout=300)
    if started.returncode != 0:
        raise RuntimeError(f"dagster sensor start failed: {_tail(started.stderr)}")
    os.environ.update(host_env)
    began = time.monotonic()
    with dg.DagsterInstance.from_config(str(host_home)) as instance:

        def latest(job: str) -> Any:
            if cluster.pod_state(daemon.name)[0] == "Failed":
                raise RuntimeError(f"the daemon exited: {_tail(cluster.logs(daemon.name))}")
            runs = instance.get_runs(filters=dg.RunsFilter(job_name=job), limit=1)
            return runs[0] if runs else None

        def shard_run() -> Any:
            register = latest(REGISTER_JOB)
            if register is not None and register.is_finished and not register.is_success:
                errors = _run_errors(instance, register.run_id)
                raise RuntimeError(f"{REGISTER_JOB} ended {register.status.value}:\n{errors}")
            return latest(SHARD_JOB)

        # Registering is a run of its own (a pod for its step); the sensor's next tick, at
        # least 30 s later, asks for the shard's run.
        run = wait_for("a shard run requested by new_manifest_sensor", shard_run, 600)
        register_run = latest(REGISTER_JOB).run_id
        log.info("run %s of shard %s queued", run.run_id, run.tags.get("dagster/partition"))

        def finished():
            current = instance.get_run_by_id(run.run_id)
            return current if current is not None and current.is_finished else None

        run = wait_for(f"run {run.run_id} to finish", finished, timeout, 5)
        jobs = [name for name, pod in list(cluster.pods.items()) if "job-name" in pod.labels]

        def exited():
            return all(cluster.pod_state(name)[0] in ("Succeeded", "Failed") for name in jobs)

        wait_for("the run's pods to exit", exited, 120)
        pods = [cluster.pod_object(name) for name in jobs]
        steps = [
            p
            for p in pods
            if p["metadata"]["labels"].get("app.kubernetes.io/component") == "step_worker"
        ]
        if run.status != dg.DagsterRunStatus.SUCCESS:
            raise RuntimeError(
                f"run {run.run_id} ended {run.status.value}:\n{_run_errors(instance, run.run_id)}"
                f"\n{_pod_logs(cluster)}"
            )
        partition = run.tags["dagster/partition"]
        materialized = {}
        for asset in SHARD_ASSETS:
            records = instance.fetch_materializations(dg.AssetKey(asset), limit=1).records
            if not records or records[0].run_id != run.run_id:
                raise RuntimeError(f"{asset} has no materialization from run {run.run_id}")
            event = records[0].asset_materialization
            if event.partition != partition:
                raise RuntimeError(f"{asset} materialized {event.partition!r}, not {partition!r}")
            counts = {"total", "ok", "downloaded", "clips"}
            materialized[asset] = {k: v.value for k, v in event.metadata.items() if k in counts}
        videos = materialized["videos"]
        if not videos.get("total") or videos.get("downloaded") != videos["total"]:
            raise RuntimeError(f"not every video of the shard was downloaded: {videos}")
    if not steps:
        raise RuntimeError("no step ran as a Kubernetes Job: was the executor k8s_job_executor?")
    step_pods = []
    for pod in steps:
        container = pod["spec"]["containers"][0]
        env = {e["name"] for e in container.get("env") or []}
        state = pod["status"]["containerStatuses"][0]["state"]
        step_pods.append(
            {
                "job": pod["metadata"]["name"],
                "step": pod["metadata"]["labels"].get("dagster/op"),
                "args": container.get("args"),
                "serialized_args_in_env": "DAGSTER_COMPRESSED_EXECUTE_STEP_ARGS" in env,
                "user": cluster.pod_user(pod["metadata"]["name"]),
                "exit_code": state.get("terminated", {}).get("exitCode"),
            }
        )
    bad = [
        s for s in step_pods if s["args"] != ["dagster", "api", "execute_step"] or s["exit_code"]
    ]
    if bad:
        raise RuntimeError(f"step pods not run as dagster-k8s runs them: {bad}")
    return {
        "execute_step_seconds": round(time.monotonic() - began, 1),
        "register_run_id": register_run,
        "run_id": run.run_id,
        "partition": partition,
        "materialized": materialized,
        "step_pods": step_pods,
        "k8s_api_unhandled": sorted(set(cluster.unhandled)),
    }


def check_cluster(image: str, workdir: Path, videos: int, timeout: float) -> dict[str, Any]:
    """Checks 2 and 3 on one stand-in cluster; returns both results (and their details)."""
    import boto3

    from acav_assets.core.evaluation import generate_corpus

    results: dict[str, Any] = {}
    with ExitStack() as stack:
        pg_port, pg_password = stack.enter_context(postgres(workdir))
        s3_endpoint = stack.enter_context(s3_server())
        corpus = generate_corpus(
            workdir / "corpus", n_videos=videos, n_classes=2, min_seconds=31, max_seconds=34,
            width=160, height=96, fps=8, seed=5,
        )  # fmt: skip
        base_url = stack.enter_context(http_server(corpus.root))
        grpc_port = free_port()
        instance = render_instance(pg_port)
        namespace = namespace_objects(instance, pg_password, s3_endpoint, grpc_port)

        storage = namespace.config_maps["acav-storage"]
        bucket, _, prefix = storage["ACAV_HOME"].removeprefix("s3://").partition("/")
        keys = namespace.secrets["acav-object-store"]
        s3 = boto3.client(
            "s3",
            endpoint_url=s3_endpoint,
            region_name=storage["AWS_REGION"],
            aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
        )
        location = {"LocationConstraint": storage["AWS_REGION"]}
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration=location)
        urls = [
            f"{base_url}/{p.relative_to(corpus.root).as_posix()}"
            for p in sorted((corpus.root / "videos").glob("*.mp4"))
        ]
        manifest = "\n".join(urls) + "\n"
        s3.put_object(Bucket=bucket, Key=f"{prefix}/sources/deploy-check.txt", Body=manifest)

        cluster = stack.enter_context(Cluster(namespace, workdir / "cluster", image_user))
        host_home = workdir / "host-dagster-home"
        host_home.mkdir()
        kubeconfig = cluster.kubeconfig(workdir / "kubeconfig")
        (host_home / "dagster.yaml").write_text(host_instance(instance, kubeconfig))
        host_env = _host_env(pg_port, pg_password, host_home)
        try:
            results["code_server"] = start_code_server(cluster, image, grpc_port)
        except Exception as e:
            results["code_server"] = e
            results["execute_step"] = RuntimeError("not run: the code server did not start")
            return results
        try:
            shard = run_shard(cluster, image, host_home, host_env, timeout)
            pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
            wanted = {
                "media": f"{prefix}/media/{shard['partition']}/",
                "videos": f"{prefix}/tables/videos/shard={shard['partition']}/",
                "clips": f"{prefix}/tables/clips/shard={shard['partition']}/",
                "embeddings": f"shard={shard['partition']}/",
            }
            found = {
                name: sum(1 for k in keys if (k.startswith(p) if name != "embeddings" else
                                              k.startswith(f"{prefix}/embeddings/") and p in k))
                for name, p in wanted.items()
            }  # fmt: skip
            if not all(found.values()):
                raise RuntimeError(f"the shard's products are not all in the bucket: {found}")
            results["execute_step"] = {**shard, "bucket_objects": found}
        except Exception as e:
            results["execute_step"] = e
    return results


def _outcome(name: str, value: Any, out: dict[str, Any]) -> bool:
    if isinstance(value, BaseException):
        log.error("%s failed:\n%s", name, "".join(traceback.format_exception(value)))
        out[name] = f"{type(value).__name__}: {value}"
        return False
    out[name] = "ok"
    out.update(value)
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cpu-image", default=os.environ.get("ACAV_CPU_IMAGE", "localhost/acav:local")
    )
    parser.add_argument(
        "--gpu-image", default=os.environ.get("ACAV_GPU_IMAGE", "localhost/acav-gpu:local")
    )
    parser.add_argument("--demo-videos", type=int, default=24)
    parser.add_argument("--demo-seeds", type=int, default=2)
    parser.add_argument("--shard-videos", type=int, default=6)
    parser.add_argument("--run-timeout", type=float, default=1200)
    parser.add_argument(
        "--skip-demo", action="store_true", help="report demo as skipped (for a quick re-run)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="deploy-check: %(message)s")
    for noisy in ("werkzeug", "alembic"):  # moto's request log, Dagster's schema migrations
        logging.getLogger(noisy).setLevel(logging.WARNING)

    out: dict[str, Any] = {
        "image_cpu": args.cpu_image,
        "image_cpu_bytes": image_bytes(args.cpu_image),
        "image_gpu": args.gpu_image,
        "image_gpu_bytes": image_bytes(args.gpu_image),
    }
    if out["image_cpu_bytes"] is None:
        raise SystemExit(f"no image {args.cpu_image}: run `make images` first")
    workdir = Path(tempfile.mkdtemp(prefix="acav-deploy-check-"))
    workdir.chmod(0o755)  # the server's user and the containers' uid reach into it
    ok = True
    try:
        if args.skip_demo:
            out["demo"] = "skipped"
            ok = False
        else:
            log.info("demo: acav demo --videos %d --seeds %d", args.demo_videos, args.demo_seeds)
            try:
                demo: Any = check_demo(args.cpu_image, workdir, args.demo_videos, args.demo_seeds)
            except Exception as e:
                demo = e
            ok &= _outcome("demo", demo, out)
        log.info("code server and a shard run on the stand-in cluster")
        try:
            cluster = check_cluster(args.cpu_image, workdir, args.shard_videos, args.run_timeout)
        except Exception as e:
            cluster = {"code_server": e, "execute_step": e}
        ok &= _outcome("code_server", cluster["code_server"], out)
        ok &= _outcome("execute_step", cluster["execute_step"], out)
    finally:
        if args.keep or not ok:
            log.info("work folder kept: %s", workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    out["load_avg"] = os.getloadavg()
    sys.stdout.write(json.dumps(out) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
