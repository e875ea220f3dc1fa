"""Both dagster.yaml files pass Dagster's own instance validation, and agree with each other."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import kubernetes
import pytest
import sqlalchemy
import yaml
from dagster._config import validate_config
from dagster._core.errors import DagsterInvalidConfigError
from dagster._core.instance.config import dagster_instance_config
from dagster._serdes import class_from_code_pointer
from dagster_k8s.job import (
    DagsterK8sJobConfig,
    UserDefinedDagsterK8sConfig,
    construct_dagster_k8s_job,
)
from dagster_postgres.utils import get_conn_string
from deploy_files import DEPLOYMENTS, validate_k8s

from acav_assets.defs.execution import DOWNLOAD_RUN_TAG, GPU_RUN_TAG

INSTANCE_FILES = ["dagster.yaml", "dagster.k8s.yaml"]


def _home_with(tmp_path: Path, name: str) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(DEPLOYMENTS / name, home / "dagster.yaml")
    return home


@pytest.mark.parametrize("name", INSTANCE_FILES)
def test_instance_file_passes_dagster_validation(tmp_path, name):
    config, custom_class = dagster_instance_config(str(_home_with(tmp_path, name)))
    assert custom_class is None
    assert {"run_coordinator", "run_launcher"} <= set(config)


@pytest.mark.parametrize("name", INSTANCE_FILES)
def test_configurable_classes_resolve_and_accept_their_config(name):
    config = yaml.safe_load((DEPLOYMENTS / name).read_text())
    for key in ("run_coordinator", "run_launcher"):
        entry = config[key]
        cls = class_from_code_pointer(entry["module"], entry["class"])
        result = validate_config(cls.config_type(), entry.get("config", {}))
        assert result.success, f"{name} {key}: {result.errors}"


def test_dagster_validation_rejects_an_unknown_instance_key(tmp_path):
    home = _home_with(tmp_path, "dagster.yaml")
    config = yaml.safe_load((home / "dagster.yaml").read_text())
    config["run_corodinator"] = config.pop("run_coordinator")
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(DagsterInvalidConfigError):
        dagster_instance_config(str(home))


def test_local_instance_keeps_sqlite_under_dagster_home_and_queues_runs(tmp_path, monkeypatch):
    home = _home_with(tmp_path, "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        coordinator = instance.run_coordinator
        assert type(coordinator).__name__ == "QueuedRunCoordinator"
        limits = {
            (lim["key"], lim["value"]): lim["limit"]
            for lim in coordinator.get_run_queue_config().tag_concurrency_limits
        }
        assert set(limits) == {DOWNLOAD_RUN_TAG, GPU_RUN_TAG}
        assert limits[GPU_RUN_TAG] == 1
        assert instance.get_runs_count() == 0
    assert list(home.rglob("*.db")), "no SQLite storage was created under DAGSTER_HOME"


def _limits(config: dict) -> dict[tuple[str, str], int]:
    return {
        (lim["key"], lim["value"]): lim["limit"]
        for lim in config["run_coordinator"]["config"]["tag_concurrency_limits"]
    }


def test_both_instances_cap_downloads_and_gpu_runs_by_the_tags_the_code_sets():
    for name in INSTANCE_FILES:
        config = yaml.safe_load((DEPLOYMENTS / name).read_text())
        assert set(_limits(config)) == {DOWNLOAD_RUN_TAG, GPU_RUN_TAG}, name


def test_k8s_instance_keeps_dagster_state_in_postgres(k8s_instance):
    assert set(k8s_instance["storage"]) == {"postgres"}
    db = k8s_instance["storage"]["postgres"]["postgres_db"]
    assert db["password"] == {"env": "DAGSTER_PG_PASSWORD"}
    assert k8s_instance["run_launcher"]["class"] == "K8sRunLauncher"


def test_k8s_instance_and_chart_reach_postgres_through_the_installed_driver(
    k8s_instance, helm_values
):
    """SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3; dagster-postgres ships psycopg2.
    Building the engine imports the driver and connects to nothing."""
    db = k8s_instance["storage"]["postgres"]["postgres_db"]
    literal = {"username": "u", "password": "p", "hostname": "127.0.0.1", "db_name": "d"}
    url = get_conn_string(**{**db, **literal})
    assert sqlalchemy.create_engine(url).dialect.driver == "psycopg2"
    assert helm_values["postgresql"]["postgresqlScheme"] == db["scheme"]


def test_k8s_run_pod_built_from_the_instance_is_a_valid_kubernetes_job(k8s_instance):
    """The Job the K8sRunLauncher would submit, from this config, passes the K8s schema."""
    cfg = k8s_instance["run_launcher"]["config"]
    job_config = DagsterK8sJobConfig(
        job_image="ghcr.io/acav-project/acav-gpu:0.1.0",
        dagster_home=cfg["dagster_home"],
        image_pull_policy=cfg["image_pull_policy"],
        service_account_name=cfg["service_account_name"],
        instance_config_map=cfg["instance_config_map"],
        postgres_password_secret=cfg["postgres_password_secret"],
        env_config_maps=cfg["env_config_maps"],
        env_secrets=cfg["env_secrets"],
        volumes=cfg["volumes"],
        volume_mounts=cfg["volume_mounts"],
        labels=cfg["labels"],
    )
    user_config = UserDefinedDagsterK8sConfig.from_dict(cfg["run_k8s_config"])
    job = construct_dagster_k8s_job(
        job_config, ["dagster", "api", "execute_run"], "dagster-run-0123abcd", user_config
    )
    doc = kubernetes.client.ApiClient().sanitize_for_serialization(job)
    validate_k8s(doc)
    pod = doc["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "acav-dagster"
    assert doc["spec"]["ttlSecondsAfterFinished"] == 86400
    assert pod["containers"][0]["resources"]["limits"]["memory"] == "2Gi"


@pytest.mark.parametrize("name", INSTANCE_FILES)
def test_both_instances_retry_runs_whose_worker_died_but_not_failed_steps(tmp_path, name):
    """Steps that touch the network or a GPU retry themselves (defs/retries.py); a run retry
    on a step failure would repeat those retries."""
    config, _ = dagster_instance_config(str(_home_with(tmp_path, name)))
    retries = config["run_retries"]
    assert retries["enabled"] and retries["max_retries"] >= 1
    assert retries["retry_on_asset_or_op_failure"] is False
