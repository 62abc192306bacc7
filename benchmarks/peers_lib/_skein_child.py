"""Run by probe_peers.py with the skein venv's python (not importable from knit's venv).

    python _skein_child.py startup
        import skein + skein.Client() ready (its Java driver up), then close.
    python _skein_child.py app RM_WEB_URL N
        submit one service of N containers running `sleep 60` (256 MiB, 1 vcore), poll the
        ResourceManager's REST API every 50 ms until the app has N + 1 running containers
        (AM too), kill it.

Prints one JSON object per line on stdout: {"event": ..., ...}; the last has "event": "done".
The driver JVM is the child of this process, started with a stdin pipe: it exits when this
process does, however it ends.
"""
import json
import sys
import time
import urllib.request

T0 = time.monotonic()


def emit(event, **kw):
    print(json.dumps(dict(event=event, **kw)), flush=True)


def rm_app(rm_web, app_id):
    url = f"{rm_web}/ws/v1/cluster/apps/{app_id}"
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)["app"]


def main():
    mode = sys.argv[1]
    import skein
    t_import = time.monotonic() - T0
    t = time.monotonic()
    client = skein.Client()
    t_client = time.monotonic() - t
    emit("client", import_s=t_import, client_s=t_client,
         driver_pid=client._proc.pid if client._proc is not None else None,
         skein=skein.__version__)
    try:
        if mode == "startup":
            return
        rm_web, n = sys.argv[2], int(sys.argv[3])
        spec = skein.ApplicationSpec(
            name="skein-probe",
            services={"sleeper": skein.Service(
                instances=n, resources=skein.Resources(memory=256, vcores=1),
                script="sleep 60")})
        t = time.monotonic()
        app_id = client.submit(spec)
        submit_s = time.monotonic() - t
        emit("submitted", app_id=app_id, submit_s=submit_s)
        deadline = t + 300
        app = None
        while time.monotonic() < deadline:
            app = rm_app(rm_web, app_id)
            if app["state"] == "RUNNING" and app["runningContainers"] >= n + 1:
                break
            if app["state"] in ("FAILED", "KILLED", "FINISHED"):
                emit("error", message=f"app ended: {app['state']} {app.get('diagnostics')}")
                return
            time.sleep(0.05)
        else:
            emit("error", message=f"not {n + 1} running containers after 300 s: {app}")
            client.kill_application(app_id)
            return
        running_s = time.monotonic() - t
        emit("running", running_containers=app["runningContainers"], running_s=running_s)
        t = time.monotonic()
        client.kill_application(app_id)
        kill_s = time.monotonic() - t
        emit("killed", kill_s=kill_s, final=rm_app(rm_web, app_id)["state"])
    finally:
        t = time.monotonic()
        client.close()
        emit("done", close_s=time.monotonic() - t)


if __name__ == "__main__":
    main()
