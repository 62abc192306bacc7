"""Every wait of knit's Python side, in seconds, in one table: each default and bound is
written here once, and the modules (and the signatures users see) take it from here.

The JVM side's waits are in knit.common.HadoopConf (the ResourceManager's: about 30 s)
and the AM's own classes.
"""
from __future__ import annotations

#: The lease: the AM ends an application whose client has not renewed it for this long
#: (the client died, even by kill -9) ...
LEASE_S = 30
#: ... and the client renews it this often.
LEASE_RENEW_S = 5

#: start(): the ApplicationMaster's start and registration (YARN may keep it waiting).
START_S = 120
#: connect() / Knit.attach() / the CLI's commands about one application: reaching its
#: running ApplicationMaster.
CONNECT_S = 60
#: A new ApplicationMaster attempt taking over, for a client that follows it.
AM_TAKEOVER_S = 120
#: One call to an ApplicationMaster's gateway.
AM_CALL_S = 60
#: kill(): the application's end.
KILL_S = 30
#: logs(): reading the containers' logs.
LOGS_S = 60
#: The client JVM's start, and its end once its stdin closes (it kills what it started).
JVM_START_S = 60
JVM_STOP_S = 60
#: A subprocess that answers a question (``hadoop classpath``, ``java -version``...).
TOOL_S = 60
#: One REST call to a ResourceManager (connecting waits at most REST_CONNECT_S of it).
REST_S = 10
REST_CONNECT_S = 5
#: `knit info`: its quick probes of the ResourceManager, and of klist.
PROBE_S = 5
KLIST_S = 10

# knit.dask.YarnCluster
#: Worker requests wait this long before the progress display says why (and as often after).
ASK_WHY_AFTER_S = 3.0
#: Workers that run but cannot reach their scheduler: once a worker container has run this
#: long with no worker connected, its log is read; a worker that has said it is connecting
#: and still is not, this long after, means they cannot (a connection takes well under a
#: second; a dropped one is retried for 30 s in silence). Both within 60 s of the first
#: worker running.
CONNECT_LOOK_AFTER_S = 15.0
CONNECT_GIVE_UP_S = 15.0
#: A worker that cannot reach its scheduler ends after this (``--death-timeout``), rather
#: than wait forever (YARN would never see it fail).
WORKER_DEATH_TIMEOUT_S = 300
