"""Run by benchmarks/peers.py with the skein venv's python: a warm skein client serving
commands, one JSON object a line on stdin; answers one JSON object a line on stdout.

    {"cmd": "sleep", "n": N, "memory": MB, "name": NAME}
        submit an application with one service of N instances running `sleep 60`
        (MB MiB, 1 vcore); answers {"event": "submitted", "t0": <time.time() just before
        submit()>, "app_id": ..., "submit_s": ...}
    {"cmd": "kill", "app_id": ID}    kill_application; answers {"event": "killed"}
    {"cmd": "quit"}                  close the client and exit

First line out: {"event": "ready", "driver_pid": ..., "skein": version}. A failed command
answers {"event": "error", "message": ...} and the loop goes on. skein's Java driver is
this process's child on a stdin pipe: it exits with this process, however it ends.
"""
import json
import sys
import time
import traceback


def emit(event, **kw):
    print(json.dumps(dict(event=event, **kw)), flush=True)


def sleep_spec(skein, n, memory, name):
    """One service, `n` instances of `sleep 60`."""
    return skein.ApplicationSpec(
        name=name,
        services={"sleeper": skein.Service(
            instances=n, resources=skein.Resources(memory=memory, vcores=1),
            script="sleep 60")})


def serve(skein, client):
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        try:
            if cmd["cmd"] == "quit":
                return
            if cmd["cmd"] == "sleep":
                spec = sleep_spec(skein, cmd["n"], cmd["memory"], cmd["name"])
                t0 = time.time()
                app_id = client.submit(spec)
                emit("submitted", t0=t0, app_id=app_id, submit_s=time.time() - t0)
            elif cmd["cmd"] == "kill":
                client.kill_application(cmd["app_id"])
                emit("killed", app_id=cmd["app_id"])
            else:
                emit("error", message=f"unknown command {cmd!r}")
        except Exception:  # noqa: BLE001 - report and serve the next command
            emit("error", message=traceback.format_exc()[-3000:])


def main():
    import skein
    client = skein.Client()
    try:
        emit("ready", driver_pid=client._proc.pid if client._proc is not None else None,
             skein=skein.__version__)
        serve(skein, client)
    finally:
        client.close()
        emit("done")


if __name__ == "__main__":
    main()
