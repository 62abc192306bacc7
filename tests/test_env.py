"""Packed environments: built once, cached, uploaded once, activated in every container."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from knit import Knit, KnitException, create_env
from knit import env as knit_env

PACKAGE = "knit_probe_pkg"


def make_local_package(root: Path) -> Path:
    """A tiny installable package the machine's own Python does not have."""
    src = root / "probe"
    (src / PACKAGE).mkdir(parents=True)
    (src / PACKAGE / "__init__.py").write_text("VALUE = 'probe-42'\n")
    (src / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n'
        f'[project]\nname = "{PACKAGE.replace("_", "-")}"\nversion = "1.0"\n')
    return src


@pytest.fixture(scope="module")
def env_cache(tmp_path_factory):
    cache = tmp_path_factory.mktemp("env-cache")
    old = os.environ.get("KNIT_ENV_CACHE")
    os.environ["KNIT_ENV_CACHE"] = str(cache)
    yield cache
    if old is None:
        del os.environ["KNIT_ENV_CACHE"]
    else:
        os.environ["KNIT_ENV_CACHE"] = old


@pytest.fixture(scope="module")
def probe_env(env_cache, tmp_path_factory):
    """(archive, package source): an env with the probe package, built once per module."""
    src = make_local_package(tmp_path_factory.mktemp("pkg"))
    archive = create_env("probe", packages=["python=3", str(src)])
    return archive, src


# ---------------------------------------------------------------- pure logic
@pytest.mark.unit
def test_interpreter_specs_are_checked_not_passed_to_pip():
    pip, python = knit_env.split_specs(["python=3", "python>=3.9", "dask", "numpy=1.26"],
                                       (3, 11, 7))
    assert pip == ["dask", "numpy==1.26"]
    assert python == ["python=3", "python>=3.9"]
    with pytest.raises(KnitException, match=r"another Python than .*\(3.11.7\)"):
        knit_env.split_specs(["python=2.7"], (3, 11, 7))


@pytest.mark.unit
def test_cache_key_ignores_order_case_and_spaces():
    a = knit_env.cache_key("venv", ["Dask", "pandas >= 2"], "/usr/bin/python3", None)
    b = knit_env.cache_key("venv", ["pandas>=2", "dask"], "/usr/bin/python3", None)
    c = knit_env.cache_key("venv", ["dask"], "/usr/bin/python3", None)
    assert a == b != c


@pytest.mark.unit
def test_conda_backend_without_conda_names_the_venv_backend(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(KnitException, match="needs `conda`.*backend='venv'"):
        create_env("c", packages=["python=3.11"], backend="conda")


@pytest.mark.parametrize("kwargs", [{"name": "bad name"}, {"name": ""},
                                    {"name": "x", "backend": "pip"}])
@pytest.mark.unit
def test_bad_arguments(kwargs):
    with pytest.raises(KnitException):
        create_env(**kwargs)


# ---------------------------------------------------------------- building
def test_cached_build_returns_at_once(probe_env):
    archive, src = probe_env
    mtime = os.path.getmtime(archive)
    started = time.monotonic()
    again = create_env("probe", packages=[str(src), "python=3"])  # same set, other order
    assert again == archive
    assert time.monotonic() - started < 1.0
    assert os.path.getmtime(archive) == mtime  # not rebuilt
    rebuilt = create_env("probe", packages=["python=3", str(src)], force=True)
    assert rebuilt == archive and os.path.getmtime(archive) > mtime


def test_failed_build_carries_pips_message_and_leaves_nothing(env_cache):
    before = sorted(p.relative_to(env_cache) for p in env_cache.rglob("*"))
    with pytest.raises(KnitException, match=r"pip install failed(.|\n)*No matching distribution found for knit-no-such-package-zz"):
        create_env("broken", packages=["knit-no-such-package-zz==0.0.1"])
    after = sorted(p.relative_to(env_cache) for p in env_cache.rglob("*"))
    new = [p for p in after if p not in before]
    assert not [p for p in new if p.suffix == ".gz" or p.name.startswith(".build-")], new


def test_2016_spelling_still_works(minicluster, probe_env):
    _, src = probe_env
    k = Knit(minicluster.conf_dir)
    archive = k.create_env(env_name="dev", packages=["python=3", str(src)])
    assert archive.endswith("dev.tar.gz") and os.path.isfile(archive)


# ---------------------------------------------------------------- on the cluster
def test_env_is_active_in_every_container_and_uploaded_once(minicluster, probe_env):
    archive, _ = probe_env
    own = subprocess.run([sys.executable, "-c", f"import {PACKAGE}"], capture_output=True)
    assert own.returncode != 0, "the test needs a package this machine's Python lacks"
    cmd = (f'$PYTHON_BIN -c "import {PACKAGE}, sys; print({PACKAGE}.VALUE, sys.prefix)" '
           f'&& python -c "import {PACKAGE}" && command -v python '
           '&& echo "$VIRTUAL_ENV|$KNIT_ENV_PREFIX|${CONDA_PREFIX:-none}"')
    with Knit(minicluster.conf_dir) as k:
        k.start(cmd, num_containers=2, memory=256, env=archive)
        first_upload = k.uploaded_bytes
        assert k.wait_for_completion(120) == "SUCCEEDED", k.logs()
        outputs = [f["stdout"].split("\n") for c, f in k.logs().items()
                   if not c.endswith("_000001")]
    assert len(outputs) == 2
    for value_prefix, which, variables, _ in outputs:
        value, prefix = value_prefix.split()
        assert value == "probe-42"
        assert prefix.endswith("/knit_env")
        assert which == prefix + "/bin/python"
        assert variables == f"{prefix}|{prefix}|none"
    assert first_upload >= os.path.getsize(archive)

    stored = [e for e in Knit(minicluster.conf_dir).list_envs() if e["name"] == "probe.tar.gz"]
    assert len(stored) == 1 and stored[0]["size"] == os.path.getsize(archive)
    with Knit(minicluster.conf_dir) as k:
        k.start(f"$PYTHON_BIN -c 'import {PACKAGE}'", num_containers=1, memory=256, env=archive)
        assert k.uploaded_bytes == 0  # content-addressed: already in HDFS
        assert k.wait_for_completion(120) == "SUCCEEDED"
    again = [e for e in Knit(minicluster.conf_dir).list_envs() if e["name"] == "probe.tar.gz"]
    assert again == stored  # same file, same modification time: not written again


def test_corrupt_archive_fails_with_a_diagnostic_naming_it(minicluster, tmp_path):
    broken = tmp_path / "broken-env.tar.gz"
    broken.write_bytes(os.urandom(4096))
    with Knit(minicluster.conf_dir) as k:
        k.start("$PYTHON_BIN -c 'print(1)'", num_containers=1, memory=256, env=broken)
        assert k.wait_for_completion(120) == "FAILED"
        (container,) = k.get_containers()
        assert "broken-env.tar.gz" in container["diagnostics"], container


def test_list_and_remove_envs(minicluster, env_cache, tmp_path):
    src = make_local_package(tmp_path)
    archive = create_env("removable", packages=[str(src)])
    k = Knit(minicluster.conf_dir)
    with k:
        k.start("true", num_containers=1, memory=256, env=archive)
        k.wait_for_completion(120)
    names = [e["name"] for e in k.list_envs()]
    assert "removable.tar.gz" in names
    assert k.remove_env("removable") == 1
    assert "removable.tar.gz" not in [e["name"] for e in k.list_envs()]
    assert k.remove_env("removable") == 0
