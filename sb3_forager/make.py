"""Where a backend is chosen: every env of every model, on the embedded simulation or on GAMA servers.

The env classes (:mod:`sb3_forager.envs`) run on any :class:`~sb3_forager.sim.backend.Backend`;
this module builds the GAMA one (:class:`sb3_forager.gama.backend.GamaWorlds`) from the model
table (:mod:`sb3_forager.models`: GAML file, experiment, tutorial scenario) and hands it to them.
The registration, the PettingZoo modules ``forager_*_v0`` and the training pipeline make their
envs here. GAMA connection arguments: ``host``/``port`` (or ``servers`` for a VecEnv), ``gaml_path``
(the model as the server sees it; default the packaged one), ``experiment``, ``timeout`` (seconds
per command) and ``connect_timeout`` (seconds to connect and get GAMA's greeting).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .common import checks
from .envs.forager_env import ForagerEnv, single_scenario
from .envs.team_env import ForagerAECEnv, ForagerTeamEnv, team_scenario
from .models import MODELS, Model, model
from .sim import Scenario
from .sim.core import count

if TYPE_CHECKING:
    from pettingzoo import AECEnv

    from .envs.vec_env import ForagerVecEnv
    from .gama.backend import GamaWorlds

__all__ = [
    "forager_env",
    "gama_backend",
    "gama_forager_env",
    "make_gama_vec_env",
    "make_vec_env",
    "pettingzoo_api",
    "team_env",
]


def gama_backend(
    m: Model,
    scenarios: Sequence[Scenario],
    addresses: Sequence[tuple[str, int]],
    gaml_path: str | None = None,
    experiment: str | None = None,
    timeout: float = 30.0,
    connect_timeout: float = 5.0,
    worlds_per_sim: int | None = None,
) -> GamaWorlds:
    """One GAMA experiment of model ``m`` per scenario, spread round-robin over ``addresses``; with
    ``worlds_per_sim`` W (None: that path), W worlds per simulation of the W-world experiment instead
    (:mod:`sb3_forager.gama.batched`; ``gaml_path`` is then that file as the server sees it)."""
    from .gama.backend import GamaWorlds
    from .gama.contracts import GymAgentContract, PetzAgentContract
    from .gama.world import GamaWorld

    contract = GymAgentContract if m.rules == "single" else PetzAgentContract
    if worlds_per_sim is not None:
        from .gama.batched import WORLDS_EXPERIMENTS, GamaSimWorlds, worlds_per_sim_value

        spec = WORLDS_EXPERIMENTS[m.rules]
        w = worlds_per_sim_value(worlds_per_sim)
        return GamaSimWorlds(lambda i: contract(scenarios[i], spec.experiment, spec.gaml_file), len(scenarios), w,
                             addresses, gaml_path, timeout, connect_timeout)  # fmt: skip
    experiment = experiment or m.experiment
    worlds = [
        GamaWorld(
            contract(sc, experiment, m.gaml_file), *addresses[i % len(addresses)], gaml_path, experiment,
            timeout=timeout, connect_timeout=connect_timeout,
        )  # fmt: skip
        for i, sc in enumerate(scenarios)
    ]
    # the first model this experiment runs: its tutorial scenario is sent as no parameters
    own = next((r for r in MODELS.values() if (r.gaml_file, r.experiment) == (m.gaml_file, experiment)), None)
    return GamaWorlds(worlds, own.scenario if own is not None else None)


def _first_server(servers: Any, host: str, port: int) -> tuple[str, int]:
    """``(host, port)``, or the first address of ``servers`` (managed servers or addresses) when given."""
    if servers is None:
        return host, int(port)
    from .gama.launcher import split_servers

    return checks.servers(split_servers(servers))[0]


def forager_env(
    backend: str = "embedded",
    render_mode: str | None = None,
    render_size: int = 400,
    scenario: Scenario | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = checks.DEFAULT_GAMA_PORT,
    gaml_path: str | None = None,
    experiment: str | None = None,
    timeout: float = 30.0,
    connect_timeout: float = 5.0,
    servers: Any = None,
    worlds_per_sim: int | None = None,
    **scenario_kwargs: Any,
) -> ForagerEnv:
    """The single forager (``Forager-v0``'s env) on ``backend`` (``embedded`` or ``gama``); ``servers``
    (managed :class:`~sb3_forager.gama.GamaServers` or addresses) replaces ``host``/``port`` by its first."""
    sc = single_scenario(scenario, scenario_kwargs)
    b = None
    if checks.backend(backend) == "gama":
        address = _first_server(servers, host, port)
        b = gama_backend(MODELS["forager"], [sc], [address], gaml_path, experiment, timeout, connect_timeout,
                         worlds_per_sim)  # fmt: skip
    return ForagerEnv(render_mode, render_size, scenario=sc, backend=b)


def gama_forager_env(**kwargs: Any) -> ForagerEnv:
    """``sb3_forager/GamaForager-v0``: the single forager on a GAMA server (connects on the first reset)."""
    return forager_env("gama", **kwargs)


def team_env(
    name: str,
    backend: str = "embedded",
    render_mode: str | None = None,
    render_size: int = 400,
    scenario: Scenario | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = checks.DEFAULT_GAMA_PORT,
    gaml_path: str | None = None,
    experiment: str | None = None,
    timeout: float = 30.0,
    connect_timeout: float = 5.0,
    servers: Any = None,
    worlds_per_sim: int | None = None,
    **scenario_kwargs: Any,
) -> ForagerTeamEnv:
    """The team of model ``name`` (``coop``, ``team``, ``stress``) as a ParallelEnv on ``backend``
    (``servers``: as for :func:`forager_env`)."""
    m = model(name)
    sc = team_scenario(scenario, scenario_kwargs, m.scenario)
    b = None
    if checks.backend(backend) == "gama":
        b = gama_backend(m, [sc], [_first_server(servers, host, port)], gaml_path, experiment, timeout, connect_timeout,
                         worlds_per_sim)  # fmt: skip
    env = ForagerTeamEnv(render_mode, render_size, scenario=sc, backend=b)
    env.metadata = dict(env.metadata, name=m.pettingzoo_module)
    return env


def pettingzoo_api(name: str) -> tuple[Callable[..., ForagerTeamEnv], Callable[..., AECEnv], Callable[..., AECEnv]]:
    """``(parallel_env, raw_env, env)`` of the PettingZoo module of model ``name``."""
    from pettingzoo.utils import OrderEnforcingWrapper

    m = model(name)

    def parallel_env(
        *,
        n_foragers: int | None = None,
        teammate: str | None = None,
        max_cycles: int | None = None,
        starts: Any = None,
        obstacles: Any = None,
        n_obstacles: int | None = None,
        food: Any = None,
        scenario: Scenario | None = None,
        render_mode: str | None = None,
        render_size: int = 400,
        backend: str = "embedded",
        **gama: Any,
    ) -> ForagerTeamEnv:
        given = dict(n_foragers=n_foragers, teammate=teammate, max_cycles=max_cycles, starts=starts,
                     obstacles=obstacles, n_obstacles=n_obstacles, food=food)  # fmt: skip
        kwargs = {k: v for k, v in given.items() if v is not None}
        return team_env(name, backend, render_mode, render_size, scenario, **gama, **kwargs)

    def raw_env(**kwargs: Any) -> AECEnv:
        env = ForagerAECEnv(parallel_env(**kwargs))
        env.metadata = dict(env.metadata, name=m.pettingzoo_module)
        return env

    def env(**kwargs: Any) -> AECEnv:
        return OrderEnforcingWrapper(raw_env(**kwargs))

    parallel_env.__doc__ = (
        f"The {m.pettingzoo_module} team as a PettingZoo ParallelEnv: scenario arguments replace its "
        "defaults; ``backend='gama'`` runs it on a GAMA server (``host``, ``port``, ``gaml_path``, "
        "``experiment``, ``timeout``, ``connect_timeout``)."
    )
    raw_env.__doc__ = f"The {m.pettingzoo_module} team as an unwrapped AEC env (arguments as for parallel_env)."
    env.__doc__ = f"The {m.pettingzoo_module} team as an AEC env with PettingZoo's order-enforcing wrapper."
    raw_env.__signature__ = env.__signature__ = inspect.signature(parallel_env)  # type: ignore[attr-defined]
    return parallel_env, raw_env, env


def make_vec_env(
    env: str = "forager",
    n_worlds: int = 1,
    backend: str = "embedded",
    scenario: Scenario | Sequence[Scenario] | None = None,
    render_mode: str | None = None,
    *,
    servers: Any = (f"127.0.0.1:{checks.DEFAULT_GAMA_PORT}",),
    gaml_path: str | None = None,
    experiment: str | None = None,
    timeout: float = 30.0,
    connect_timeout: float = 5.0,
    worlds_per_sim: int | None = None,
) -> ForagerVecEnv:
    """An SB3 VecEnv of ``n_worlds`` worlds of model ``env`` on ``backend``, one slot per forager.

    ``scenario``: the worlds' scenario (default: the model's preset), or a list of one per world
    (same rules, number of foragers and teammate rule). On GAMA: one experiment per world, spread
    round-robin over ``servers`` (``"host:port"`` each, one comma-separated string, or managed
    :class:`~sb3_forager.gama.GamaServers`, whose dead servers are then restarted and their worlds restored).
    ``worlds_per_sim`` W (None: one experiment per world): W worlds per GAMA simulation, one round trip per simulation and step
    (the last simulation holds the rest when W does not divide ``n_worlds``).
    """
    from .envs.vec_env import ForagerVecEnv, world_scenarios

    m = model(env)
    n = count(n_worlds, "n_worlds")
    scenarios = world_scenarios(n, m.scenario if scenario is None else scenario)
    for sc in scenarios:
        if sc.rules != m.scenario.rules:
            raise ValueError(f"a {sc.rules} scenario cannot run on the {env!r} model")
    b = None
    if checks.backend(backend) == "gama":
        from .gama.launcher import split_servers

        b = gama_backend(m, scenarios, checks.servers(split_servers(servers)), gaml_path, experiment, timeout,
                         connect_timeout, worlds_per_sim)  # fmt: skip
    return ForagerVecEnv(n, scenarios, render_mode, backend=b)


def make_gama_vec_env(env: str, n_worlds: int = 1, **kwargs: Any) -> ForagerVecEnv:
    """:func:`make_vec_env` on GAMA servers."""
    return make_vec_env(env, n_worlds, "gama", **kwargs)
