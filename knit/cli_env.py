"""``knit env create|ls|rm``: packed environments from the shell."""
from __future__ import annotations

import datetime
import json

import click

from .cli_common import login, conf_option, table
from .cluster_client import ClusterClient
from .env import BACKENDS, create_env


@click.group("env")
def env() -> None:
    """Packed Python environments for containers (knit start --env ...)."""


@env.command("create")
@click.argument("name")
@click.argument("packages", nargs=-1, required=True)
@click.option("--backend", type=click.Choice(BACKENDS), default="venv", show_default=True,
              help="venv (venv-pack; every node needs this Python) or conda (conda-pack).")
@click.option("--python", help="The interpreter of a venv (default: this one).")
@click.option("--force", is_flag=True, help="Build again even if cached.")
@click.option("--hdfs", is_flag=True, help="Also install hdfs-native (hdfs:// paths in containers).")
def create(name, packages, backend, python, force, hdfs):
    """Build and pack environment NAME with PACKAGES; print the archive's path."""
    click.echo(create_env(name, packages=list(packages), backend=backend, python=python,
                          force=force, hdfs=hdfs))


@env.command("ls")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@conf_option
def ls(as_json, hadoop_conf_dir):
    """The environments stored in HDFS (uploaded by a start that used them)."""
    envs = ClusterClient(hadoop_conf_dir, **login()).list_envs()
    if as_json:
        click.echo(json.dumps(envs, indent=2))
        return
    rows = [[e["name"], e["sha256"][:12], f"{e['size'] / 2**20:.1f} MiB",
             datetime.datetime.fromtimestamp(e["modified"] / 1000).strftime("%Y-%m-%d %H:%M")]
            for e in envs]
    click.echo(table(rows, ["NAME", "SHA256", "SIZE", "STORED"]))


@env.command("rm")
@click.argument("name_or_hash")
@conf_option
def rm(name_or_hash, hadoop_conf_dir):
    """Delete stored environments by name or sha256 (8+ characters)."""
    n = ClusterClient(hadoop_conf_dir, **login()).remove_env(name_or_hash)
    click.echo(f"removed {n}")
    if n == 0:
        raise SystemExit(1)
