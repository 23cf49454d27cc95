"""The one description of the model runs compiled (numba) or, without numba, as plain Python:
the same results either way, and a clear warning when uncompiled."""

from __future__ import annotations

import json
import os
import subprocess
import sys

CODE = """
import json, logging, numpy as np
logging.basicConfig(level=logging.WARNING)
from sb3_forager.sim import ForagerSim, TEAM, FORAGER_RANDOM
from sb3_forager.sim import jit
rng = np.random.default_rng(0)
out = {"compiled": jit.JIT_AVAILABLE}
for name, scenario in (("team", TEAM.replace(n_foragers=3, obstacles="random")), ("single", FORAGER_RANDOM)):
    sim = ForagerSim.for_scenario(scenario, 3)
    sim.reset(None, [scenario.draw(rng) for _ in range(3)])
    trace = []
    for t in range(40):
        r = sim.step(rng.uniform(-1, 1, (3, scenario.n_foragers, 2)))
        trace.append([r.obs.round(12).tolist(), r.reward.round(12).tolist(), r.terminated.tolist()])
    out[name] = trace
print(json.dumps(out))
"""


def _run(jit: str) -> tuple[dict, str]:
    env = dict(os.environ, SB3_FORAGER_JIT=jit)
    proc = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


def test_interpreted_kernels_give_the_compiled_results_and_say_so() -> None:
    compiled, _ = _run("1")
    plain, stderr = _run("0")
    assert compiled["compiled"] is True and plain["compiled"] is False
    assert "numba is not available (disabled by SB3_FORAGER_JIT=0)" in stderr
    assert plain["team"] == compiled["team"] and plain["single"] == compiled["single"]
