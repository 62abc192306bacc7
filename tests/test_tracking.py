"""knit applications in YARN's UI: tags, type, and a tracking URL that leads, through the
ResourceManager's proxy, to a page of the application (and to a Dask cluster's dashboard)."""
from __future__ import annotations

import re

import pytest
import requests

import knit
from helpers import wait_for
from knit import Knit


def rm_app(minicluster, app_id: str) -> dict:
    return requests.get(f"{minicluster.resourcemanager_web}/ws/v1/cluster/apps/{app_id}",
                        timeout=10).json()["app"]


def tracking_page(url: str) -> requests.Response:
    """The page at the tracking URL, once the AM has one (it registers it with YARN just
    after it starts: until then the proxy sends to the ResourceManager's own page)."""
    return wait_for(lambda: (lambda r: r if r.status_code == 200 and r.url == url else None)(
        requests.get(url, timeout=10)), 30, "the AM's tracking page")


def test_a_plain_application_is_tagged_and_its_tracking_url_shows_its_containers(minicluster):
    with Knit(minicluster.conf_dir) as k:
        app_id = k.start("sleep 600", num_containers=2, memory=256, tags=["Nightly"])
        wait_for(lambda: sum(c.state == "RUNNING" for c in k.get_containers()) == 2, 60, "2 containers")
        app = rm_app(minicluster, app_id)
        assert app["applicationType"] == "KNIT"
        assert set(app["applicationTags"].split(",")) == {"knit", f"knit-{knit.__version__}", "nightly"}
        url = app["trackingUrl"]
        assert url.endswith(f"/proxy/{app_id}/") and not re.search(r":0/", url)
        page = tracking_page(url)
        for c in k.get_containers():
            assert c.id in page.text
        assert "2 live containers of 2" in page.text


def test_a_dask_clusters_tracking_page_links_to_its_dashboard(minicluster):
    pytest.importorskip("distributed")
    from knit.dask import YarnCluster
    with YarnCluster(n_workers=1, worker_memory="512 MiB", deploy_mode="remote",
                     scheduler_memory="512 MiB", hadoop_conf_dir=minicluster.conf_dir,
                     progress=False) as cluster:
        app = rm_app(minicluster, cluster.application_id)
        assert "dask" in app["applicationTags"].split(",")
        page = tracking_page(app["trackingUrl"])
        link = re.search(r'<a href="([^"]+)">Dask dashboard</a>', page.text)
        assert link and link.group(1) == cluster.dashboard_link
        dashboard = requests.get(link.group(1), timeout=30)
        assert dashboard.status_code == 200 and "Dask" in dashboard.text


def test_the_notebook_view_shows_the_scheduler(minicluster):
    pytest.importorskip("distributed")
    from knit.dask import YarnCluster
    with YarnCluster(n_workers=1, worker_memory="512 MiB", hadoop_conf_dir=minicluster.conf_dir,
                     progress=False) as cluster:
        cluster.wait_for_workers(1, timeout=120)
        html = cluster._repr_html_()
        assert "Scheduler not started yet" not in html
        assert cluster.scheduler_address in html and "Workers" in html
