"""The two bridge contracts as GAML expressions and answer parsers: GymAgent and PetzAgent.

The models in ``gaml/`` are written for gama-gymnasium's ``GymAgent`` and gama-pettingzoo's
``PetzAgent``; any model written for those bridges answers these expressions. Per step the
action is assigned with the very expression the stock bridges send, then one synchronous cycle
runs, then everything is read back in **one** expression: for PetzAgent that read also returns
``PetzAgent[0].agents``, which is how the episode end is known (gama-pettingzoo 1.0.0 never
re-reads it). After ``load`` one expression reads the declared spaces, after ``reset`` one
expression reads the first observations (the stock bridges use two to four round trips).
"""

from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..sim import COOP_FORAGERS, SINGLE_FORAGER, ModelConfig
from .errors import GamaProtocolError

log = logging.getLogger(__name__)


@dataclass
class WorldStep:
    """One world's report after a reset or a step, as arrays over its K foragers."""

    obs: np.ndarray  #: (K, obs_dim) float64
    reward: np.ndarray  #: (K,) float64; zeros after a reset
    terminated: np.ndarray  #: (K,) bool, the raw GAML flags
    truncated: np.ndarray  #: (K,) bool, the raw GAML flags
    episode_over: bool  #: the world's episode has ended
    success: bool  #: ... and every forager reached the food
    infos: list[dict[str, Any]] = field(default_factory=list)  #: GAML's info map per forager


def gaml_number(x: float) -> str:
    """A float as a literal both GAML and JSON read back exactly (positional, never ``1e-05``)."""
    return np.format_float_positional(float(x), unique=True, trim="0")


def number_list(values: Sequence[float]) -> str:
    return "[" + ",".join(gaml_number(v) for v in values) + "]"


def _floats(value: Any, size: int, what: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise GamaProtocolError(f"{what} is not a list of numbers: {value!r:.200}") from None
    if arr.shape != (size,):
        raise GamaProtocolError(f"{what} must be {size} numbers, got shape {arr.shape}: {value!r:.200}")
    return arr


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise GamaProtocolError(f"{what} must be a map, got {type(value).__name__}: {value!r:.200}")
    return value


def _info(value: Any) -> dict[str, Any]:
    # GAML `[]` is an empty *list*; an info that is not a map is treated as empty
    return dict(value) if isinstance(value, Mapping) else {}


def _check_box(space: Any, shape: tuple[int, ...], bounds: tuple[float, float], what: str) -> None:
    space = _mapping(space, what)
    if space.get("type") != "Box":
        raise GamaProtocolError(f"{what} must be a Box space, the model declares {space!r:.200}")
    declared = space.get("shape")
    if declared is None and isinstance(space.get("low"), list):
        declared = [len(space["low"])]
    if declared is not None and tuple(int(d) for d in np.atleast_1d(declared)) != shape:
        raise GamaProtocolError(f"{what} must have shape {shape}, the model declares {space!r:.200}")
    for key, expected in zip(("low", "high"), bounds):
        try:
            values = np.asarray(space.get(key, expected), dtype=np.float64)
        except (TypeError, ValueError):
            values = np.asarray(np.nan)
        if not np.all(values == expected):
            log.warning("%s declares %s=%r; this env's space uses %s", what, key, space.get(key), expected)


class BridgeContract(ABC):
    """How to drive one world of a forager model through a GAMA bridge contract."""

    #: experiment name of the packaged model
    experiment: str
    #: file name of the packaged model, in ``sb3_forager/gaml``
    gaml_file: str
    #: the expressions sent after ``load``, after ``reset`` and after each step
    spaces_expr: str
    reset_expr: str
    data_expr: str

    def __init__(self, model: ModelConfig) -> None:
        self.model = model
        self.agent_ids: tuple[str, ...] = model.agent_ids
        self.obs_dim = model.obs_dim

    @abstractmethod
    def check_spaces(self, value: Any) -> None:
        """Raise :class:`GamaProtocolError` if the model's declared spaces differ from the env's."""

    @abstractmethod
    def action_expr(self, actions: Mapping[str, np.ndarray]) -> str:
        """The GAML statement that hands ``actions`` (agent -> (2,) array) to the model."""

    @abstractmethod
    def parse_reset(self, value: Any) -> WorldStep:
        """The answer to :attr:`reset_expr` as a :class:`WorldStep`."""

    @abstractmethod
    def parse_step(self, value: Any) -> WorldStep:
        """The answer to :attr:`data_expr` as a :class:`WorldStep`."""

    def _no_flags(self) -> np.ndarray:
        return np.zeros(len(self.agent_ids), dtype=bool)


class GymAgentContract(BridgeContract):
    """gama-gymnasium's single-agent ``GymAgent`` contract (``forager_gym.gaml``)."""

    experiment = "gym_env"
    gaml_file = "forager_gym.gaml"
    spaces_expr = "[GymAgent[0].observation_space, GymAgent[0].action_space]"
    reset_expr = "[GymAgent[0].state, GymAgent[0].info]"
    data_expr = "GymAgent[0].data"

    def __init__(self, model: ModelConfig = SINGLE_FORAGER) -> None:
        super().__init__(model)
        if len(self.agent_ids) != 1:
            raise ValueError("the GymAgent contract drives exactly one forager")

    def check_spaces(self, value: Any) -> None:
        if not isinstance(value, list) or len(value) != 2:
            raise GamaProtocolError(f"{self.spaces_expr} must give two space maps, got {value!r:.200}")
        _check_box(value[0], (self.obs_dim,), (0.0, 1.0), "GymAgent[0].observation_space")
        _check_box(value[1], (2,), (-1.0, 1.0), "GymAgent[0].action_space")

    def action_expr(self, actions: Mapping[str, np.ndarray]) -> str:
        (action,) = actions.values()
        return f"GymAgent[0].next_action <- {number_list(action)};"

    def parse_reset(self, value: Any) -> WorldStep:
        if not isinstance(value, list) or len(value) != 2:
            raise GamaProtocolError(f"{self.reset_expr} must give [state, info], got {value!r:.200}")
        obs = _floats(value[0], self.obs_dim, "GymAgent[0].state")
        no = self._no_flags()
        return WorldStep(obs[None, :], np.zeros(1), no, no.copy(), False, False, [_info(value[1])])

    def parse_step(self, value: Any) -> WorldStep:
        data = _mapping(value, "GymAgent[0].data")
        try:
            obs = _floats(data["State"], self.obs_dim, "GymAgent[0].data State")
            reward = float(data["Reward"])
            terminated = bool(data["Terminated"])
            truncated = bool(data["Truncated"])
        except KeyError as exc:
            raise GamaProtocolError(f"GymAgent[0].data has no {exc} (keys: {sorted(data)})") from None
        except (TypeError, ValueError) as exc:
            raise GamaProtocolError(f"GymAgent[0].data is malformed ({exc}): {value!r:.200}") from None
        return WorldStep(
            obs[None, :],
            np.array([reward]),
            np.array([terminated]),
            np.array([truncated]),
            episode_over=terminated or truncated,
            success=terminated,
            infos=[_info(data.get("Info"))],
        )


class PetzAgentContract(BridgeContract):
    """gama-pettingzoo's multi-agent ``PetzAgent`` contract (``forager_petz.gaml``)."""

    experiment = "petz_env"
    gaml_file = "forager_petz.gaml"
    spaces_expr = "[PetzAgent[0].possible_agents, PetzAgent[0].observation_spaces, PetzAgent[0].action_spaces]"
    reset_expr = "[PetzAgent[0].agents, PetzAgent[0].observations, PetzAgent[0].infos]"
    data_expr = "[PetzAgent[0].data, PetzAgent[0].agents]"

    def __init__(self, model: ModelConfig = COOP_FORAGERS) -> None:
        super().__init__(model)

    def check_spaces(self, value: Any) -> None:
        if not isinstance(value, list) or len(value) != 3:
            raise GamaProtocolError(f"{self.spaces_expr} must give three values, got {value!r:.200}")
        agents, obs_spaces, act_spaces = value
        if list(agents or []) != list(self.agent_ids):
            raise GamaProtocolError(
                f"PetzAgent[0].possible_agents is {agents!r}; this env expects {list(self.agent_ids)} in that order"
            )
        obs_spaces = _mapping(obs_spaces, "PetzAgent[0].observation_spaces")
        act_spaces = _mapping(act_spaces, "PetzAgent[0].action_spaces")
        for agent in self.agent_ids:
            _check_box(obs_spaces.get(agent), (self.obs_dim,), (0.0, 1.0), f"observation space of {agent}")
            _check_box(act_spaces.get(agent), (2,), (-1.0, 1.0), f"action space of {agent}")

    def action_expr(self, actions: Mapping[str, np.ndarray]) -> str:
        # agent names are checked against possible_agents, so they never contain a quote
        body = ",".join(f"{json.dumps(agent)}:{number_list(a)}" for agent, a in actions.items())
        return "PetzAgent[0].actions <- from_json('{" + body + "}');"

    def _obs(self, observations: Any) -> np.ndarray:
        observations = _mapping(observations, "PetzAgent[0].observations")
        rows = []
        for agent in self.agent_ids:
            if agent not in observations:
                raise GamaProtocolError(f"no observation for {agent} from the model (got {sorted(observations)})")
            rows.append(_floats(observations[agent], self.obs_dim, f"observation of {agent}"))
        return np.stack(rows)

    def _infos(self, infos: Any) -> list[dict[str, Any]]:
        infos = infos if isinstance(infos, Mapping) else {}
        return [_info(infos.get(agent)) for agent in self.agent_ids]

    def parse_reset(self, value: Any) -> WorldStep:
        if not isinstance(value, list) or len(value) != 3:
            raise GamaProtocolError(f"{self.reset_expr} must give [agents, observations, infos], got {value!r:.200}")
        agents, observations, infos = value
        if list(agents or []) != list(self.agent_ids):
            raise GamaProtocolError(f"after reset PetzAgent[0].agents is {agents!r}, expected {list(self.agent_ids)}")
        no = self._no_flags()
        return WorldStep(self._obs(observations), np.zeros(len(no)), no, no.copy(), False, False, self._infos(infos))

    def parse_step(self, value: Any) -> WorldStep:
        if not isinstance(value, list) or len(value) != 2:
            raise GamaProtocolError(f"{self.data_expr} must give [data, agents], got {value!r:.200}")
        data = _mapping(value[0], "PetzAgent[0].data")
        agents = value[1] or []
        try:
            obs = self._obs(data["Observations"])
            rewards = _mapping(data["Rewards"], "Rewards")
            terms = _mapping(data["Terminations"], "Terminations")
            truncs = _mapping(data["Truncations"], "Truncations")
            reward = np.array([float(rewards[a]) for a in self.agent_ids])
            terminated = np.array([bool(terms[a]) for a in self.agent_ids])
            truncated = np.array([bool(truncs[a]) for a in self.agent_ids])
        except KeyError as exc:
            raise GamaProtocolError(f"PetzAgent[0].data lacks {exc}: {value!r:.300}") from None
        except (TypeError, ValueError) as exc:
            raise GamaProtocolError(f"PetzAgent[0].data is malformed ({exc}): {value!r:.300}") from None
        episode_over = len(agents) == 0  # the model empties PetzAgent[0].agents at the end
        return WorldStep(
            obs,
            reward,
            terminated,
            truncated,
            episode_over=episode_over,
            success=episode_over and bool(terminated.any()),
            infos=self._infos(data.get("Infos")),
        )
