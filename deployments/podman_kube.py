"""A stand-in for the one part of Kubernetes that cannot run here: pods, as podman containers.

`deploy_check.py` uses it to run acav the way the Helm chart and dagster-k8s run it on a
cluster. Dagster's own code (``K8sRunLauncher`` in the daemon, ``k8s_job_executor`` in the run
worker) creates Jobs through the official Kubernetes client, against a small HTTPS server that
answers the calls dagster-k8s makes (create, read, list and delete Jobs; list, read and read
the logs of their pods). Each Job's pod becomes one container, started with what the pod spec
asks for: image, args, env and envFrom resolved from this namespace's ConfigMaps and Secrets,
ConfigMap/Secret/emptyDir volumes, the user and capabilities of its security context, CPU and
memory limits, and a service-account token so that in-cluster config works inside it.

What it does not do, by design: scheduling (node selectors, tolerations and ``nvidia.com/gpu``
are recorded, not honoured: there is no GPU here), pod networking (every pod shares the host's
network, so services are reached on 127.0.0.1), restarts, and persistent volumes (refused).
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import logging
import os
import re
import secrets
import shutil
import ssl
import subprocess
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("podman_kube")

PODMAN = ["podman", "--runtime", "runc", "--cgroup-manager=cgroupfs"]
# What podman needs on this machine (deployments/README.md): explicit ulimits.
ULIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
SESSION_LABEL = "io.acav.podman-kube"

_CPU = re.compile(r"^(\d+(?:\.\d+)?)(m?)$")
_MEMORY = re.compile(r"^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$")
_MEMORY_UNITS = {
    None: 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
}


class PodSpecError(ValueError):
    """A pod asks for something this stand-in cannot give (or Kubernetes would refuse)."""


def cpus(quantity: str) -> float:
    """A Kubernetes CPU quantity ("500m", "2") in CPUs."""
    match = _CPU.match(str(quantity))
    if match is None:
        raise PodSpecError(f"cpu quantity {quantity!r} is not understood")
    value = float(match.group(1))
    return value / 1000 if match.group(2) else value


def memory_bytes(quantity: str) -> int:
    """A Kubernetes memory quantity ("512Mi", "2Gi", "1e9" excluded) in bytes."""
    match = _MEMORY.match(str(quantity))
    if match is None:
        raise PodSpecError(f"memory quantity {quantity!r} is not understood")
    return int(float(match.group(1)) * _MEMORY_UNITS[match.group(2)])


@dataclass
class Namespace:
    """The objects pods refer to by name: ConfigMaps and Secrets (values as plain text)."""

    name: str
    config_maps: dict[str, dict[str, str]] = field(default_factory=dict)
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)

    def source(self, kind: str, name: str, optional: bool) -> dict[str, str] | None:
        objects = self.config_maps if kind == "configMap" else self.secrets
        if name in objects:
            return objects[name]
        if optional:
            return None
        raise PodSpecError(f"{kind} {name!r} does not exist in namespace {self.name!r}")


@dataclass
class ApiEndpoint:
    """Where pods reach the API server, and the credentials in-cluster config reads."""

    host: str
    port: int
    token: str
    ca_file: Path


def _env(container: Mapping[str, Any], namespace: Namespace, pod_name: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        kind = "configMap" if "configMapRef" in source else "secret"
        ref = source.get("configMapRef") or source.get("secretRef") or {}
        values = namespace.source(kind, ref["name"], bool(ref.get("optional")))
        prefix = source.get("prefix") or ""
        env.update({prefix + k: v for k, v in (values or {}).items()})
    for item in container.get("env") or []:
        name, value_from = item["name"], item.get("valueFrom")
        if value_from is None:
            env[name] = str(item.get("value", ""))
        elif "secretKeyRef" in value_from or "configMapKeyRef" in value_from:
            kind = "secret" if "secretKeyRef" in value_from else "configMap"
            ref = value_from.get("secretKeyRef") or value_from.get("configMapKeyRef")
            values = namespace.source(kind, ref["name"], bool(ref.get("optional")))
            if values is not None and ref["key"] in values:
                env[name] = values[ref["key"]]
            elif not ref.get("optional"):
                raise PodSpecError(f"{kind} {ref['name']!r} has no key {ref['key']!r}")
        elif "fieldRef" in value_from:
            path = value_from["fieldRef"]["fieldPath"]
            fields = {"metadata.name": pod_name, "metadata.namespace": namespace.name}
            if path not in fields:
                raise PodSpecError(f"env {name}: fieldRef {path!r} is not supported")
            env[name] = fields[path]
        else:
            raise PodSpecError(f"env {name}: valueFrom {sorted(value_from)} is not supported")
    return env


def _write_files(folder: Path, values: Mapping[str, str], items: list | None, mode: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    pairs = (
        [(i["key"], i.get("path", i["key"])) for i in items] if items else [(k, k) for k in values]
    )
    for key, path in pairs:
        if key not in values:
            raise PodSpecError(f"volume item {key!r} is not in its source")
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(values[key])
        target.chmod(mode)


def _volumes(
    pod_spec: Mapping[str, Any],
    container: Mapping[str, Any],
    namespace: Namespace,
    scratch: Path,
    fs_group: int | None,
) -> list[str]:
    """podman mount options for the container's volumeMounts; files are written under scratch."""
    volumes = {v["name"]: v for v in pod_spec.get("volumes") or []}
    args: list[str] = []
    for mount in container.get("volumeMounts") or []:
        volume = volumes.get(mount["name"])
        if volume is None:
            raise PodSpecError(f"volumeMount {mount['name']!r} names no volume of the pod")
        path, sub_path = mount["mountPath"], mount.get("subPath")
        read_only = bool(mount.get("readOnly"))
        folder = scratch / "volumes" / mount["name"]
        if "configMap" in volume or "secret" in volume:
            kind = "configMap" if "configMap" in volume else "secret"
            ref = volume[kind]
            name = ref.get("name") or ref.get("secretName")
            values = namespace.source(kind, name, bool(ref.get("optional")))
            if values is None:
                continue  # an optional source that does not exist: Kubernetes mounts nothing
            _write_files(folder, values, ref.get("items"), 0o444)
            read_only = True  # Kubernetes mounts ConfigMaps and Secrets read-only
        elif "emptyDir" in volume:
            medium = (volume["emptyDir"] or {}).get("medium")
            if medium == "Memory" and path == "/dev/shm" and not sub_path:
                limit = (volume["emptyDir"] or {}).get("sizeLimit")
                args += ["--shm-size", str(memory_bytes(limit)) if limit else "1g"]
                continue
            if medium == "Memory":
                args += ["--mount", f"type=tmpfs,destination={path}"]
                continue
            folder.mkdir(parents=True, exist_ok=True)
            if fs_group is not None:
                os.chown(folder, 0, fs_group)
            folder.chmod(0o2777 if fs_group is None else 0o2775)
        else:
            kinds = sorted(set(volume) - {"name"})
            raise PodSpecError(f"volume {mount['name']!r} of kind {kinds} is not supported")
        source = folder / sub_path if sub_path else folder
        if not source.exists():
            raise PodSpecError(f"subPath {sub_path!r} is not in volume {mount['name']!r}")
        args += ["-v", f"{source}:{path}:{'ro' if read_only else 'rw'}"]
    return args


def podman_run_args(
    pod_name: str,
    pod_spec: Mapping[str, Any],
    namespace: Namespace,
    scratch: Path,
    api: ApiEndpoint,
    labels: Mapping[str, str],
    host_cpus: int,
) -> list[str]:
    """``podman run`` arguments (after ``run``) for the first container of a pod spec (camelCase
    JSON, as the Kubernetes API receives it). Raises PodSpecError for what a cluster would
    refuse or this stand-in cannot do."""
    containers = pod_spec.get("containers") or []
    if len(containers) != 1 or pod_spec.get("initContainers"):
        raise PodSpecError("only pods of exactly one container and no init containers run here")
    (container,) = containers
    pod_security = pod_spec.get("securityContext") or {}
    security = container.get("securityContext") or {}
    user = security.get("runAsUser", pod_security.get("runAsUser"))
    group = security.get("runAsGroup", pod_security.get("runAsGroup"))
    non_root = security.get("runAsNonRoot", pod_security.get("runAsNonRoot"))
    if non_root and user == 0:
        raise PodSpecError("runAsNonRoot is set but runAsUser is 0")
    fs_group = pod_security.get("fsGroup")

    args = ["-d", "--name", pod_name, "--hostname", pod_name, "--network", "host"]
    args += ["--pull", "never", *ULIMITS]
    args += [f"--label={k}={v}" for k, v in labels.items()]
    if user is not None:
        args += ["--user", f"{user}:{group}" if group is not None else str(user)]
    if fs_group is not None:
        args += ["--group-add", str(fs_group)]
    if security.get("allowPrivilegeEscalation") is False:
        args += ["--security-opt", "no-new-privileges"]
    for cap in (security.get("capabilities") or {}).get("drop") or []:
        args += ["--cap-drop", cap]
    for cap in (security.get("capabilities") or {}).get("add") or []:
        args += ["--cap-add", cap]
    if security.get("readOnlyRootFilesystem"):
        args.append("--read-only")
    limits = (container.get("resources") or {}).get("limits") or {}
    if "cpu" in limits:
        args += ["--cpus", f"{min(cpus(limits['cpu']), host_cpus):g}"]
    if "memory" in limits:
        args += ["--memory", str(memory_bytes(limits["memory"]))]

    env = _env(container, namespace, pod_name)
    if pod_spec.get("automountServiceAccountToken", True):
        account = scratch / "serviceaccount"
        _write_files(
            account,
            {"token": api.token, "ca.crt": api.ca_file.read_text(), "namespace": namespace.name},
            None,
            0o444,
        )
        args += ["-v", f"{account}:{SERVICE_ACCOUNT_DIR}:ro"]
        env.update({"KUBERNETES_SERVICE_HOST": api.host, "KUBERNETES_SERVICE_PORT": str(api.port)})
    for name, value in env.items():
        args += ["--env", f"{name}={value}"]
    args += _volumes(pod_spec, container, namespace, scratch, fs_group)
    if container.get("workingDir"):
        args += ["--workdir", container["workingDir"]]
    if container.get("command"):
        args += ["--entrypoint", json.dumps(container["command"])]
    return [*args, container["image"], *(container.get("args") or [])]


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Pod:
    """One pod, run as the container of the same name."""

    name: str
    namespace: str
    labels: dict[str, str]
    spec: dict[str, Any]
    created: str = field(default_factory=_now)
    error: str | None = None  # why it could not start, as a kubelet event would say


class Cluster:
    """A namespace whose pods are podman containers and whose Jobs come through an HTTPS API.

    Use as a context manager: leaving it removes every container it started and stops the API.
    """

    def __init__(self, namespace: Namespace, workdir: Path, image_user: Callable[[str], str]):
        self.namespace = namespace
        self.workdir = workdir
        self.session = secrets.token_hex(6)
        self.jobs: dict[str, dict[str, Any]] = {}
        self.pods: dict[str, Pod] = {}
        self.unhandled: list[str] = []
        self._image_user = image_user
        self._lock = threading.Lock()
        self._server: http.server.ThreadingHTTPServer | None = None
        self.api: ApiEndpoint | None = None

    # --- lifecycle ---

    def __enter__(self) -> Cluster:
        tls = self.workdir / "api-tls"
        tls.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
             "-keyout", str(tls / "tls.key"), "-out", str(tls / "tls.crt")],
            check=True, capture_output=True,
        )  # fmt: skip
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls / "tls.crt", tls / "tls.key")
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        port = self._server.server_address[1]
        self.api = ApiEndpoint("127.0.0.1", port, secrets.token_hex(16), tls / "tls.crt")
        return self

    def __exit__(self, *exc: object) -> None:
        for name in list(self.pods):
            self.delete_pod(name)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def kubeconfig(self, path: Path) -> Path:
        """A kubeconfig for clients outside the pods (the same API, token and CA)."""
        api = self._endpoint()
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "podman", "cluster": {
                "server": f"https://{api.host}:{api.port}",
                "certificate-authority": str(api.ca_file)}}],
            "users": [{"name": "podman", "user": {"token": api.token}}],
            "contexts": [{"name": "podman", "context": {
                "cluster": "podman", "user": "podman", "namespace": self.namespace.name}}],
            "current-context": "podman",
        }  # fmt: skip
        path.write_text(json.dumps(config))
        return path

    def _endpoint(self) -> ApiEndpoint:
        if self.api is None:
            raise RuntimeError("the cluster is not started (use it as a context manager)")
        return self.api

    # --- pods ---

    def run_pod(self, name: str, spec: dict[str, Any], labels: Mapping[str, str]) -> Pod:
        """Start a pod; a spec this stand-in refuses becomes a failed pod with its reason."""
        pod = Pod(name, self.namespace.name, dict(labels), spec)
        with self._lock:
            if name in self.pods:
                raise PodSpecError(f"pod {name!r} exists")
            self.pods[name] = pod
        scratch = self.workdir / "pods" / name
        try:
            args = podman_run_args(
                name,
                spec,
                self.namespace,
                scratch,
                self._endpoint(),
                {**labels, SESSION_LABEL: self.session},
                os.cpu_count() or 1,
            )
            self._check_non_root(spec)
            ignored = _unscheduled(spec)
            if ignored:
                log.info("pod %s: not honoured here: %s", name, ", ".join(ignored))
            subprocess.run([*PODMAN, "run", *args], check=True, capture_output=True, text=True)
        except (PodSpecError, OSError, subprocess.CalledProcessError) as e:
            pod.error = e.stderr.strip() if isinstance(e, subprocess.CalledProcessError) else str(e)
            log.warning("pod %s did not start: %s", name, pod.error)
        return pod

    def _check_non_root(self, spec: Mapping[str, Any]) -> None:
        """The kubelet's check: with runAsNonRoot and no runAsUser, the image's USER decides."""
        container = spec["containers"][0]
        contexts = [container.get("securityContext") or {}, spec.get("securityContext") or {}]
        non_root = next((c["runAsNonRoot"] for c in contexts if "runAsNonRoot" in c), False)
        user = next((c["runAsUser"] for c in contexts if "runAsUser" in c), None)
        if non_root and user is None:
            image_user = self._image_user(container["image"]).split(":")[0]
            if image_user in ("", "0", "root"):
                raise PodSpecError(f"runAsNonRoot, but image {container['image']} runs as root")

    def pod_state(self, name: str) -> tuple[str, int | None]:
        """("Pending" | "Running" | "Succeeded" | "Failed", exit code or None)."""
        pod = self.pods[name]
        if pod.error is not None:
            return "Failed", None
        out = subprocess.run(
            [*PODMAN, "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name],
            capture_output=True,
            text=True,
        )
        if out.returncode != 0:
            return "Failed", None
        status, code = out.stdout.split()
        if status in ("created", "configured", "initialized"):
            return "Pending", None
        if status in ("running", "paused", "stopping"):
            return "Running", None
        return ("Succeeded" if code == "0" else "Failed"), int(code)

    def pod_user(self, name: str) -> str:
        """The user the pod's container runs as (its uid inside the container)."""
        out = subprocess.run(
            [*PODMAN, "inspect", "--format", "{{.Config.User}}", name],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()

    def logs(self, name: str, tail: int | None = None) -> str:
        pod = self.pods.get(name)
        if pod is None:
            return ""
        if pod.error is not None:
            return pod.error
        cmd = [*PODMAN, "logs", *(["--tail", str(tail)] if tail else []), name]
        out = subprocess.run(cmd, capture_output=True, text=True)
        return out.stdout + out.stderr

    def exec(self, name: str, argv: list[str], timeout: float) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*PODMAN, "exec", name, *argv], capture_output=True, text=True, timeout=timeout
        )

    def delete_pod(self, name: str) -> None:
        with self._lock:
            pod = self.pods.pop(name, None)
        if pod is not None and pod.error is None:  # else no container was ever made
            subprocess.run([*PODMAN, "rm", "-f", "-t", "5", name], capture_output=True)
        shutil.rmtree(self.workdir / "pods" / name / "volumes", ignore_errors=True)

    # --- Jobs, as the API server sees them ---

    def create_job(self, body: dict[str, Any]) -> dict[str, Any]:
        name = body["metadata"]["name"]
        with self._lock:
            if name in self.jobs:
                raise FileExistsError(name)
            job = json.loads(json.dumps(body))
            job["metadata"].update(
                namespace=self.namespace.name,
                uid=secrets.token_hex(16),
                creationTimestamp=_now(),
            )
            self.jobs[name] = job
        template = job["spec"]["template"]
        labels = {**(template.get("metadata", {}).get("labels") or {}), "job-name": name}
        self.run_pod(name, template["spec"], labels)
        return self.job(name)

    def job(self, name: str) -> dict[str, Any]:
        job = json.loads(json.dumps(self.jobs[name]))
        state, _ = self.pod_state(name) if name in self.pods else ("Failed", None)
        status: dict[str, Any] = {"startTime": job["metadata"]["creationTimestamp"]}
        if state in ("Pending", "Running"):
            status["active"] = 1
        elif state == "Succeeded":
            status.update(succeeded=1, completionTime=_now())
            status["conditions"] = [{"type": "Complete", "status": "True"}]
        else:
            status["failed"] = 1
            status["conditions"] = [{"type": "Failed", "status": "True"}]
        job["status"] = status
        return job

    def pod_object(self, name: str) -> dict[str, Any]:
        pod = self.pods[name]
        phase, code = self.pod_state(name)
        container = pod.spec["containers"][0]
        state: dict[str, Any]
        if phase == "Running":
            state = {"running": {"startedAt": pod.created}}
        elif phase == "Pending":
            state = {"waiting": {"reason": pod.error or "ContainerCreating"}}
        else:
            reason = "Completed" if code == 0 else (pod.error and "CreateContainerError") or "Error"
            state = {"terminated": {"exitCode": code if code is not None else 1, "reason": reason}}
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": pod.namespace, "labels": pod.labels},
            "spec": pod.spec,
            "status": {
                "phase": phase,
                "containerStatuses": [
                    {
                        "name": container["name"],
                        "image": container["image"],
                        "imageID": "",
                        "ready": phase == "Running",
                        "restartCount": 0,
                        "state": state,
                    }
                ],
            },
        }


def _unscheduled(spec: Mapping[str, Any]) -> list[str]:
    """What a scheduler would act on and this stand-in does not."""
    ignored = []
    if spec.get("nodeSelector"):
        ignored.append(f"nodeSelector {spec['nodeSelector']}")
    if spec.get("tolerations"):
        ignored.append("tolerations")
    for container in spec.get("containers") or []:
        for kind in ("requests", "limits"):
            for resource in (container.get("resources") or {}).get(kind) or {}:
                if resource not in ("cpu", "memory"):
                    ignored.append(f"{kind} {resource}")
    return sorted(set(ignored))


def _selector(query: Mapping[str, list[str]], key: str) -> dict[str, str]:
    selector = (query.get(key) or [""])[0]
    pairs = [p.split("=", 1) for p in selector.split(",") if "=" in p]
    return {k.strip(): v.strip() for k, v in pairs}


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Status",
        "status": "Failure" if code >= 400 else "Success",
        "reason": reason,
        "message": message,
        "code": code,
    }


_JOBS = re.compile(r"^/apis/batch/v1/namespaces/([^/]+)/jobs(?:/([^/]+))?(/status)?$")
_PODS = re.compile(r"^/api/v1/namespaces/([^/]+)/pods(?:/([^/]+))?(/log)?$")
_EVENTS = re.compile(r"^/api/v1/namespaces/([^/]+)/events$")


def _handler(cluster: Cluster) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            log.debug("api: " + format, *args)

        def _reply(self, code: int, body: Any, text: bool = False) -> None:
            data = body.encode() if text else json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "text/plain" if text else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _route(self, method: str) -> None:
            api = cluster._endpoint()
            scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
            if scheme.lower() != "bearer" or token != api.token:
                self._reply(401, _status(401, "Unauthorized", "bad or missing token"))
                return
            url = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(url.query)
            try:
                self._dispatch(method, url.path, query)
            except KeyError as e:
                self._reply(404, _status(404, "NotFound", f"{e.args[0]} not found"))

        def _dispatch(self, method: str, path: str, query: Mapping[str, list[str]]) -> None:
            if (m := _JOBS.match(path)) and m.group(1) == cluster.namespace.name:
                name = m.group(2)
                if method == "POST" and name is None:
                    length = int(self.headers.get("Content-Length", "0"))
                    body = json.loads(self.rfile.read(length))
                    try:
                        self._reply(201, cluster.create_job(body))
                    except FileExistsError:
                        message = f"jobs.batch {body['metadata']['name']!r} already exists"
                        self._reply(409, _status(409, "AlreadyExists", message))
                    return
                if method == "GET" and name is None:
                    wanted = _selector(query, "labelSelector")
                    fields = _selector(query, "fieldSelector")
                    items = [
                        cluster.job(n)
                        for n, job in list(cluster.jobs.items())
                        if fields.get("metadata.name", n) == n
                        and all(job["metadata"].get("labels", {}).get(k) == v
                                for k, v in wanted.items())
                    ]  # fmt: skip
                    self._reply(200, {"apiVersion": "batch/v1", "kind": "JobList",
                                      "metadata": {}, "items": items})  # fmt: skip
                    return
                if method == "GET":
                    self._reply(200, cluster.job(name))
                    return
                if method == "DELETE":
                    cluster.jobs.pop(name)
                    cluster.delete_pod(name)
                    self._reply(200, _status(200, "Deleted", name))
                    return
            if (m := _PODS.match(path)) and m.group(1) == cluster.namespace.name:
                name, logs = m.group(2), m.group(3)
                if method == "GET" and name is None:
                    wanted = _selector(query, "labelSelector")
                    items = [
                        cluster.pod_object(n)
                        for n, pod in list(cluster.pods.items())
                        if all(pod.labels.get(k) == v for k, v in wanted.items())
                    ]
                    self._reply(200, {"apiVersion": "v1", "kind": "PodList",
                                      "metadata": {}, "items": items})  # fmt: skip
                    return
                if method == "GET" and logs:
                    tail = int((query.get("tailLines") or ["0"])[0]) or None
                    self._reply(200, cluster.logs(name, tail), text=True)
                    return
                if method == "GET":
                    self._reply(200, cluster.pod_object(name))
                    return
                if method == "DELETE":
                    cluster.delete_pod(name)
                    self._reply(200, _status(200, "Deleted", name))
                    return
            if method == "GET" and _EVENTS.match(path):
                self._reply(200, {"apiVersion": "v1", "kind": "EventList",
                                  "metadata": {}, "items": []})  # fmt: skip
                return
            cluster.unhandled.append(f"{method} {path}")
            self._reply(404, _status(404, "NotFound", f"{method} {path} is not served here"))

        def do_GET(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

        def do_DELETE(self) -> None:
            self._route("DELETE")

    return Handler
