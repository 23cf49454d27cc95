"""``forager_team_v0``: N cooperative foragers (the team model), PettingZoo module convention.

Keyword arguments: ``n_foragers`` (default 2), ``teammate`` (``"nearest"``, default, or
``"first"``), ``max_cycles`` (300), ``starts`` (``"random"``, default, or one ``[x, y]`` per
forager), ``obstacles`` (the tutorial's six squares, a list of centres, or ``"random"`` with
``n_obstacles``), ``food`` ((95, 95)). ``parallel_env``, ``env`` (AEC, order-enforced) and
``raw_env`` (AEC) as for :mod:`sb3_forager.forager_coop_v0`; ``backend="gama"`` runs
``gaml/forager_petz.gaml`` with the scenario sent as experiment parameters.
"""

from .make import pettingzoo_api

__all__ = ["env", "parallel_env", "raw_env"]

parallel_env, raw_env, env = pettingzoo_api("team")
