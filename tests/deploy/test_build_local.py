"""deployments/build-local.sh reads the Debian mirror from apt's own configuration (never from
the repository): both source formats, options, disabled entries and comments, and anything
else in those files never breaks it."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from deploy_files import DEPLOYMENTS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SCRIPT = DEPLOYMENTS / "build-local.sh"


def _sources(
    apt_dir: Path, function: str = "apt_sources", *args: str
) -> subprocess.CompletedProcess:
    command = f'source "{SCRIPT}"; {function} "$@"'
    return subprocess.run(
        ["bash", "-c", command, "bash", *args],
        env={"PATH": "/usr/bin:/bin", "ACAV_APT_DIR": str(apt_dir)},
        capture_output=True,
        text=True,
    )


def _apt_dir(tmp_path: Path, sources_list: str = "", **files: str) -> Path:
    apt = tmp_path / "apt"
    (apt / "sources.list.d").mkdir(parents=True)
    (apt / "sources.list").write_text(sources_list)
    for name, text in files.items():
        (apt / "sources.list.d" / name.replace("_", ".")).write_text(text)
    return apt


def test_both_formats_give_suite_and_uri_pairs_and_skip_what_apt_skips(tmp_path):
    apt = _apt_dir(
        tmp_path,
        "# deb http://commented.example/debian bookworm main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://one.example/debian bookworm-updates main\n"
        "deb-src http://src.example/debian bookworm main\n",
        debian_sources=(
            "Types: deb\n"
            "# http://snapshot.example/archive\n"
            "URIs: http://a.example/debian http://b.example/debian\n"
            "Suites: bookworm bookworm-security\n"
            "Components: main\n"
            "\n"
            "Types: deb\n"
            "Enabled: no\n"
            "URIs: http://off.example/debian\n"
            "Suites: trixie\n"
        ),
        disabled_list_old="deb http://old.example/debian bookworm main\n",
    )
    out = _sources(apt)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "bookworm-updates http://one.example/debian",
        "bookworm http://a.example/debian",
        "bookworm http://b.example/debian",
        "bookworm-security http://a.example/debian",
        "bookworm-security http://b.example/debian",
    ]
    first = _sources(apt, "suite_uri", "bookworm")
    assert first.stdout.strip() == "http://a.example/debian"
    assert _sources(apt, "suite_uri", "sid").stdout == ""


_lines = st.lists(
    st.one_of(
        st.text(alphabet=st.characters(blacklist_characters="\x00"), max_size=40),
        st.sampled_from(["deb", "deb [", "Types: deb", "URIs:", "Suites:", "Enabled: no", ""]),
    ),
    max_size=12,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(one_line=_lines, deb822=_lines)
def test_arbitrary_source_files_never_break_it(tmp_path, one_line, deb822):
    # hypothesis replays an example while it shrinks: every example gets a folder of its own
    apt = _apt_dir(Path(tempfile.mkdtemp(dir=tmp_path)), "\n".join(one_line),
                   x_sources="\n".join(deb822))  # fmt: skip
    out = _sources(apt)
    assert out.returncode == 0, out.stderr
    for line in out.stdout.splitlines():
        assert len(line.split(" ")) >= 2
