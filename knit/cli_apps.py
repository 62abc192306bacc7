"""``knit start|ls|status|logs|scale|kill|clean``: applications from the shell."""
from __future__ import annotations

import dataclasses
import json
import time

import click

from .application import DONE_STATES, Application
from .names import MAIN_ROLE
from .spec import ApplicationSpec
from .cli_common import login, MEMORY, app_argument, conf_option, elapsed, table
from .cluster_client import ClusterClient
from .exceptions import ApplicationStateError, KnitException

# `knit scale` of a Dask cluster scales its workers (knit.dask's role name).
_DASK_WORKER_ROLE = "worker"


def _attached(conf: str | None, app_id: str) -> Application:
    """A full handle on a running application of this user (ApplicationStateError else)."""
    return ClusterClient(conf, **login()).connect(app_id)


def _by_id(conf: str | None, app_id: str) -> Application:
    """A handle knowing only the id: status, logs of an ended application, YARN's kill."""
    return Application(ClusterClient(conf, **login()), app_id)


@click.command()
@click.argument("cmd", required=False)
@click.option("--spec", "spec_file", type=click.Path(exists=True, dir_okay=False),
              help="An application spec (YAML or JSON: knit.ApplicationSpec's fields) to "
                   "start instead of CMD; options given as well override its fields.")
@click.option("-n", "--num-containers", default=1, show_default=True, type=click.IntRange(min=0),
              help="Containers to start.")
@click.option("--memory", default="1024", show_default=True, type=MEMORY,
              help="Per container: MB (1024), or a size ('2 GiB', 2GB).")
@click.option("--vcores", default=1, show_default=True, type=click.IntRange(min=1),
              help="Cores per container.")
@click.option("--gpus", default=0, show_default=True, type=click.IntRange(min=0),
              help="GPUs (yarn.io/gpu) per container.")
@click.option("--env", type=click.Path(exists=True, dir_okay=False),
              help="A packed environment (knit env create) to run CMD in.")
@click.option("--queue", default="default", show_default=True, help="YARN queue.")
@click.option("--name", default="knit", show_default=True, help="Application name.")
@click.option("--file", "files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A file to ship (repeatable); archives are unpacked.")
@click.option("--max-restarts", default=0, show_default=True, type=click.IntRange(min=0),
              help="Failed containers replaced over the application's life.")
@click.option("--keep-alive", is_flag=True,
              help="Keep running with no container left (until knit kill).")
@conf_option
@click.pass_context
def start(ctx, cmd, spec_file, num_containers, memory, vcores, gpus, env, queue, name, files,
          max_restarts, keep_alive, hadoop_conf_dir):
    """Start CMD in YARN containers (or what a --spec file describes), detached; print the
    application's id."""
    given = {"num_containers": num_containers, "memory": memory, "virtual_cores": vcores,
             "gpus": gpus, "env": env, "queue": queue, "app_name": name, "files": list(files),
             "max_restarts": max_restarts, "keep_alive": keep_alive}
    if spec_file is not None:
        if cmd is not None:
            raise click.UsageError("Give CMD or --spec, not both (the spec names its command).")
        option_of = {"virtual_cores": "vcores", "app_name": "name"}
        typed = {field: value for field, value in given.items()
                 if ctx.get_parameter_source(option_of.get(field, field))
                 == click.core.ParameterSource.COMMANDLINE}
        spec = dataclasses.replace(ApplicationSpec.from_file(spec_file), **typed, detached=True)
    else:
        if cmd is None:
            raise click.UsageError("Missing argument 'CMD' (or --spec FILE).")
        if num_containers == 0 and not keep_alive:
            raise click.BadParameter(
                "-n 0 needs --keep-alive: an application without it ends once its containers "
                "have finished, and one with none would wait, doing nothing, until killed. "
                "Start with -n 1 or more, or pass --keep-alive and add containers later "
                "(knit scale).", param_hint="'-n' / '--num-containers'")
        spec = ApplicationSpec(cmd, **given, detached=True)
    app = ClusterClient(hadoop_conf_dir, **login()).start(spec)
    app.detach()
    click.echo(app.app_id)


@click.command("ls")
@click.option("--all", "include_finished", is_flag=True, help="Include finished applications.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@conf_option
def ls(include_finished, as_json, hadoop_conf_dir):
    """This user's knit applications: id, name, state, containers, elapsed."""
    apps = ClusterClient(hadoop_conf_dir, **login()).applications(include_finished=include_finished)
    if as_json:
        click.echo(json.dumps(apps, indent=2))
        return
    rows = [[a["app_id"], a["name"], a["state"] if a["state"] != "FINISHED" else a["final_status"],
             str(a["containers"]), elapsed(a["elapsed_ms"])] for a in apps]
    click.echo(table(rows, ["APPLICATION", "NAME", "STATE", "CONTAINERS", "ELAPSED"]))


@click.command()
@app_argument
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@conf_option
def status(app_id, as_json, hadoop_conf_dir):
    """An application's state, why it waits if it does, and its containers."""
    handle = _by_id(hadoop_conf_dir, app_id)
    report = handle.status()
    containers = []
    if report.state not in DONE_STATES:
        try:
            containers = _attached(hadoop_conf_dir, app_id).get_containers()
        except ApplicationStateError:
            pass  # not this user's, or it just ended: the report says enough
    if as_json:
        click.echo(json.dumps({"report": report.to_dict(),
                               "containers": [c.to_dict() for c in containers]}, indent=2))
        return
    lines = [f"{app_id}  {report.name}  {report.state}"
             + (f" ({report.final_status})" if report.state in DONE_STATES else ""),
             f"user {report.user}, queue {report.queue}, tracking {report.tracking_url}"]
    if report.waiting:
        lines.append(f"waiting: {report.waiting}")
    if report.diagnostics:
        lines.append(f"diagnostics: {report.diagnostics}")
    click.echo("\n".join(lines))
    if containers:
        click.echo(table([[c.id, c.role, c.state, c.outcome or "", c.node] for c in containers],
                         ["CONTAINER", "ROLE", "STATE", "OUTCOME", "NODE"]))


@click.command()
@app_argument
@click.option("--container", "container_id", help="One container's logs only.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing what is written, until the "
                                                   "application ends.")
@click.option("--all-files", is_flag=True, help="Every file of each container's log dir, not "
                                                "only stdout and stderr.")
@conf_option
def logs(app_id, container_id, follow, all_files, hadoop_conf_dir):
    """An application's logs (stdout and stderr of each container, the ApplicationMaster's
    among them; --all-files: every file)."""
    handle = _by_id(hadoop_conf_dir, app_id)
    ended = handle.status().state in DONE_STATES
    if not follow or ended:
        if not ended:  # live logs: the AM knows where each container runs
            handle = _attached(hadoop_conf_dir, app_id)
        for container, files in handle.logs(container_id, all_files=all_files).items():
            for name in sorted(files):
                click.echo(f"==> {container} {name} <==")
                click.echo(files[name], nl=not files[name].endswith("\n"))
        return
    app = _attached(hadoop_conf_dir, app_id)
    shown: dict[tuple[str, str], int] = {}
    while True:
        running = app.status().state not in DONE_STATES
        try:
            current = app.logs(container_id, all_files=all_files) if running else {}
        except ApplicationStateError:
            current, running = {}, False
        for container, files in sorted(current.items()):
            for name, text in sorted(files.items()):
                if name == "unreadable":
                    continue
                new = text[shown.get((container, name), 0):]
                if new:
                    click.echo(f"==> {container} {name} <==")
                    click.echo(new, nl=not new.endswith("\n"))
                shown[(container, name)] = len(text)
        if not running:
            return
        time.sleep(1)


@click.command()
@app_argument
@click.argument("n", type=click.IntRange(min=0))
@click.option("--role", help="Which kind of container (default: a Dask cluster's workers, "
                             "else the application's own command).")
@conf_option
def scale(app_id, n, role, hadoop_conf_dir):
    """Run N containers of a running application."""
    app = _attached(hadoop_conf_dir, app_id)
    role = role or (_DASK_WORKER_ROLE if _DASK_WORKER_ROLE in app.roles else MAIN_ROLE)
    before, after = app.scale(n, role=role)
    app.detach()
    click.echo(f"{app_id}: {role} containers {before} -> {after}")


def _ended(cluster: ClusterClient, app_id: str) -> tuple[str, str] | None:
    """(state, final status) if the ResourceManager says the application has ended, from
    its REST API: no client JVM to start for an application that is over already. None
    while it runs, or when the REST API does not answer (the JVM's report will tell)."""
    try:
        app = cluster._rm_get(f"/ws/v1/cluster/apps/{app_id}")["app"]
    except (KnitException, KeyError, TypeError):
        return None
    return (app["state"], app["finalStatus"]) if app.get("state") in DONE_STATES else None


@click.command()
@app_argument
@conf_option
def kill(app_id, hadoop_conf_dir):
    """End an application (its ApplicationMaster stops it: SUCCEEDED); of one that has
    ended already, say so."""
    cluster = ClusterClient(hadoop_conf_dir, **login())
    ended = _ended(cluster, app_id)
    if ended is None:
        try:
            app = cluster.connect(app_id)
        except ApplicationStateError:
            app = Application(cluster, app_id)  # not attachable: YARN's kill
            report = app.status()
            if report.state in DONE_STATES:
                ended = report.state, report.final_status
    if ended is not None:
        click.echo(f"{app_id}: had already ended: {ended[0]} ({ended[1]})")
        return
    app.kill()
    report = app.status()
    click.echo(f"{app_id}: {report.state} ({report.final_status})")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@conf_option
def clean(as_json, hadoop_conf_dir):
    """Remove the HDFS staging dirs that ended applications left (~/.knit/application_*)."""
    removed = ClusterClient(hadoop_conf_dir, **login()).clean()
    if as_json:
        click.echo(json.dumps(removed, indent=2))
    elif not removed:
        click.echo("No staging dir of an ended application was left.")
    else:
        click.echo(table([[r["app_id"], r["state"], elapsed(r["age_ms"]) + " ago"] for r in removed],
                         ["REMOVED", "STATE", "ENDED"]))
