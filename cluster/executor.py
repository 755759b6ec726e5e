"""`groundhog babble --ray auto|ADDRESS`: persona-days as Ray tasks across a Ray cluster.

The driver (the `groundhog babble` process) keeps everything that decides or records: budgets, pauses,
progress events and every SQLite write (the day commit). A Ray task runs one persona-day on a worker
(`loop.worker.run_day`) against the Chroma server and the model endpoint, and returns its `DayResult`.
A worker or node that dies mid-day has its task retried by Ray (`TASK_RETRIES`); the day's entries
have deterministic ids and the day row is written only by the driver, after the result came back, so a
redone day is neither lost nor written twice.

Checked before any work starts, each one line and exit 2: `--ray` without `chroma_url` (an embedded
store cannot be shared across processes), an address that does not answer, and a node whose worker
cannot build its parts or reach the log. Ray is imported only here, inside functions.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from groundhog.cluster.worker import DayJob, Night, probe, run_day
from groundhog.core.errors import BadInput, GroundhogError, ProviderError
from groundhog.core.extras import require
from groundhog.core.settings import Settings
from groundhog.loop.work import cross_critic_for

if TYPE_CHECKING:
    from groundhog.loop.day import DayPlan, DayResult, DayRunner
    from groundhog.researchers.personas import Persona
    from groundhog.store.sessions import SessionConfig

DAY_TASK_CPUS = 0.25  # a day mostly waits on the endpoint: four days in flight per CPU of a node
TASK_RETRIES = 3  # times Ray runs a day again after its worker or node died
CONNECT_TIMEOUT_S = 5.0
PROBE_TIMEOUT_S = 120.0  # the first task on a node starts a worker process and builds its parts
DEFAULT_PORTS = {"": 6379, "ray://": 10001}  # a head node's GCS port; Ray Client's port


class WorkerLost(ProviderError):
    """The day's worker (or its node) died more times than Ray retries a task: the day failed, and is
    redone on `--resume` like any failed day."""


def _split(address: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a Ray address: HOST:PORT, HOST (port 6379) or ray://HOST[:PORT]."""
    scheme = "ray://" if address.startswith("ray://") else ""
    rest = address.removeprefix(scheme).rstrip("/")
    host, colon, port = rest.rpartition(":") if ":" in rest else (rest, "", "")
    if not host or (colon and not port.isdigit()) or "/" in rest:
        raise BadInput(
            f"--ray: '{address}' is not a Ray address: give auto, HOST:PORT (the head's GCS port) or ray://HOST:PORT"
        )
    return scheme, host, int(port) if port else DEFAULT_PORTS[scheme]


def check_address(address: str) -> str:
    """The address in Ray's form, once something answers there like a Ray head node; BadInput naming
    `--ray` otherwise. A plain TCP connect first: Ray's own client waits long for a silent address."""
    scheme, host, port = _split(address)
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        raise BadInput(f"--ray: no Ray cluster answers at {address} ({exc.strerror or exc})") from exc
    canonical = f"{scheme}{host}:{port}"
    if not scheme and (why := _gcs_problem(canonical)):
        raise BadInput(f"--ray: {address} is not a Ray head node ({why})")
    return canonical


# What `ray status` says, and `ray.init(address="auto")` raises, when this machine runs no Ray cluster.
NO_LOCAL_CLUSTER = "Could not find any running Ray instance"


def _gcs_problem(address: str | None) -> str | None:
    """Ask a head (None: the cluster `ray start --head` started on this machine, found as Ray finds it)
    whether it answers as a Ray cluster, within a bound, through Ray's own command (`ray status`, in a
    child of its own, so an address that answers but is no Ray head, or a cluster that died and left its
    address behind, costs the bound and not `ray.init`'s long wait). None when it answers, or when no
    `ray` command is beside this interpreter (then `ray.init` tells); else what went wrong, in a line."""
    command = Path(sys.executable).with_name("ray")
    if not command.exists():
        return None
    bound = CONNECT_TIMEOUT_S * 3
    try:
        done = subprocess.run(
            [str(command), "status", *(["--address", address] if address else [])],
            capture_output=True,
            text=True,
            timeout=bound,
        )
    except subprocess.TimeoutExpired:
        return f"no answer from its GCS within {bound:.0f} s"
    if done.returncode == 0:
        return None
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    return " ".join((lines[-1] if lines else f"ray status exited {done.returncode}").split())[:200]


def connect(address: str) -> tuple[str, bool]:
    """Join the cluster (`auto`: RAY_ADDRESS, else the cluster `ray start` made on this machine, else a
    local Ray instance for this run). Returns what it joined, in words, and whether this call joined it
    (a process that is already connected, a test or a notebook, stays connected after the night)."""
    import ray

    if ray.is_initialized():
        return _describe("the Ray instance already joined"), False
    quiet: dict[str, Any] = {"logging_level": logging.ERROR, "log_to_driver": False}  # no INFO lines, no worker output
    target = os.environ.get("RAY_ADDRESS") if address == "auto" else address
    if target:
        target = check_address(target)
    try:
        if target:
            ray.init(address=target, **quiet)
            return _describe(f"the Ray cluster at {target}"), True
        why = _gcs_problem(None)  # a cluster `ray start --head` started on this machine?
        if why is None:
            try:
                ray.init(address="auto", **quiet)
                return _describe(f"the Ray cluster at {ray.get_runtime_context().gcs_address}"), True
            except ConnectionError as exc:  # no `ray` command to ask first, and no cluster either
                if NO_LOCAL_CLUSTER not in str(exc):
                    raise
                why = str(exc)
        if NO_LOCAL_CLUSTER not in why:
            raise BadInput(
                f"--ray: the Ray cluster started on this machine does not answer ({why}); `ray stop` ends what "
                "is left of it, or give its address"
            )
        ray.init(include_dashboard=False, **quiet)  # none running: a local Ray instance for this run
        return _describe("a local Ray instance"), True
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise BadInput(f"--ray: cannot join the Ray cluster at {target or address}: {exc}") from exc


def _describe(what: str) -> str:
    import ray

    nodes = [n for n in ray.nodes() if n.get("Alive")]
    cpus = ray.cluster_resources().get("CPU", 0)
    return f"{what}: {len(nodes)} node{'s' if len(nodes) != 1 else ''}, {cpus:g} CPUs"


class RayDays:
    """The session runner's executor for `--ray`: each persona-day one Ray task (see `loop.work`)."""

    def __init__(
        self,
        settings: Settings,
        config: SessionConfig | None,
        all_personas: list[Persona],
        *,
        task_cpus: float = DAY_TASK_CPUS,
        retries: int = TASK_RETRIES,
        joined: str = "",
        owns_connection: bool = False,
    ) -> None:
        import ray

        self.config = config
        self.all_personas = all_personas
        self.joined = joined  # what was joined, in words, for the progress line
        self.task_cpus, self.retries = task_cpus, retries
        self._owns_connection = owns_connection
        self._night = ray.put(Night(settings, config))
        # SPREAD: days go to every node in turn (they mostly wait on the endpoint; packing them onto the
        # first node would leave the others idle until it is full).
        opts: dict[str, Any] = {"num_cpus": task_cpus, "max_retries": retries, "scheduling_strategy": "SPREAD"}
        opts["retry_exceptions"] = False  # a day that fails is the runner's to record; only deaths are retried
        self._day_task = ray.remote(run_day).options(**opts)
        self._probe = ray.remote(probe)
        self._probe_opts: dict[str, Any] = {"num_cpus": task_cpus, "max_retries": retries}

    def check_workers(self, timeout_s: float = PROBE_TIMEOUT_S) -> list[dict[str, Any]]:
        """A check task on every node that can take a day: BadInput naming `--ray` when one fails."""
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        nodes = [
            n["NodeID"]
            for n in ray.nodes()
            if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) >= self.task_cpus
        ]
        if not nodes:
            raise BadInput(f"--ray: no node of the cluster has {self.task_cpus:g} CPU free for a day ({self.joined})")
        refs = [
            self._probe.options(
                **self._probe_opts, scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False)
            ).remote(self._night)
            for node in nodes
        ]
        ready, waiting = ray.wait(refs, num_returns=len(refs), timeout=timeout_s)
        if waiting:
            for ref in waiting:
                ray.cancel(ref, force=True)
            raise BadInput(f"--ray: {len(waiting)} check task(s) did not run within {timeout_s:.0f} s ({self.joined})")
        found = ray.get(ready)
        failed = [f for f in found if "error" in f]
        if failed:
            f = failed[0]
            raise BadInput(f"--ray: a worker on node {f['node']} cannot run a day: {f['error']}")
        return found

    async def run(self, plan: DayPlan, runner: DayRunner) -> DayResult:
        import ray
        from ray.exceptions import RayError, RayTaskError

        assert self.config is not None, "a RayDays made for checks only runs no day"
        cross = cross_critic_for(self.config.cross_critic, plan.persona, self.all_personas)
        ref = self._day_task.remote(self._night, DayJob.of(plan, runner, cross))
        try:
            return await ref  # type: ignore[no-any-return]
        except asyncio.CancelledError:
            ray.cancel(ref)  # the session stops at once: the day is abandoned, redone on resume
            raise
        except RayTaskError as exc:  # the day itself failed on the worker: its own error, as in-process
            cause = exc.cause
            if isinstance(cause, BaseException) and not isinstance(cause, RayError):
                raise cause from None
            raise WorkerLost(f"the day failed on a Ray worker: {_one_line(exc)}") from exc
        except RayError as exc:  # the worker or its node died, every retry included
            raise WorkerLost(
                f"the Ray worker running the day died {self.retries + 1} times ({type(exc).__name__}): {_one_line(exc)}"
            ) from exc

    def close(self) -> None:
        """Leave the cluster, if this night joined it (a local instance started for it stops)."""
        if self._owns_connection:
            _shutdown()


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


NEEDS_CHROMA_SERVER = (
    "--ray: the log must be a Chroma server every worker reaches; set chroma_url (groundhog.toml or "
    "GROUNDHOG_CHROMA_URL), e.g. to a `chroma run --path DIR --port 8000` server: the embedded store "
    "cannot be shared across processes"
)


def open_ray_days(settings: Settings, config: SessionConfig, all_personas: list[Persona], address: str) -> RayDays:
    """Join the cluster and check a worker on each node, before any work: BadInput (exit 2) otherwise."""
    require("cluster", "ray", feature="--ray")
    if not settings.chroma_url:
        raise BadInput(NEEDS_CHROMA_SERVER)
    joined, owned = connect(address)
    try:
        days = RayDays(settings, config, all_personas, joined=joined, owns_connection=owned)
        days.check_workers()
    except GroundhogError:
        if owned:
            _shutdown()
        raise
    return days


def check_cluster(settings: Settings, address: str) -> tuple[str, dict[str, Any]]:
    """`groundhog doctor --ray`: join, check a worker on each node, leave. Raises BadInput on a failure."""
    require("cluster", "ray", feature="--ray")
    if not settings.chroma_url:
        raise BadInput(NEEDS_CHROMA_SERVER)
    joined, owned = connect(address)
    try:
        found = RayDays(settings, None, [], joined=joined).check_workers()
    finally:
        if owned:
            _shutdown()
    nodes = len(found)
    detail = f"{joined}; a worker on each of {nodes} node{'s' if nodes != 1 else ''} built its parts and read the log"
    return detail, {"nodes": found}


def _shutdown() -> None:
    import ray

    ray.shutdown()


def joining(services: Any, config: SessionConfig, address: str) -> Callable[[], RayDays]:
    """What `babble --ray ADDRESS` hands to `open_services`: join the cluster when the night's other
    services are checked, with the settings and personas of `services` (the composition root)."""
    return lambda: open_ray_days(services.settings, config, services.personas.all(), address)
