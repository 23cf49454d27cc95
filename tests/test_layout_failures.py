"""scripts/layout_failures.py (sb3_forager.training.failures): the failures it reports are real."""

from __future__ import annotations

from sb3_forager.training.evaluation import GreedyPolicy, record_replay
from sb3_forager.training.failures import Failure, draw, find_failures, stuck_against_clusters


def test_every_reported_failure_fails_again_when_replayed(tmp_path):
    played, failures = find_failures(GreedyPolicy(), n_squares=10, episodes=96, seed=5, n_worlds=32)
    assert played == 96
    assert 0 < len(failures) < 96  # greedy pushes get pinned in some layouts, not in all
    for f in failures[:3]:
        assert f.stuck() and all(f.free_path)
        png = draw(GreedyPolicy(), f, tmp_path / "f.png")
        assert png.stat().st_size > 1000
    from stable_baselines3.common.vec_env import VecMonitor

    from sb3_forager.envs.vec_env import ForagerVecEnv
    from sb3_forager.sim import PRESETS, Scenario

    f = failures[0]
    fixed = Scenario.from_kwargs(PRESETS["team"], starts=f.starts, obstacles=f.obstacles)
    replay = record_replay(GreedyPolicy(), VecMonitor(ForagerVecEnv(1, fixed)), 2)
    assert not replay.success
    end = replay.positions()[-1]
    for k in f.stuck():
        assert tuple(end[k]) == tuple(f.final[k])


def test_stuck_against_clusters_counts_pockets_only():
    lone = Failure([(5, 5), (10, 10)], [(50, 50)], (95, 95), [-1, 20], [(44.6, 50.0), (95, 95)], [True, True])
    pocket = Failure([(5, 5), (10, 10)], [(50, 50), (60, 55)], (95, 95), [-1, -1], [(55.0, 44.7), (20, 20)],
                     [True, True])  # fmt: skip
    assert stuck_against_clusters([lone]) == (1, 1, 0)
    assert stuck_against_clusters([pocket]) == (2, 1, 1)
