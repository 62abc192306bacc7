"""Names and rules that both sides use, each written once here (the JVM side's are in
knit.common.AppFiles and knit.common.LiveLogs; tests/test_contract.py checks that the two
agree).

This module imports nothing of knit's, so that every other module can import it.
"""
from __future__ import annotations

#: The role of the containers that run the application's own command.
MAIN_ROLE = "main"
#: Role names: plain, as they become directory names in the staging dir.
ROLE_NAME_PATTERN = r"[A-Za-z][A-Za-z0-9_-]{0,63}"
#: What knit puts in a container's working directory: no file of the user's may take one
#: of these names.
CONTAINER_RESERVED_NAMES = frozenset({
    "knit-command.sh", "knit.jar", "knit-app.json", "knit_env", "knit.keytab",
    "knit-hadoop-conf", "knit-hadoop-conf.zip"})
#: The log files logs() returns by default (all_files=True: every one).
STD_LOGS = ("stdout", "stderr")
#: Under the user's HDFS home: ``.knit/<application id>/``, an application's staging dir.
STAGING_ROOT = ".knit"

#: In a container with a packed environment: the variable naming its interpreter.
PYTHON_BIN_VAR = "PYTHON_BIN"
#: A container's states (``Container.state``), in order, and those of a live one.
CONTAINER_STATES = ("ALLOCATED", "RUNNING", "COMPLETED")
ALLOCATED, RUNNING, COMPLETED = CONTAINER_STATES
LIVE_CONTAINER_STATES = (ALLOCATED, RUNNING)
#: How the ApplicationMaster says a container ended (``Container.outcome``).
CONTAINER_OUTCOMES = ("SUCCEEDED", "FAILED", "PREEMPTED", "RELEASED")
OUTCOME_SUCCEEDED, OUTCOME_FAILED, OUTCOME_PREEMPTED, OUTCOME_RELEASED = CONTAINER_OUTCOMES

#: What the contract test compares with the JVM's ``sharedNames()``.
SHARED = {
    "main_role": MAIN_ROLE,
    "role_name": ROLE_NAME_PATTERN,
    "container_reserved_names": sorted(CONTAINER_RESERVED_NAMES),
    "std_logs": list(STD_LOGS),
    "staging_root": STAGING_ROOT,
    "python_bin_variable": PYTHON_BIN_VAR,
    "container_states": list(CONTAINER_STATES),
    "container_outcomes": list(CONTAINER_OUTCOMES),
}
