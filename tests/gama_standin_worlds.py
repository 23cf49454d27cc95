"""The stand-in's W-world experiments (``gym_worlds_env`` of ``forager_gym_worlds.gaml``,
``petz_worlds_env`` of ``forager_petz_worlds.gaml``): all W worlds on ONE embedded
:class:`~sb3_forager.sim.ForagerSim` of W worlds, the bridge's function actions ``reset_worlds`` and
``step_worlds`` answered exactly as the GAML writes them (see the header of those files).

Hooked into :mod:`gama_standin` by the model kinds ``gym_worlds`` / ``petz_worlds`` (``load``) and
by the method call ``Bridge[0].action('...')`` of its expression language; nothing else there changes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sb3_forager.sim import WORLD, Episode, ForagerSim

import gama_standin as gs

KINDS = {"gym_worlds": ("gym_worlds_env", "GymWorlds"), "petz_worlds": ("petz_worlds_env", "PetzWorlds")}
_PARAMS = {"n_worlds": ("n_worlds", "int"), "n_foragers": ("n_foragers", "int"), "teammate": ("teammate", "string")}
MAX_WORLDS = 1024


def kind_of(experiments: list[str], species: list[str]) -> str | None:
    for kind, (exp, bridge) in KINDS.items():
        if exp in experiments and bridge in species:
            return kind
    return None


class WorldsExperiment(gs._Experiment):
    """A loaded W-world experiment (see the module docstring)."""

    def _parameter(self, name: str) -> tuple[str, str] | None:
        if name in gs._COMMON_PARAMETERS:
            return gs._COMMON_PARAMETERS[name]
        if name in _PARAMS and (name != "n_foragers" and name != "teammate" or self.kind == "petz_worlds"):
            return _PARAMS[name]
        return None

    def init(self) -> None:
        self.cycle = 0
        self.pending_async_steps = 0
        self.init_error = None
        self.param_values = {"n_worlds": 1, "n_foragers": 2, "teammate": "first", **self.param_values}
        team = self.kind == "petz_worlds"
        bridge = KINDS[self.kind][1]
        self.species = {bridge: gs._Species(bridge, {}, None)}
        v = self.param_values
        n = int(v["n_worlds"])
        if not 1 <= n <= MAX_WORLDS:
            self.init_error = f"n_worlds must be in [1, {MAX_WORLDS}], got {n}"
            return
        if team and v["teammate"] not in ("first", "nearest"):
            self.init_error = f"teammate must be 'first' or 'nearest', got '{v['teammate']}'"
            return
        k = int(v["n_foragers"]) if team else 1
        if team and k < 2:
            self.init_error = f"n_foragers must be >= 2, got {k}"
            return
        self.n, self.k = n, k
        self.ids = [f"forager_{i}" for i in range(k)] if team else []
        self.sim = ForagerSim(n, k, "team" if team else "single", teammate=v["teammate"] if team else "first")
        self.has_episode = [False] * n
        self.world_episodes: list[Episode | None] = [None] * n
        fields: dict[str, Any] = {"world_count": n, "data": []}
        if team:
            fields.update(possible_agents=list(self.ids),
                          observation_spaces={a: gs._box(self.sim.obs_dim, 0.0, 1.0) for a in self.ids},
                          action_spaces={a: gs._box(2, -1.0, 1.0) for a in self.ids})  # fmt: skip
        else:
            fields.update(observation_space=gs._box(self.sim.obs_dim, 0.0, 1.0), action_space=gs._box(2, -1.0, 1.0))
        self.species[bridge].fields = fields

    def global_value(self, name: str) -> Any:
        if name == "cycle":
            return self.cycle
        if name == "seed":
            return self.seed
        if name in self.species:
            return gs._SpeciesRef(self.species[name])
        raise gs.GamlError(f"The variable {name} is not defined or accessible in this context. Check its name or declare it")

    def run_cycle(self) -> None:
        self.cycle += 1  # the worlds advance only through step_worlds

    def corrupt(self) -> None:
        pass  # applied to each step_worlds answer instead (call_action)

    # ---------------------------------------------------------------- the bridge's actions
    def call_action(self, ref: Any, name: str, args: list[Any]) -> Any:
        if self.sim is None:
            raise gs.GamlError("Java error: nil value detected")
        if name not in ("reset_worlds", "step_worlds") or len(args) != 1 or not isinstance(args[0], str):
            raise gs.GamlError(f"Action {name} does not exist in agent {ref!r} (or takes one string)")
        try:
            decoded = gs._parse_json_like_gama(args[0])
        except ValueError:
            decoded = None
        if name == "reset_worlds":
            if decoded is None:
                raise gs.GamlError(f"reset_worlds: expected a JSON list of episodes, got: {args[0]}")
            return [self._reset_one(spec) for spec in gs._cast(decoded, "list")]
        acts = gs._cast(decoded, "list")
        if len(acts) != self.n:
            raise gs.GamlError(f"step_worlds: expected one action per world ({self.n}), got {len(acts)}")
        answer = self._step(acts)
        fn = self.faults.corrupt if self.faults is not None else None
        if fn is not None:
            try:
                fn({"data": answer})
            except Exception as exc:
                self.server_errors.append(f"corrupt: {type(exc).__name__}: {exc}")
            return answer
        if self.kind == "gym_worlds" and all(a is not None for a in acts):
            return gs.Encoded(answer, self._single_text(answer))
        return answer

    @staticmethod
    def _single_text(answer: list[dict]) -> str:
        """``gama_json(answer)`` of a single-forager step of every world, written column-wise: the
        stand-in writes ~500 numbers per 32-world step, one call per number would cost most of its time."""
        obs = gs.float_rows([m["State"] for m in answer])
        rewards = gs.float_texts([m["Reward"] for m in answer])
        parts = []
        for w, m in enumerate(answer):
            text = ('{"State":[' + obs[w] + '],"Reward":' + rewards[w]
                    + ',"Terminated":' + ("true" if m["Terminated"] else "false")
                    + ',"Truncated":' + ("true" if m["Truncated"] else "false") + ',"Info":{}')  # fmt: skip
            if "Reset" in m:
                text += ',"Reset":' + gs.gama_json(m["Reset"])
            parts.append(text + "}")
        return "[" + ",".join(parts) + "]"

    def _episode(self, w: int, spec: dict) -> Episode:
        def points(what: str, value: Any) -> tuple:
            if value is None:
                raise gs.GamlError(f"world {w}: {what} must be a list of [x, y] pairs, got nil")
            out = []
            for e in gs._cast(value, "list"):
                pair = gs._cast(e, "list")
                if len(pair) != 2:
                    raise gs.GamlError(f"world {w}: every element of {what} must be an [x, y] pair of numbers")
                out.append((gs._cast(pair[0], "float"), gs._cast(pair[1], "float")))
            return tuple(out)

        starts, centres = points("starts", spec.get("starts")), points("obstacles", spec.get("obstacles"))
        (food,) = points("food", [spec.get("food")])
        steps = gs._cast(spec.get("max_steps"), "int")
        if steps < 1:
            raise gs.GamlError(f"world {w}: max_steps must be >= 1, got {steps}")
        if len(starts) != self.k:
            raise gs.GamlError(f"world {w}: {self.k} [x, y] start(s) expected, got {len(starts)}")
        boxes = WORLD.obstacle_boxes(centres) if centres else np.zeros((0, 4))
        for x, y in starts:
            if x < 1.0 or x > 99.0 or y < 1.0 or y > 99.0:
                raise gs.GamlError(f"world {w}: start {gs._gaml_point_str(x, y)} is outside [1, 99] x [1, 99]")
            for lx, ly, hx, hy in boxes:
                if lx <= x <= hx and ly <= y <= hy:
                    raise gs.GamlError(f"world {w}: start {gs._gaml_point_str(x, y)} is inside (or on) an obstacle")
        return Episode(starts, centres, food, int(steps))

    def _start(self, w: int, episode: Episode) -> dict:
        self.sim.reset([w], [episode])
        self.has_episode[w], self.world_episodes[w] = True, episode
        obs = self.sim.obs[w]
        if self.kind == "gym_worlds":
            return {"State": obs[0].tolist(), "Info": {}}
        return {"Agents": list(self.ids), "Observations": {a: obs[k].tolist() for k, a in enumerate(self.ids)},
                "Infos": {a: {} for a in self.ids}}  # fmt: skip

    def _reset_one(self, spec: Any) -> dict:
        spec = gs._cast(spec, "map")
        w = gs._cast(spec.get("world"), "int")
        if not 0 <= w < self.n:
            raise gs.GamlError(f"reset_worlds: no world {w} in this simulation of {self.n} worlds")
        return {"world": w, **self._start(w, self._episode(w, spec))}

    def _step(self, acts: list) -> list[dict]:
        sim = self.sim
        arr = np.zeros((self.n, self.k, 2))
        acting = np.zeros((self.n, self.k), dtype=bool)
        waiting = [w for w, a in enumerate(acts) if a is None]
        if self.kind == "gym_worlds" and all(self.has_episode) and all(_is_number_pair(a) for a in acts):
            arr[:, 0], acting[:] = acts, True  # what the casts below give for [ax, ay] pairs of numbers
            acts_to_cast: list = []
        else:
            acts_to_cast = acts
        for w, a in enumerate(acts_to_cast):
            if a is None:
                continue
            if not self.has_episode[w]:
                raise gs.GamlError(f"world {w} has no episode: reset it first")
            if self.kind == "gym_worlds":
                lst = gs._cast(a, "list<float>")
                if len(lst) >= 2:
                    arr[w, 0], acting[w, 0] = lst[:2], True
                continue
            m = gs._cast(a, "map")
            for k, aid in enumerate(self.ids):
                if bool(sim.at_food[w, k]) or aid not in m:
                    continue
                lst = gs._cast(m[aid], "list")
                if len(lst) >= 2:
                    arr[w, k] = (gs._cast(lst[0], "float"), gs._cast(lst[1], "float"))
                    acting[w, k] = True
        kept = {name: getattr(sim, name)[waiting].copy() for name in _STATE} if waiting else {}
        res = sim.step(arr, acting=acting)
        for name, rows in kept.items():  # a world given null is left as it was
            getattr(sim, name)[waiting] = rows
        out: list[dict] = []
        if self.kind == "gym_worlds":  # one conversion per field, not per world
            obs, rew = res.obs[:, 0].tolist(), res.reward[:, 0].tolist()
            term, trunc = res.terminated[:, 0].tolist(), res.truncated[:, 0].tolist()
        for w in range(self.n):
            if acts[w] is None:
                out.append({})
                continue
            if self.kind == "gym_worlds":
                m = {"State": obs[w], "Reward": rew[w], "Terminated": term[w], "Truncated": trunc[w], "Info": {}}
            else:
                ids = self.ids
                m = {"Observations": {a: res.obs[w, k].tolist() for k, a in enumerate(ids)},
                     "Rewards": {a: float(res.reward[w, k]) for k, a in enumerate(ids)},
                     "Terminations": {a: bool(res.terminated[w, k]) for k, a in enumerate(ids)},
                     "Truncations": {a: bool(res.truncated[w, k]) for k, a in enumerate(ids)},
                     "Infos": {a: {"at_food": bool(sim.at_food[w, k])} for k, a in enumerate(ids)},
                     "Agents": [] if bool(res.episode_over[w]) else list(ids)}  # fmt: skip
            out.append(m)
        for w in range(self.n):  # the ended worlds start their episode again (after all stepped)
            if acts[w] is not None and bool(res.episode_over[w]):
                out[w]["Reset"] = self._start(w, self.world_episodes[w])
        return out


def _is_number_pair(a: Any) -> bool:
    return type(a) is list and len(a) == 2 and type(a[0]) in (float, int) and type(a[1]) in (float, int)


#: the ForagerSim buffers that hold a world's state (restored for a world that waits)
_STATE = ("_fst", "_bst", "_arrival", "_wi", "_obs", "_rew", "_flags", "_wout")
