"""Reading a Hadoop client configuration: where it is, what it says, where the RM is.

Pure Python: the ``*-site.xml`` files are parsed here, without Java. Only the keys a
client needs to find HDFS and the YARN ResourceManager are interpreted; the defaults
applied when a key is missing are those of Hadoop's ``*-default.xml``.
"""
from __future__ import annotations

import getpass
import logging
import os
import pwd
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

import requests

from .exceptions import ConfigurationError
from .timeouts import REST_CONNECT_S, REST_S

logger = logging.getLogger(__name__)

#: Where Hadoop distributions put the client configuration when no env var names one.
DEFAULT_CONF_DIR = "/etc/hadoop/conf"

#: The files :meth:`HadoopConfig.load` reads, in order: a later file wins.
SITE_FILES = ("core-site.xml", "hdfs-site.xml", "yarn-site.xml")

#: A conf dir must hold at least one of these to count as a Hadoop configuration.
_REQUIRED_ANY = ("core-site.xml", "yarn-site.xml")

#: Nesting limit of ``${...}`` expansion (Hadoop's own limit is 20 too).
MAX_EXPANSION_DEPTH = 20

_RM_PORT = 8032
_RM_WEB_PORT = 8088
_RM_WEB_HTTPS_PORT = 8090
_ANY_HOST = "0.0.0.0"

# Same shape as Hadoop's: no '}', '$' or space inside the braces.
_VAR = re.compile(r"\$\{([^}$ ]+)\}")

_MINICLUSTER_HINT = (
    "Set HADOOP_CONF_DIR to the directory holding your cluster's core-site.xml and "
    "yarn-site.xml, or pass it as hadoop_conf_dir (Knit, ClusterClient, YarnCluster, "
    "knit.connect; --hadoop-conf-dir on the command line). For a local sandbox cluster, "
    "start `knit.MiniCluster()` and pass its .conf_dir.")


def acting_user() -> str:
    """Who a Hadoop client of this process is on a cluster without Kerberos:
    ``$HADOOP_USER_NAME`` if set (Hadoop's simple authentication honours it), else the
    login name of this process's uid (Java's ``user.name``), else what the environment says
    (a uid without a passwd entry, as in some containers)."""
    named = os.environ.get("HADOOP_USER_NAME")
    if named:
        return named
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return getpass.getuser()


def find_conf_dir(explicit: str | os.PathLike | None = None) -> str:
    """Find the Hadoop client configuration directory.

    The first of these that is set is used: `explicit`, ``$HADOOP_CONF_DIR``,
    ``$YARN_CONF_DIR``, then :data:`DEFAULT_CONF_DIR` (``/etc/hadoop/conf``). An empty
    environment variable counts as unset.

    Parameters
    ----------
    explicit : str or path, optional
        A directory chosen by the caller; wins over the environment.

    Returns
    -------
    str
        The absolute path of the directory.

    Raises
    ------
    ConfigurationError
        If the chosen directory was given (as `explicit` or by an environment variable)
        but does not exist or is not a directory; or if the chosen directory holds
        neither ``core-site.xml`` nor ``yarn-site.xml`` (the message lists where it
        looked).
    """
    looked: list[str] = []
    if explicit is not None:
        source, path = "the hadoop_conf_dir argument", os.fspath(explicit)
    else:
        looked.append("hadoop_conf_dir argument: not given")
        for var in ("HADOOP_CONF_DIR", "YARN_CONF_DIR"):
            value = os.environ.get(var, "")
            if value:
                source, path = f"${var}", value
                break
            looked.append(f"${var}: not set")
        else:
            source, path = "the default", DEFAULT_CONF_DIR

    path = os.path.abspath(os.path.expanduser(path))
    if source != "the default":
        if not os.path.exists(path):
            raise ConfigurationError(
                f"The Hadoop conf dir {path} (from {source}) does not exist. "
                + _MINICLUSTER_HINT)
        if not os.path.isdir(path):
            raise ConfigurationError(
                f"The Hadoop conf dir {path} (from {source}) is not a directory. "
                + _MINICLUSTER_HINT)

    if not os.path.isdir(path):
        looked.append(f"{path} ({source}): does not exist")
    elif not any(os.path.isfile(os.path.join(path, f)) for f in _REQUIRED_ANY):
        looked.append(f"{path} ({source}): has neither {' nor '.join(_REQUIRED_ANY)}")
    else:
        logger.debug("Hadoop conf dir %s (from %s)", path, source)
        return path
    raise ConfigurationError(
        "No Hadoop configuration was found. Looked at: " + "; ".join(looked) + ". "
        + _MINICLUSTER_HINT)


class HadoopConfig:
    """The merged properties of a Hadoop client configuration.

    Build one with :meth:`load`. Values in :attr:`values` are as written in the files;
    :meth:`get` and the properties expand ``${other.key}`` and ``${env.NAME}``
    references in them.

    Parameters
    ----------
    conf_dir : str
        The directory the properties came from (informational; used in messages).
    properties : mapping of str to str
        Properties read from the files.
    overrides : mapping of str to str, optional
        Properties that win over `properties`.

    Attributes
    ----------
    conf_dir : str
        The configuration directory.
    values : dict of str to str
        All properties: `properties` updated with `overrides`, unexpanded.
    overrides : dict of str to str
        The overrides alone.
    """

    def __init__(
        self,
        conf_dir: str,
        properties: Mapping[str, str],
        overrides: Mapping[str, Any] | None = None,
    ) -> None:
        self.conf_dir = conf_dir
        self.overrides: dict[str, str] = {
            k: _to_str(v) for k, v in (overrides or {}).items()}
        self.values: dict[str, str] = {**properties, **self.overrides}

    @classmethod
    def load(cls, conf_dir: str | os.PathLike | None = None, **overrides: Any) -> "HadoopConfig":
        """Read ``core-site.xml``, ``hdfs-site.xml`` and ``yarn-site.xml``.

        Each file is optional. A later file wins over an earlier one, except for a
        property an earlier file marks ``<final>true</final>``; the overrides win over all.

        Parameters
        ----------
        conf_dir : str or path, optional
            The configuration directory; found with :func:`find_conf_dir` (which also
            receives an explicit one, to check it).
        **overrides
            Properties that win over the files. Hadoop keys contain dots, so pass them
            as a dict: ``HadoopConfig.load(d, **{"yarn.resourcemanager.address": "h:1"})``.
            Booleans become ``"true"``/``"false"``, other values ``str(value)``.

        Returns
        -------
        HadoopConfig

        Raises
        ------
        ConfigurationError
            If no configuration directory is found, or a file cannot be read or is not
            a well-formed Hadoop configuration file.
        """
        path = find_conf_dir(conf_dir)
        properties: dict[str, str] = {}
        final: set[str] = set()
        for name in SITE_FILES:
            file = os.path.join(path, name)
            if os.path.isfile(file):
                for key, value, is_final in _parse_site_file(file):
                    if key in final and properties.get(key) != value:
                        logger.warning("%s: ignoring %s=%r, made final by an earlier file",
                                       file, key, value)
                        continue
                    properties[key] = value
                    if is_final:
                        final.add(key)
        return cls(path, properties, overrides)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(conf_dir={self.conf_dir!r}, "
                f"{len(self.values)} properties, {len(self.overrides)} overrides)")

    def get(self, key: str, default: str | None = None) -> str | None:
        """The value of `key` with ``${...}`` references expanded, or `default`.

        ``${other.key}`` is replaced by that property's (expanded) value,
        ``${env.NAME}`` by the environment variable (``${env.NAME:-fallback}`` and
        ``${env.NAME-fallback}`` as in a shell); unknown references are left as they
        are.

        Raises
        ------
        ConfigurationError
            If references nest deeper than :data:`MAX_EXPANSION_DEPTH` or form a loop.
        """
        if key not in self.values:
            return default
        return self._expand(self.values[key], (key,))

    def _expand(self, value: str, chain: tuple[str, ...]) -> str:
        if len(chain) > MAX_EXPANSION_DEPTH:
            raise ConfigurationError(
                f"Expanding ${{...}} in {chain[0]} of {self.conf_dir} goes deeper than "
                f"{MAX_EXPANSION_DEPTH} levels: {' -> '.join(chain)}")

        def substitute(match: re.Match) -> str:
            name = match.group(1)
            if name.startswith("env."):
                found = _env_lookup(name[len("env."):])
                return match.group(0) if found is None else found
            if name not in self.values:
                return match.group(0)
            if name in chain:
                raise ConfigurationError(
                    f"The ${{...}} references in {self.conf_dir} form a loop: "
                    f"{' -> '.join(chain + (name,))}")
            return self._expand(self.values[name], chain + (name,))

        return _VAR.sub(substitute, value)

    # ------------------------------------------------------------------ derived
    @property
    def default_fs(self) -> str:
        """The default file system URI: ``fs.defaultFS`` (or its old name
        ``fs.default.name``), else ``"file:///"``."""
        return self.get("fs.defaultFS") or self.get("fs.default.name") or "file:///"

    @property
    def rm_ids(self) -> list[str]:
        """The ResourceManager ids under HA (``yarn.resourcemanager.ha.rm-ids``), or
        ``[]`` when ``yarn.resourcemanager.ha.enabled`` is not true."""
        if not _is_true(self.get("yarn.resourcemanager.ha.enabled")):
            return []
        ids = [i.strip() for i in (self.get("yarn.resourcemanager.ha.rm-ids") or "").split(",")]
        ids = [i for i in ids if i]
        if not ids:
            logger.warning("%s: yarn.resourcemanager.ha.enabled is true but "
                           "yarn.resourcemanager.ha.rm-ids is empty; using the non-HA "
                           "ResourceManager address", self.conf_dir)
        return ids

    @property
    def https(self) -> bool:
        """True if ``yarn.http.policy`` is ``HTTPS_ONLY`` (web UIs and REST over TLS)."""
        return (self.get("yarn.http.policy") or "").strip().upper() == "HTTPS_ONLY"

    @property
    def resourcemanager_addresses(self) -> list[str]:
        """``"host:port"`` of the client RPC of each ResourceManager (one unless HA).

        From ``yarn.resourcemanager.address[.<id>]``, else
        ``yarn.resourcemanager.hostname[.<id>]`` with port 8032, else ``0.0.0.0:8032``.
        """
        return [f"{host}:{port}" for host, port in
                self._rm_endpoints("yarn.resourcemanager.address", _RM_PORT)]

    @property
    def resourcemanager_web_urls(self) -> list[str]:
        """Base URL (``http(s)://host:port``, no trailing slash) of the web UI and REST
        API of each ResourceManager (one unless HA).

        From ``yarn.resourcemanager.webapp.address[.<id>]`` (or, when :attr:`https`,
        ``yarn.resourcemanager.webapp.https.address[.<id>]``), else
        ``yarn.resourcemanager.hostname[.<id>]`` with port 8088 (8090 for HTTPS).
        """
        if self.https:
            scheme, key, port = "https", "yarn.resourcemanager.webapp.https.address", _RM_WEB_HTTPS_PORT
        else:
            scheme, key, port = "http", "yarn.resourcemanager.webapp.address", _RM_WEB_PORT
        return [f"{scheme}://{_host_for_url(host)}:{p}"
                for host, p in self._rm_endpoints(key, port)]

    def _rm_endpoints(self, key: str, default_port: int) -> list[tuple[str, int]]:
        """(host, port) of `key` for each RM, with the hostname and port fallbacks."""
        ids = self.rm_ids
        endpoints = []
        for suffix in ([f".{i}" for i in ids] if ids else [""]):
            hostname = (self.get("yarn.resourcemanager.hostname" + suffix) or "").strip()
            address = (self.get(key + suffix) or "").strip()
            if ids and not address and not hostname:
                raise ConfigurationError(
                    f"{self.conf_dir}: ResourceManager HA is enabled but neither "
                    f"{key}{suffix} nor yarn.resourcemanager.hostname{suffix} is set.")
            host, port = _split_host_port(address or hostname or _ANY_HOST, default_port)
            if host == _ANY_HOST and hostname and hostname != _ANY_HOST:
                host = hostname  # a bind-all address: reach the RM by its hostname
            endpoints.append((host, port))
        return endpoints


def rm_get(
    config: HadoopConfig,
    path: str,
    timeout: float = REST_S,
    session: requests.Session | None = None,
    verify: bool | str | None = None,
    auth: Any = None,
) -> dict:
    """GET `path` from the ResourceManager REST API and return the parsed JSON.

    Each RM web URL of `config` is tried in order; one that cannot be reached, answers
    with an HTTP error or is a standby RM (it redirects, or says "This is standby RM")
    is skipped. On a cluster with simple authentication the query parameter
    ``user.name=<current user>`` is added.

    Parameters
    ----------
    config : HadoopConfig
        Where the ResourceManager(s) are.
    path : str
        The REST path, such as ``"/ws/v1/cluster/info"``; may carry a query string.
    timeout : float
        Seconds to wait for an answer from one RM; connecting waits at most
        ``min(timeout, REST_CONNECT_S)``, so that an unreachable RM fails fast.
    session : requests.Session, optional
        The session to send the requests with; by default a new one.
    verify : bool or str, optional
        Passed to requests: False skips certificate checks, a string names a CA bundle.
        By default certificates are verified as requests does by default.
    auth : requests auth, optional
        How to authenticate, e.g. SPNEGO on a Kerberized cluster
        (:meth:`knit.kerberos.Identity.http_auth`).

    Returns
    -------
    dict
        The JSON of the first good answer.

    Raises
    ------
    ConfigurationError
        If no ResourceManager gives a good answer.
    """
    if not path.startswith("/"):
        path = "/" + path
    params = {}
    method = (config.get("hadoop.security.authentication") or "simple").strip().lower()
    if method == "simple" and "user.name=" not in path:
        params["user.name"] = acting_user()  # who Hadoop's own clients would be
    urls = config.resourcemanager_web_urls
    errors: list[str] = []
    own_session = session is None
    http = requests.Session() if own_session else session
    try:
        for base in urls:
            url = base + path
            try:
                response = http.get(
                    url, params=params, timeout=(min(timeout, REST_CONNECT_S), timeout), verify=verify, auth=auth,
                    allow_redirects=False, headers={"Accept": "application/json"})
            except requests.RequestException as e:
                errors.append(f"{base}: {e}")
                logger.debug("ResourceManager %s unreachable: %s", base, e)
                continue
            error = _answer_error(response)
            if error is None:
                try:
                    return response.json()
                except ValueError:
                    error = f"answered HTTP {response.status_code} with a body that is not JSON"
            errors.append(f"{base}: {error}")
            logger.debug("ResourceManager %s skipped: %s", base, error)
    finally:
        if own_session:
            http.close()
    if not urls:  # not reachable: _rm_endpoints always yields one, kept for safety
        errors.append("no ResourceManager address is configured")
    detail = errors[-1].split(": ", 1)[1] if len(errors) == 1 else "; ".join(errors)
    raise ConfigurationError(
        f"Cannot reach the YARN ResourceManager at {', '.join(urls)}: {detail}. "
        f"Check HADOOP_CONF_DIR (the configuration used is in {config.conf_dir}) and "
        "that the ResourceManager is running.")


# ---------------------------------------------------------------------- helpers
def _answer_error(response: requests.Response) -> str | None:
    """Why `response` is not a good RM answer, or None if it is."""
    if 300 <= response.status_code < 400:
        where = response.headers.get("Location")
        return (f"standby ResourceManager (HTTP {response.status_code} redirect"
                + (f" to {where})" if where else ")"))
    text = response.text[:4096]
    if "this is standby rm" in text.lower():
        return "standby ResourceManager"
    if response.status_code >= 400:
        snippet = " ".join(text.split())[:300]
        return f"HTTP {response.status_code} {response.reason}" + (f": {snippet}" if snippet else "")
    return None


def _parse_site_file(file: str) -> list[tuple[str, str, bool]]:
    """(name, value, final) of each property of a Hadoop ``*-site.xml`` file."""
    try:
        root = ET.parse(file).getroot()
    except ET.ParseError as e:
        raise ConfigurationError(f"Malformed Hadoop configuration file {file}: {e}") from e
    except OSError as e:
        raise ConfigurationError(f"Cannot read Hadoop configuration file {file}: {e}") from e
    if root.tag != "configuration":
        raise ConfigurationError(
            f"Malformed Hadoop configuration file {file}: the top element is "
            f"<{root.tag}>, not <configuration>")
    found = []
    for prop in root.iter("property"):
        # Hadoop accepts both child elements and attributes.
        fields = dict(prop.attrib)
        for child in prop:
            if child.tag in ("name", "value", "final"):
                fields[child.tag] = child.text or ""
        name = (fields.get("name") or "").strip()
        if not name or "value" not in fields:
            logger.debug("%s: skipping a property without name or value: %s", file, fields)
            continue
        found.append((name, fields["value"].strip(), _is_true(fields.get("final"))))
    return found


def _env_lookup(spec: str) -> str | None:
    """``NAME``, ``NAME:-fallback`` or ``NAME-fallback`` against os.environ."""
    if ":-" in spec:
        name, fallback = spec.split(":-", 1)
        return os.environ.get(name) or fallback
    if "-" in spec:
        name, fallback = spec.split("-", 1)
        return os.environ.get(name, fallback)
    return os.environ.get(spec)


def _split_host_port(address: str, default_port: int) -> tuple[str, int]:
    """``host[:port]`` (also ``[v6]:port`` and a leading ``scheme://``) to (host, port)."""
    address = re.sub(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", "", address.strip()).rstrip("/")
    if address.startswith("["):  # [IPv6]:port
        host, _, rest = address[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif address.count(":") == 1:
        host, port = address.split(":")
    else:  # a bare host, or a bare IPv6 address
        host, port = address, ""
    if not port:
        return host or _ANY_HOST, default_port
    if not port.isdigit():
        raise ConfigurationError(f"Bad port in the Hadoop address {address!r}")
    return host or _ANY_HOST, int(port)


def _host_for_url(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _is_true(value: str | None) -> bool:
    return (value or "").strip().lower() == "true"


def _to_str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
