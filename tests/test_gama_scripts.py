"""``scripts/check_fidelity.py`` and ``scripts/bench_gama.py`` against the GAMA stand-in."""

from __future__ import annotations

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "scripts"))

import check_fidelity  # noqa: E402

from sb3_forager.envs import ForagerEnv  # noqa: E402
from sb3_forager.gama import GamaForagerCoopEnv, GamaForagerEnv  # noqa: E402


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_check_fidelity_reports_no_difference_against_the_standin(gama):
    report = check_fidelity.check(
        lambda: GamaForagerEnv(port=gama.port), lambda: GamaForagerCoopEnv(port=gama.port), seed=3, episodes=1
    )
    assert set(report.diffs) == {"single", "coop"}
    assert report.steps["single"] > 1000 and report.steps["coop"] > 1000
    for model, diffs in report.diffs.items():
        assert diffs["terminated"] == 0 and diffs["truncated"] == 0, model
        assert diffs["obs"] < 1e-7 and diffs["reward"] < 1e-7, (model, diffs)  # float32 / 8-decimal rounding


class Shifted:
    """A GAMA env whose rewards are off by 1e-3: the check must notice."""

    def __init__(self, env):
        self.env = env

    def reset(self, **kw):
        return self.env.reset(**kw)

    def step(self, action):
        obs, reward, *rest = self.env.step(action)
        return (obs, reward + 1e-3, *rest)

    def close(self):
        self.env.close()


@pytest.mark.timeout(60)
def test_check_fidelity_notices_a_difference_and_fails(gama, capsys, monkeypatch):
    report = check_fidelity.Report()
    env = Shifted(GamaForagerEnv(port=gama.port))
    check_fidelity.compare_single(ForagerEnv(), env, check_fidelity.random_policy(0), "random", report, 20)
    env.close()
    assert report.diffs["single"]["reward"] == pytest.approx(1e-3, rel=1e-3)
    assert report.largest() > 1e-4

    # and the script exits non-zero, naming the field and where
    monkeypatch.setattr(check_fidelity, "check", lambda *a, **k: report)
    assert check_fidelity.main(["--standin"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "single/reward" in out and "at random, step " in out


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_bench_gama_prints_the_table(capsys):
    import bench_gama

    assert bench_gama.main(["--steps", "24", "--n", "1", "3", "--latency", "0.001"]) == 0
    out = capsys.readouterr().out
    assert "| experiments |" in out
    rows = [line for line in out.splitlines() if line.startswith("| 1 |") or line.startswith("| 3 |")]
    assert len(rows) == 2
