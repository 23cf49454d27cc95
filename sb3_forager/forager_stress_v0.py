"""``forager_stress_v0``: the tutorial's step-16 stress test, PettingZoo module convention.

Ten foragers at (5,5) (15,5) (5,15) (50,5) (5,50) (50,50) (5,85) (50,85) (85,5) (85,50), 500
cycles, the nearest other forager in the teammate slot, the tutorial layout: a zero-shot test of
a policy trained on pairs. Scenario keyword arguments as for :mod:`sb3_forager.forager_team_v0`;
``backend="gama"`` runs ``gaml/forager_petz_stress.gaml`` (experiment ``petz_stress_env``).
"""

from .make import pettingzoo_api

__all__ = ["env", "parallel_env", "raw_env"]

parallel_env, raw_env, env = pettingzoo_api("stress")
