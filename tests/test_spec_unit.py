"""An application as one object: ApplicationSpec and RoleSpec, their checks, and their
files (YAML and JSON). Pure logic: nothing here needs Java or a cluster."""
from __future__ import annotations

import dataclasses
import json

import pytest

from knit import ApplicationSpec, InvalidArgumentError, MissingFileError, RoleSpec
from knit.cluster_client import _spec_of

#: Pure logic: no Java, no cluster (`pytest -m unit`).
pytestmark = pytest.mark.unit


def test_validate_normalizes_sizes_files_resources_and_tags(tmp_path):
    shipped = tmp_path / "data.csv"
    shipped.write_text("1")
    spec = ApplicationSpec("echo hi", memory="1 GiB", gpus=1, files=[str(shipped)],
                           tags=["Nightly"], roles={"aux": RoleSpec("sleep 1", memory="512MiB")})
    checked = spec.validate()
    assert checked.memory == 1024 and checked.roles["aux"].memory == 512
    assert checked.resources == {"yarn.io/gpu": 1} and checked.gpus == 0
    assert checked.files == [str(shipped)]
    assert "nightly" in checked.tags and "knit" in checked.tags
    assert spec.memory == "1 GiB"  # the spec itself is left as it was


@pytest.mark.parametrize("fields, message", [
    ({"num_containers": 0}, "num_containers=0 needs keep_alive=True"),
    ({"num_containers": -1}, "num_containers must be an integer >= 0"),
    ({"am_attempts": 0}, "am_attempts must be an integer >= 1"),
    ({"max_restarts": True}, "max_restarts must be an integer >= 0"),
    ({"start_timeout": 0}, "start_timeout must be a number of seconds > 0"),
    ({"queue": ""}, "queue must be a printable string"),
    ({"memory": "lots"}, "memory"),
    ({"roles": {"main": RoleSpec("x")}}, "not 'main'"),
    ({"roles": {"2bad": RoleSpec("x")}}, "A role name is a letter"),
    ({"roles": {"aux": RoleSpec("x", num_containers=-2)}}, "roles.aux: num_containers"),
    ({"roles": {"aux": RoleSpec("x", max_restarts=-1)}}, "roles.aux: max_restarts"),
    ({"roles": {"aux": "sleep 1"}}, "roles.aux must be a RoleSpec"),
])
def test_bad_fields_are_refused_naming_them(fields, message):
    with pytest.raises(InvalidArgumentError, match=message):
        ApplicationSpec("echo hi", **fields).validate()


def test_a_file_round_trips_through_yaml_and_json(tmp_path):
    (tmp_path / "job.py").write_text("print(1)")
    spec = ApplicationSpec("python job.py", num_containers=3, memory="2 GiB",
                           files=["job.py"], keep_alive=True, tags=["etl"],
                           roles={"aux": RoleSpec("sleep 60", num_containers=1, memory=256)})
    import yaml
    (tmp_path / "app.yaml").write_text(yaml.safe_dump(spec.to_dict()))
    (tmp_path / "app.json").write_text(json.dumps(spec.to_dict()))
    for name in ("app.yaml", "app.json"):
        read = ApplicationSpec.from_file(tmp_path / name)
        # Relative paths are the file's directory's.
        assert read == dataclasses.replace(spec, files=[str(tmp_path / "job.py")])
        assert read.validate().roles["aux"].num_containers == 1


def test_a_spec_file_written_by_hand(tmp_path):
    (tmp_path / "app.yaml").write_text(
        "command: python -m http.server\n"
        "num_containers: 2\n"
        "memory: 1 GiB\n"
        "roles:\n"
        "  sidecar:\n"
        "    command: sleep 600\n"
        "    memory: 256\n")
    spec = ApplicationSpec.from_file(tmp_path / "app.yaml").validate()
    assert spec.num_containers == 2 and spec.memory == 1024
    assert spec.roles["sidecar"] == RoleSpec("sleep 600", memory=256).validate("sidecar")


@pytest.mark.parametrize("text, name, message", [
    ("command: x\nnum_contaners: 2\n", "a.yaml", r"unknown fields \['num_contaners'\]"),
    ("- just a list\n", "a.yaml", "must hold a mapping"),
    ("command: [unclosed\n", "a.yaml", "not valid YAML"),
    ("{not json", "a.json", "not valid JSON"),
    ("num_containers: 2\n", "a.yaml", "command"),
    ("command: x\nroles: {aux: {cmd: y}}\n", "a.yaml", r"roles.aux has unknown fields \['cmd'\]"),
])
def test_bad_spec_files_say_what_is_wrong(tmp_path, text, name, message):
    (tmp_path / name).write_text(text)
    with pytest.raises(InvalidArgumentError, match=message):
        ApplicationSpec.from_file(tmp_path / name)


def test_a_missing_spec_file_is_named(tmp_path):
    with pytest.raises(MissingFileError, match="No application spec at"):
        ApplicationSpec.from_file(tmp_path / "nope.yaml")


def test_start_takes_options_or_a_spec_not_both():
    assert _spec_of("echo", {"num_containers": 2}) == ApplicationSpec("echo", num_containers=2)
    spec = ApplicationSpec("echo")
    assert _spec_of(spec, {}) is spec
    with pytest.raises(InvalidArgumentError, match="ApplicationSpec alone"):
        _spec_of(spec, {"memory": 5})
    with pytest.raises(InvalidArgumentError, match="unknown fields"):
        _spec_of("echo", {"num_container": 2})
