"""One vocabulary, without a cluster: memory sizes take the same forms everywhere, records
are what they say and JSON-serialisable, and messages name real parameters."""
from __future__ import annotations

import inspect
import json
import math

import pytest
from click.testing import CliRunner

from knit import (ApplicationReport, ClusterClient, ConfigurationError, Container,
                  InvalidArgumentError, Knit)
from knit.cli import main
from knit.cli_common import MEMORY
from knit.config import find_conf_dir
from knit.validation import MIB, memory_mb

#: Pure logic: no Java, no cluster (`pytest -m unit`).
pytestmark = pytest.mark.unit

ACCEPTED = [  # (value, MB)
    (1024, 1024), ("1024", 1024), (" 2048 ", 2048),
    ("1 GiB", 1024), ("2 GiB", 2048), ("512MiB", 512), ("2Gi", 2048), ("1.5 GiB", 1536),
    (".5GiB", 512), ("1 TiB", 1024 * 1024), ("1048576 KiB", 1024),
    # Powers of 1000, as dask.utils.parse_bytes reads them; bytes rounded up to MiB.
    ("1GB", 954), ("1 gb", 954), ("2g", 1908), ("2G", 1908), ("1e3MB", 954),
    ("2e9 B", 1908), ("1000000000", 1000000000),  # digits alone: MB, not bytes
]
REFUSED = [0, -5, True, False, 1.5, 1024.0, None, [1024], "1 parsec", "-5 GiB", "0 GiB",
           "1.5", "100 kB", "", "GiB", "inf", "nan GB", "1e400 B", "2 GiB extra"]


@pytest.mark.parametrize("value, mb", ACCEPTED, ids=[repr(v) for v, _ in ACCEPTED])
def test_memory_forms(value, mb):
    assert memory_mb(value) == mb


@pytest.mark.parametrize("value", REFUSED, ids=[repr(v) for v in REFUSED])
def test_bad_memory_is_refused_with_a_message_naming_the_parameter(value):
    with pytest.raises(InvalidArgumentError, match="^worker_memory") as caught:
        memory_mb(value, "worker_memory")
    assert repr(value) in str(caught.value)


def test_sizes_with_a_unit_mean_what_dask_parse_bytes_says():
    """YarnCluster(worker_memory=...) and dask's own config read sizes with parse_bytes: a
    size means the same number of bytes here (then rounded up to whole MiB)."""
    parse_bytes = pytest.importorskip("dask.utils").parse_bytes
    units = ["B", "kB", "KB", "k", "K", "KiB", "Ki", "MB", "M", "m", "MiB", "Mi", "mib", "GB",
             "G", "g", "GiB", "Gi", "gib", "TB", "T", "TiB", "Ti", "PB", "PiB"]
    for number in ("1", "2", "1.5", "3.25", "1e3", "7e-1"):
        for unit in units:
            for space in ("", " "):
                text = f"{number}{space}{unit}"
                nbytes = parse_bytes(text)
                if nbytes < MIB:
                    with pytest.raises(InvalidArgumentError):
                        memory_mb(text)
                else:
                    assert memory_mb(text) == math.ceil(nbytes / MIB), text


def test_the_command_line_takes_the_same_forms():
    assert MEMORY.convert("2 GiB", None, None) == 2048
    assert MEMORY.convert("1GB", None, None) == 954
    assert MEMORY.convert("1024", None, None) == MEMORY.convert(1024, None, None) == 1024
    for args in (["start", "true", "--memory", "1 parsec"],
                 ["start", "true", "--memory", "0"],
                 ["dask", "start", "--worker-memory", "lots"],
                 ["dask", "start", "--scheduler-memory", "-5"]):
        done = CliRunner().invoke(main, args)
        assert done.exit_code == 2, (args, done.output)
        assert "Invalid value for '--" in done.output and "memory" in done.output, done.output


def test_zero_containers_without_keep_alive_is_refused(tmp_path):
    """It would wait for nothing until killed; the check comes before any cluster call."""
    (tmp_path / "core-site.xml").write_text("<configuration></configuration>")
    cluster = ClusterClient(str(tmp_path))
    with pytest.raises(InvalidArgumentError, match="^num_containers=0 needs keep_alive=True"):
        cluster.start("true", num_containers=0)
    done = CliRunner().invoke(main, ["start", "true", "-n", "0", "--hadoop-conf-dir",
                                     str(tmp_path)])
    assert done.exit_code == 2 and "-n 0 needs --keep-alive" in done.output, done.output


def _records():
    container = Container(id="container_1_0001_01_000002", role="main", node="n:1",
                          node_http="n:2", state="COMPLETED", memory_mb=1024, vcores=1,
                          allocated_at=1, exit_status=0, outcome="SUCCEEDED")
    report = ApplicationReport(app_id="application_1_0001", name="knit", user="u", queue="q",
                               state="RUNNING", final_status="UNDEFINED", diagnostics="",
                               am_host="h", am_port=1, tracking_url="http://h/", start_time=1,
                               finish_time=0, log_aggregation_status="NOT_START",
                               waiting="the queue is full")
    return container, report


def test_records_are_json_serialisable_and_keep_dict_style_access():
    for record in _records():
        as_dict = record.to_dict()
        assert type(as_dict) is dict
        assert json.loads(json.dumps(as_dict)) == as_dict
        assert set(as_dict) == {f for f in type(record).__dataclass_fields__}
        for key, value in as_dict.items():
            assert getattr(record, key) == record[key] == record.get(key) == value
    container, report = _records()
    assert report.to_dict()["waiting"] == "the queue is full"  # the Python-only field too


def test_public_annotations_name_the_records():
    from knit.application import Application
    assert inspect.signature(Application.get_containers).return_annotation == "list[Container]"
    assert inspect.signature(Knit.get_containers).return_annotation == "list[Container]"
    assert inspect.signature(Application.status).return_annotation == "ApplicationReport"


def test_the_missing_conf_dir_message_names_the_real_parameter(tmp_path, monkeypatch):
    missing = str(tmp_path / "nothing-here")
    for call in (lambda: find_conf_dir(missing), lambda: Knit(hadoop_conf_dir=missing)):
        with pytest.raises(ConfigurationError) as caught:
            call()
        message = str(caught.value)
        assert "hadoop_conf_dir" in message and "--hadoop-conf-dir" in message, message
        assert "as conf_dir" not in message
    assert "hadoop_conf_dir" in inspect.signature(Knit).parameters
    monkeypatch.delenv("HADOOP_CONF_DIR", raising=False)
    monkeypatch.delenv("YARN_CONF_DIR", raising=False)
    monkeypatch.setattr("knit.config.DEFAULT_CONF_DIR", missing)
    with pytest.raises(ConfigurationError, match="hadoop_conf_dir argument: not given"):
        find_conf_dir()


def test_messages_name_parameters_that_exist():
    """The parameters messages tell users to pass are those of the calls they come from."""
    from knit.application import Application
    from knit.cluster_client import ClusterClient as CC
    import dataclasses

    from knit import ApplicationSpec
    # start(cmd, **options): the options are ApplicationSpec's fields, named in its docstring.
    assert set(inspect.signature(CC.start).parameters) == {"self", "cmd", "options"}
    fields = {f.name for f in dataclasses.fields(ApplicationSpec)}
    assert {"num_containers", "keep_alive", "memory", "virtual_cores", "max_restarts",
            "am_attempts", "start_timeout"} <= fields
    assert all(f"``{name}``" in CC.start.__doc__ for name in fields - {"command"})
    assert {"memory", "virtual_cores", "role"} <= set(inspect.signature(
        Application.add_containers).parameters)
    assert {"all_files", "container_id", "timeout"} <= set(inspect.signature(
        Application.logs).parameters)
    assert inspect.signature(Knit.logs).parameters.keys() == \
        inspect.signature(Application.logs).parameters.keys()
