"""``forager_coop_v0``: the tutorial's cooperative pair (forager_petz.gaml), PettingZoo module convention.

``parallel_env(**kw)`` is the ParallelEnv (what SuperSuit and SB3 train on), ``env(**kw)`` the
turn-based AEC view with PettingZoo's order checks, ``raw_env(**kw)`` the unwrapped AEC view.
Defaults: forager_0 at (15, 5), forager_1 at (5, 15), the tutorial layout, 300 cycles. Scenario
keyword arguments (``max_cycles``, ``starts``, ``obstacles``, ``n_obstacles``, ``food``) change
them. ``backend="embedded"`` (default) runs the compiled simulation; ``backend="gama"`` runs
``gaml/forager_petz.gaml`` on a GAMA server.
"""

from .make import pettingzoo_api

__all__ = ["env", "parallel_env", "raw_env"]

parallel_env, raw_env, env = pettingzoo_api("coop")
