"""``check-fidelity --engine gaml``: the GAML files run by the interpreter, as envs the fidelity check
(:mod:`sb3_forager.fidelity`) compares with the embedded simulation.

:class:`GamlGymEnv` / :class:`GamlParallelEnv` drive a :class:`~.runtime.Model` the way the gama-gymnasium
and PettingZoo bridges drive a GAMA server: the scenario as experiment parameters at every reload
(``starts_json``, ``obstacles_json``, ``food_x``, ``food_y``, ``max_steps``, ``teammate``), then
``GymAgent[0].next_action <- [ax, ay]`` / ``PetzAgent[0].actions <- ...``, one cycle, and the bridge
agent's ``data`` read back. The episode (random starts and layouts included) is drawn as every env of
the package draws it, by the scenario from the reset's seed (``Scenario.draw``), on a twin embedded
env, so both sides run the same world.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ...envs.contract import end_of_episode_flags
from .onnx import ONNX_EXTENSIONS
from .runtime import Model

log = logging.getLogger(__name__)

GAML_DIR = Path(__file__).resolve().parents[3] / "gaml"


def scenario_parameters(episode: Any, rules: str, teammate: str | None) -> dict[str, Any]:
    """The experiment parameters of one episode, as the bridges send them."""
    params: dict[str, Any] = {
        "starts_json": json.dumps([[float(v) for v in p] for p in episode.starts]),
        "obstacles_json": json.dumps([[float(v) for v in c] for c in episode.obstacles]),
        "food_x": float(episode.food[0]), "food_y": float(episode.food[1]), "max_steps": int(episode.max_steps),
    }  # fmt: skip
    if rules == "team" and teammate is not None:
        params["teammate"] = teammate
    return params


class _GamlEnv:
    def __init__(self, text: str, experiment: str, scenario: Any, twin: Any) -> None:
        self.model = Model(text, ONNX_EXTENSIONS)
        self.experiment = experiment
        self.scenario = scenario
        self._twin = twin  # an embedded env of the same model: draws the episode from the seed

    def _load(self, seed: int | None) -> None:
        self._twin.reset(seed=seed)
        ep = self._twin.episode
        sc = self.scenario
        self.model.load(self.experiment, scenario_parameters(ep, sc.rules, getattr(sc, "teammate", None)))

    def close(self) -> None:
        self._twin.close()


class GamlGymEnv(_GamlEnv):
    """A single forager: reset -> (obs, info), step(action) -> (obs, reward, terminated, truncated, info)."""

    def reset(self, seed: int | None = None, options: Any = None) -> tuple[np.ndarray, dict]:
        self._load(seed)
        return np.asarray(self.model.evaluate("GymAgent[0].state"), dtype=np.float64), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        ax, ay = (float(v) for v in np.asarray(action, dtype=np.float64))
        self.model.execute(f"GymAgent[0].next_action <- [{ax!r}, {ay!r}];")
        self.model.step()
        d = self.model.evaluate("GymAgent[0].data")
        return (np.asarray(d["State"], dtype=np.float64), float(d["Reward"]), bool(d["Terminated"]),
                bool(d["Truncated"]), dict(d["Info"]))  # fmt: skip


class GamlParallelEnv(_GamlEnv):
    """A team (PettingZoo parallel API): dicts keyed by ``forager_k``."""

    def reset(self, seed: int | None = None, options: Any = None) -> tuple[dict, dict]:
        self._load(seed)
        bridge = self.model.evaluate("PetzAgent[0]")
        self.possible_agents = list(bridge.attrs["possible_agents"])
        self.agents = list(bridge.attrs["agents"])
        obs = bridge.attrs["observations"]
        return {a: np.asarray(obs[a], dtype=np.float64) for a in self.agents}, {a: {} for a in self.agents}

    def step(self, actions: Mapping[str, np.ndarray]) -> tuple[dict, dict, dict, dict, dict]:
        body = ",".join(f"{json.dumps(a)}:[{float(v[0])!r},{float(v[1])!r}]" for a, v in actions.items())
        self.model.execute("PetzAgent[0].actions <- from_json('{" + body + "}');")
        self.model.step()
        bridge = self.model.evaluate("PetzAgent[0]")
        d = bridge.attrs["data"]
        acted = list(self.agents)
        self.agents = list(bridge.attrs["agents"])
        obs, rew, term, trunc, infos = (
            {a: (np.asarray(d[key][a], dtype=np.float64) if key == "Observations" else conv(d[key][a])) for a in acted}
            for key, conv in (("Observations", None), ("Rewards", float), ("Terminations", bool),
                              ("Truncations", bool), ("Infos", dict))
        )  # fmt: skip
        # the envs' end-of-episode contract on the raw GAML flags (as the GAMA backend applies it)
        success = np.array([all(bool(infos[a].get("at_food", False)) for a in acted)])
        t, u = end_of_episode_flags(np.array([[term[a] for a in acted]]), np.array([[trunc[a] for a in acted]]),
                                    np.array([not self.agents]), success)  # fmt: skip
        term = {a: bool(t[0, k]) for k, a in enumerate(acted)}
        trunc = {a: bool(u[0, k]) for k, a in enumerate(acted)}
        return obs, rew, term, trunc, infos


def gaml_factory(gaml_paths: Mapping[str, str | None] | None = None) -> Callable[[Any, Any], Any]:
    """``make(model, scenario)``: an interpreter env of ``model`` (a row of :data:`sb3_forager.models.MODELS`)
    running ``scenario``; ``gaml_paths`` maps a GAML file name to another file (missing: the shipped one)."""
    from ...fidelity import make_env

    paths = dict(gaml_paths or {})

    def make(model: Any, scenario: Any) -> Any:
        path = Path(paths.get(model.gaml_file) or GAML_DIR / model.gaml_file)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"cannot read the GAML file {path}: {exc}") from None
        cls = GamlParallelEnv if model.is_team else GamlGymEnv
        return cls(text, model.experiment, scenario, make_env(model, scenario))

    return make


#: the command line's options naming the GAML files (option -> file of sb3_forager.models.GAML_FILES)
FILE_OPTIONS = {"gym_gaml": "forager_gym.gaml", "petz_gaml": "forager_petz.gaml", "stress_gaml": "forager_petz_stress.gaml"}
#: the default --tolerance of --engine gaml
TOLERANCE = 1e-5


def add_arguments(parser: Any) -> None:
    """``--engine``, ``--gym-gaml``, ``--petz-gaml``, ``--stress-gaml`` of ``check-fidelity``."""
    g = parser.add_argument_group("the interpreted GAML (--engine gaml)")
    g.add_argument("--engine", choices=("gama", "gaml"), default="gama",
                   help="gama: GAMA servers (default); gaml: the GAML files run by sb3_forager's interpreter, "
                   f"no server (default --tolerance {TOLERANCE:g})")  # fmt: skip
    for opt, name in FILE_OPTIONS.items():
        g.add_argument("--" + opt.replace("_", "-"), default=None, metavar="FILE",
                       help=f"with --engine gaml: the file to run instead of the shipped {name}")  # fmt: skip


def run_check(args: Any) -> int:
    """``check-fidelity --engine gaml``: print the report; 0 within the tolerance, 1 above it, 2 bad input."""
    from ... import fidelity

    paths = {name: getattr(args, opt) for opt, name in FILE_OPTIONS.items() if getattr(args, opt)}
    for name, path in paths.items():
        if not Path(path).is_file():
            print(f"check_fidelity.py: error: the GAML file {path} (for {name}) does not exist")
            return 2
    tolerance = TOLERANCE if args.tolerance is None else args.tolerance
    progress = (lambda text: print(f"  done: {text}", flush=True)) if args.verbose else None
    groups = tuple(dict.fromkeys(args.groups))
    try:
        report = fidelity.check(gaml_factory(paths), args.seed, args.episodes, groups, progress)
    except Exception as exc:  # a GAML error, a file that does not parse: one clear message
        print(f"check_fidelity.py: the interpreted GAML failed: {type(exc).__name__}: {exc}")
        return 1
    files = ", ".join(f"{n} = {paths.get(n, 'shipped')}" for n in FILE_OPTIONS.values())
    text, passed = report.summary(f"the interpreted GAML ({files})", tolerance)
    print(text, flush=True)
    return 0 if passed else 1
