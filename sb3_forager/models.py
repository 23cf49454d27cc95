"""The model table: every forager model this package offers, once, and everything derived from it.

One row per model. Its ``name`` is the one word for it everywhere: the scenario preset
(:data:`sb3_forager.sim.scenario.PRESETS`), ``--env`` of the CLIs, the section of the
hyperparameter files, the run folders' prefix. The row also names the GAML file and experiment
that run it on a GAMA server, its Gymnasium or PettingZoo id and module, and its default episode
budget (``max_steps``, registered as Gymnasium's ``max_episode_steps``). The registration, the
PettingZoo modules, the GAMA backend's defaults, the training pipeline and the fidelity check all
read this table; nothing else lists the models. Importing it imports no simulation code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .sim.scenario import Scenario


@dataclass(frozen=True)
class Model:
    """One forager model (see the module docstring)."""

    #: the model's name, which is also its scenario preset's name
    name: str
    #: ``"single"`` (one forager, Gymnasium, GymAgent bridge) or ``"team"`` (PettingZoo, PetzAgent bridge)
    rules: str
    #: the GAML file in ``gaml/`` and its experiment
    gaml_file: str
    experiment: str
    #: the default episode budget (the GAML ``max_steps``)
    max_steps: int
    #: the Gymnasium id (single forager) on the embedded backend, and on a GAMA server
    gym_id: str | None = None
    gama_gym_id: str | None = None
    #: the PettingZoo module of ``sb3_forager`` (teams) and its id in PettingZoo's registry
    pettingzoo_module: str | None = None
    pettingzoo_id: str | None = None

    @property
    def scenario(self) -> Scenario:
        """The model's default scenario (its preset)."""
        from .sim.scenario import PRESETS

        return PRESETS[self.name]

    @property
    def n_agents(self) -> int:
        return self.scenario.n_foragers

    @property
    def is_team(self) -> bool:
        return self.rules == "team"


MODELS: dict[str, Model] = {
    m.name: m
    for m in (
        Model("forager", "single", "forager_gym.gaml", "gym_env", 300,
              gym_id="sb3_forager/Forager-v0", gama_gym_id="sb3_forager/GamaForager-v0"),
        Model("forager-random", "single", "forager_gym.gaml", "gym_env", 300, gym_id="sb3_forager/ForagerRandom-v0"),
        Model("coop", "team", "forager_petz.gaml", "petz_env", 300,
              pettingzoo_module="forager_coop_v0", pettingzoo_id="sb3_forager/ForagerCoop-v0"),
        Model("team", "team", "forager_petz.gaml", "petz_env", 300,
              pettingzoo_module="forager_team_v0", pettingzoo_id="sb3_forager/ForagerTeam-v0"),
        Model("stress", "team", "forager_petz_stress.gaml", "petz_stress_env", 500,
              pettingzoo_module="forager_stress_v0", pettingzoo_id="sb3_forager/ForagerStress-v0"),
    )
}  # fmt: skip
#: the model names, in table order
NAMES: tuple[str, ...] = tuple(MODELS)
#: the names of the models a policy is trained on (the stress test is a zero-shot test of a team policy)
TRAINABLE: tuple[str, ...] = ("forager", "forager-random", "coop", "team")
#: names used before 0.2 -> today's (for error messages)
RENAMED: dict[str, str] = {"coop-random": "team"}
#: the GAML files of the package
GAML_FILES: tuple[str, ...] = tuple(dict.fromkeys(m.gaml_file for m in MODELS.values()))


def model(name: str, among: tuple[str, ...] = NAMES) -> Model:
    """The row of ``name`` (one of ``among``), or ``ValueError`` listing the names."""
    if name not in among:
        hint = f" ({name!r} is now called {RENAMED[name]!r})" if name in RENAMED else ""
        raise ValueError(f"env must be one of {list(among)}, got {name!r}{hint}")
    return MODELS[name]
