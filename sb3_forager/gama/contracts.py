"""The two bridge contracts as GAML expressions and strict answer parsers: GymAgent and PetzAgent.

What is sent and read when, why not gama-pettingzoo's own env, and what a read accepts:
``docs/model.md``, section "The GAMA server protocol". A bad field raises
:class:`~sb3_forager.gama.errors.GamaProtocolError` naming it and its value; the caller adds the server.
"""

from __future__ import annotations

import json
import logging
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np

from ..sim import Episode, Scenario, StepResult
from ..sim.world import WORLD
from .errors import GamaProtocolError
from .spaces import SpaceMapError, space_from_map

log = logging.getLogger(__name__)

T = TypeVar("T")

#: GAMA writes floats rounded to 8 decimals: an observation may pass its Box bound by this much
BOX_TOLERANCE = 1e-8


def world_report(
    obs: np.ndarray,
    infos: list[dict[str, Any]],
    reward: Any = None,
    terminated: Any = None,
    truncated: Any = None,
    episode_over: bool = False,
    at_food: Any = None,
) -> StepResult:
    """One world's report (``obs`` (K, obs_dim), the rest per forager; None: zeros, as after a
    reset) as a one-world :class:`StepResult`. Arrival steps and the step count are the backend's."""
    k = len(obs)

    def row(value: Any, dtype: type) -> np.ndarray:
        return np.zeros((1, k), dtype=dtype) if value is None else np.asarray(value, dtype=dtype).reshape(1, k)

    at = row(at_food, bool)
    return StepResult(
        obs[None], row(reward, np.float64), row(terminated, bool), row(truncated, bool), np.array([episode_over]),
        np.array([episode_over and bool(at.all())]), at, np.full((1, k), -1), np.zeros(1, dtype=np.int64), [infos],
    )  # fmt: skip


def gaml_number(x: float) -> str:
    """A float as a literal both GAML and JSON read back exactly (positional, never ``1e-05``).
    Python's ``repr`` gives the same shortest round-trip digits whenever it writes no exponent (and
    costs a tenth of numpy's formatter); otherwise numpy writes them positionally."""
    text = repr(float(x))
    if "e" in text or "n" in text:  # an exponent, or nan / inf (not finite: GAML reads no such literal)
        return np.format_float_positional(float(x), unique=True, trim="0")
    return text


def number_list(values: Sequence[float]) -> str:
    return "[" + ",".join(map(gaml_number, np.asarray(values, dtype=np.float64).ravel().tolist())) + "]"


# ---------------------------------------------------------------------- strict field checks
def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:200] + "..."


def check_number(value: Any, what: str) -> float:
    """A finite JSON number (not a bool, not ``"NaN"``), or :class:`GamaProtocolError`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise GamaProtocolError(f"{what} must be a finite number, got {_short(value)}")
    x = float(value)
    if not math.isfinite(x):
        raise GamaProtocolError(f"{what} must be a finite number, got {_short(value)}")
    return x


def check_flag(value: Any, what: str) -> bool:
    """A JSON boolean (``true``/``false``; the string ``"false"`` is not one)."""
    if not isinstance(value, bool):
        raise GamaProtocolError(f"{what} must be a boolean (true or false), got {_short(value)}")
    return value


def check_numbers(value: Any, size: int, what: str) -> np.ndarray:
    """A list of exactly ``size`` finite numbers."""
    if not isinstance(value, list):
        raise GamaProtocolError(f"{what} must be a list of {size} numbers, got {_short(value)}")
    if len(value) != size:
        raise GamaProtocolError(f"{what} must have {size} values, got {len(value)}: {_short(value)}")
    return np.array([check_number(v, f"{what}[{i}]") for i, v in enumerate(value)], dtype=np.float64)


def check_observation(value: Any, size: int, what: str) -> np.ndarray:
    """An observation: ``size`` finite numbers inside the Box [0, 1] (up to GAMA's rounding)."""
    obs = check_numbers(value, size, what)
    bad = np.flatnonzero((obs < -BOX_TOLERANCE) | (obs > 1.0 + BOX_TOLERANCE))
    if bad.size:
        i = int(bad[0])
        raise GamaProtocolError(f"{what}[{i}] = {float(obs[i])!r} is outside the observation Box [0, 1]")
    return np.clip(obs, 0.0, 1.0)


def check_map(value: Any, what: str, allow_empty_list: bool = False, keys: Sequence[str] = ()) -> Mapping[str, Any]:
    """A JSON object (GAML map) with at least ``keys``. ``allow_empty_list``: GAML's ``[]`` literal is an empty list."""
    if allow_empty_list and isinstance(value, list) and not value:
        return {}
    if not isinstance(value, Mapping):
        raise GamaProtocolError(f"{what} must be a map, got {type(value).__name__}: {_short(value)}")
    missing = [k for k in keys if k not in value]
    if missing:
        raise GamaProtocolError(f"{what} has no {missing} (keys: {sorted(map(str, value))})")
    return value


def check_info(value: Any, what: str) -> dict[str, Any]:
    """An info map; its ``at_food`` (if any) must be a boolean."""
    info = dict(check_map(value, what, allow_empty_list=True))
    if "at_food" in info:
        check_flag(info["at_food"], f"{what}['at_food']")
    return info


def _per_agent(value: Any, ids: Sequence[str], what: str) -> Mapping[str, Any]:
    """A map with exactly the known agent ids as keys."""
    m = check_map(value, what)
    missing = [a for a in ids if a not in m]
    extra = sorted(str(k) for k in m if k not in ids)
    if missing or extra:
        raise GamaProtocolError(
            f"{what} must have one entry per agent {list(ids)}"
            + (f"; missing {missing}" if missing else "")
            + (f"; unknown {extra}" if extra else "")
        )
    return m


def _check_box(space_map: Any, shape: tuple[int, ...], bounds: tuple[float, float], what: str) -> None:
    if isinstance(space_map, Mapping):
        # each bound: a finite number or a list of them (GAMA writes an infinite or NaN bound as a
        # string, which gama-gymnasium would quietly turn into a float); a missing one is unbounded,
        # warned about below like any other bound that is not the env's
        size = int(np.prod(shape))
        for name in ("low", "high"):
            if name not in space_map:
                continue
            value = space_map[name]
            if isinstance(value, list):
                if len(value) != size:
                    raise GamaProtocolError(f"{what} must have shape {shape}, the model declares {_short(space_map)}")
                check_numbers(value, size, f"{what}[{name!r}]")
            else:
                check_number(value, f"{what}[{name!r}]")
    try:
        space = space_from_map(space_map)
    except SpaceMapError as exc:
        raise GamaProtocolError(f"{what}: {exc}") from None
    if type(space).__name__ != "Box":
        raise GamaProtocolError(f"{what} must be a Box space, the model declares {_short(space_map)}")
    if tuple(space.shape) != shape:
        raise GamaProtocolError(f"{what} must have shape {shape}, the model declares {_short(space_map)}")
    for name, values, expected in (("low", space.low, bounds[0]), ("high", space.high, bounds[1])):
        if not np.all(np.asarray(values, dtype=np.float64) == expected):
            log.warning("%s declares %s=%r; this env's space uses %s", what, name, space_map.get(name), expected)


# ---------------------------------------------------------------------- scenario parameters
def scenario_parameters(episode: Episode, scenario: Scenario) -> list[dict[str, Any]]:
    """The experiment parameters giving the GAML model this episode at ``load``/``reload``, as every
    file in ``gaml/`` declares them (``docs/model.md``, section "Scenario family", "On GAMA")."""
    params: list[dict[str, Any]] = [
        {"name": "starts_json", "type": "string", "value": json.dumps([list(p) for p in episode.starts])},
        {"name": "obstacles_json", "type": "string", "value": json.dumps([list(c) for c in episode.obstacles])},
        {"name": "food_x", "type": "float", "value": float(episode.food[0])},
        {"name": "food_y", "type": "float", "value": float(episode.food[1])},
        {"name": "max_steps", "type": "int", "value": int(episode.max_steps)},
    ]
    if scenario.rules == "team":
        params.append({"name": "teammate", "type": "string", "value": scenario.teammate})
    return params


def default_parameters(scenario: Scenario | None) -> list[dict[str, Any]] | None:
    """The parameters of a model's own scenario (its tutorial one: the values the GAML globals hold
    when no parameter is sent), or None when there is none (``scenario`` None or random).

    An episode whose parameters equal these needs no parameters on a fresh experiment; compare
    parameters, not scenarios: ``reset(options=...)`` changes the episode, not the scenario.
    """
    if scenario is None or scenario.is_random:
        return None
    return scenario_parameters(scenario.draw(), scenario)


# ---------------------------------------------------------------------- contracts
class BridgeContract(ABC):
    """How to drive one world of a forager model through a GAMA bridge contract."""

    #: the expressions sent after ``load``, after ``reset`` and after each step
    spaces_expr: str
    reset_expr: str
    data_expr: str

    def __init__(self, scenario: Scenario, experiment: str, gaml_file: str) -> None:
        #: the scenario, the experiment name and the packaged model file (in ``sb3_forager/gaml``)
        self.scenario = scenario
        self.experiment = experiment
        self.gaml_file = gaml_file
        self.agent_ids: tuple[str, ...] = scenario.agent_ids
        self.obs_dim = scenario.obs_dim

    @abstractmethod
    def check_spaces(self, value: Any) -> None:
        """Raise :class:`GamaProtocolError` if the model's declared spaces differ from the env's."""

    @abstractmethod
    def action_expr(self, actions: Mapping[str, np.ndarray]) -> str:
        """The GAML statement that hands ``actions`` (agent -> (2,) array) to the model."""

    @abstractmethod
    def parse_reset(self, value: Any) -> StepResult:
        """The answer to :attr:`reset_expr` as a :class:`StepResult`."""

    @abstractmethod
    def parse_step(self, value: Any) -> StepResult:
        """The answer to :attr:`data_expr` as a :class:`StepResult`."""

    @staticmethod
    def _at_food(infos: Sequence[dict[str, Any]], obs: np.ndarray) -> np.ndarray:
        """Each forager's ``at_food`` info flag, or (for a model that sends none) whether its
        observed distance to the food is below the radius."""
        near = obs[:, 2] * WORLD.max_distance < WORLD.food_radius
        return np.array([bool(info["at_food"]) if "at_food" in info else bool(n) for info, n in zip(infos, near)])


class GymAgentContract(BridgeContract):
    """gama-gymnasium's single-agent ``GymAgent`` contract (``forager_gym.gaml``)."""

    spaces_expr = "[GymAgent[0].observation_space, GymAgent[0].action_space]"
    reset_expr = "[GymAgent[0].state, GymAgent[0].info]"
    data_expr = "GymAgent[0].data"

    def __init__(self, scenario: Scenario, experiment: str, gaml_file: str) -> None:
        super().__init__(scenario, experiment, gaml_file)
        if len(self.agent_ids) != 1:
            raise ValueError("the GymAgent contract drives exactly one forager")

    def check_spaces(self, value: Any) -> None:
        if not isinstance(value, list) or len(value) != 2:
            raise GamaProtocolError(f"{self.spaces_expr} must give two space maps, got {_short(value)}")
        _check_box(value[0], (self.obs_dim,), (0.0, 1.0), "GymAgent[0].observation_space")
        _check_box(value[1], (2,), (-1.0, 1.0), "GymAgent[0].action_space")

    def action_expr(self, actions: Mapping[str, np.ndarray]) -> str:
        (action,) = actions.values()
        return f"GymAgent[0].next_action <- {number_list(action)};"

    def parse_reset(self, value: Any) -> StepResult:
        if not isinstance(value, list) or len(value) != 2:
            raise GamaProtocolError(f"{self.reset_expr} must give [state, info], got {_short(value)}")
        obs = check_observation(value[0], self.obs_dim, "GymAgent[0].state")
        info = check_info(value[1], "GymAgent[0].info")
        return world_report(obs[None, :], [info])

    def parse_step(self, value: Any) -> StepResult:
        data = check_map(value, "GymAgent[0].data", keys=("State", "Reward", "Terminated", "Truncated"))
        obs = check_observation(data["State"], self.obs_dim, "GymAgent[0].data['State']")
        reward = check_number(data["Reward"], "GymAgent[0].data['Reward']")
        terminated = check_flag(data["Terminated"], "GymAgent[0].data['Terminated']")
        truncated = check_flag(data["Truncated"], "GymAgent[0].data['Truncated']")
        info = check_info(data.get("Info", {}), "GymAgent[0].data['Info']")
        at_food = np.array([bool(info.get("at_food", terminated))])
        report = world_report(obs[None, :], [info], reward, terminated, truncated, terminated or truncated, at_food)
        report.success[0] = terminated  # the GymAgent model's own outcome
        return report


class PetzAgentContract(BridgeContract):
    """gama-pettingzoo's multi-agent ``PetzAgent`` contract (``forager_petz.gaml`` and the stress model)."""

    spaces_expr = "[PetzAgent[0].possible_agents, PetzAgent[0].observation_spaces, PetzAgent[0].action_spaces]"
    reset_expr = "[PetzAgent[0].agents, PetzAgent[0].observations, PetzAgent[0].infos]"
    data_expr = "[PetzAgent[0].data, PetzAgent[0].agents]"

    def check_spaces(self, value: Any) -> None:
        if not isinstance(value, list) or len(value) != 3:
            raise GamaProtocolError(f"{self.spaces_expr} must give three values, got {_short(value)}")
        agents, obs_spaces, act_spaces = value
        if agents != list(self.agent_ids):
            raise GamaProtocolError(
                f"PetzAgent[0].possible_agents is {_short(agents)}; this env expects {list(self.agent_ids)} in that order"
            )
        obs_spaces = _per_agent(obs_spaces, self.agent_ids, "PetzAgent[0].observation_spaces")
        act_spaces = _per_agent(act_spaces, self.agent_ids, "PetzAgent[0].action_spaces")
        for agent in self.agent_ids:
            _check_box(obs_spaces[agent], (self.obs_dim,), (0.0, 1.0), f"observation space of {agent}")
            _check_box(act_spaces[agent], (2,), (-1.0, 1.0), f"action space of {agent}")

    def action_expr(self, actions: Mapping[str, np.ndarray]) -> str:
        # agent names are checked against possible_agents, so they never contain a quote
        body = ",".join(f"{json.dumps(agent)}:{number_list(a)}" for agent, a in actions.items())
        return "PetzAgent[0].actions <- from_json('{" + body + "}');"

    def _agents(self, value: Any, what: str, allow_empty: bool) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
            raise GamaProtocolError(f"{what} must be a list of agent names, got {_short(value)}")
        if value == list(self.agent_ids) or (allow_empty and value == []):
            return value
        unknown = [a for a in value if a not in self.agent_ids]
        expected = f"{list(self.agent_ids)}" + (" or [] (the episode is over)" if allow_empty else "")
        raise GamaProtocolError(
            f"{what} is {_short(value)}; expected {expected}" + (f" (unknown: {unknown})" if unknown else "")
        )

    def _read(self, value: Any, what: str, check: Callable[[Any, str], T]) -> list[T]:
        """``check`` of each agent's entry (in agent order) of a map with exactly the agent ids as keys."""
        entries = _per_agent(value, self.agent_ids, what)
        return [check(entries[a], f"{what}['{a}']") for a in self.agent_ids]

    def _obs(self, observations: Any, what: str) -> np.ndarray:
        return np.stack(self._read(observations, what, lambda v, name: check_observation(v, self.obs_dim, name)))

    def parse_reset(self, value: Any) -> StepResult:
        if not isinstance(value, list) or len(value) != 3:
            raise GamaProtocolError(f"{self.reset_expr} must give [agents, observations, infos], got {_short(value)}")
        agents, observations, infos = value
        self._agents(agents, "PetzAgent[0].agents after reset", allow_empty=False)
        obs = self._obs(observations, "PetzAgent[0].observations")
        return world_report(obs, self._read(infos, "PetzAgent[0].infos", check_info))

    def parse_step(self, value: Any) -> StepResult:
        if not isinstance(value, list) or len(value) != 2:
            raise GamaProtocolError(f"{self.data_expr} must give [data, agents], got {_short(value)}")
        data = check_map(value[0], "PetzAgent[0].data", keys=("Observations", "Rewards", "Terminations", "Truncations"))
        agents = self._agents(value[1], "PetzAgent[0].agents", allow_empty=True)
        obs = self._obs(data["Observations"], "PetzAgent[0].data['Observations']")
        reward = np.array(self._read(data["Rewards"], "PetzAgent[0].data['Rewards']", check_number))
        terminated = np.array(self._read(data["Terminations"], "PetzAgent[0].data['Terminations']", check_flag))
        truncated = np.array(self._read(data["Truncations"], "PetzAgent[0].data['Truncations']", check_flag))
        infos = [{} for _ in self.agent_ids]
        if "Infos" in data:
            infos = self._read(data["Infos"], "PetzAgent[0].data['Infos']", check_info)
        at_food = self._at_food(infos, obs)
        # the model empties PetzAgent[0].agents at the end
        return world_report(obs, infos, reward, terminated, truncated, not agents, at_food)
