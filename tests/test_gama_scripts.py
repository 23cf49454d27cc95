"""``check-fidelity`` and the GAMA benchmark through their real command lines (``scripts/*.py`` and
``python -m sb3_forager``, in subprocesses), against the GAMA stand-in."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from gama_standin import free_port

from sb3_forager.cli import check_fidelity
from sb3_forager.envs import ForagerEnv
from sb3_forager.gama import GamaForagerEnv


def run(*args: str, pythonpath: str = ROOT, cwd: str = ROOT, timeout: float = 180) -> subprocess.CompletedProcess:
    """``python <args>`` with this checkout's sb3_forager first on the path (not an installed copy)."""
    env = dict(os.environ, PYTHONPATH=pythonpath, PYTHONWARNINGS="ignore")
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def table(stdout: str) -> dict[str, list[float]]:
    """The rows of a printed markdown table: first cell -> the numbers of the others."""
    rows = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) > 1 and not set(cells[1]) <= set("-:"):
            try:
                rows[cells[0]] = [float(c.replace(",", "").rstrip("x")) for c in cells[1:]]
            except ValueError:
                continue  # the header
    return rows


# ------------------------------------------------------------------ check-fidelity
@pytest.mark.timeout(180)
def test_check_fidelity_script_finds_no_difference_against_the_standin():
    done = run("scripts/check_fidelity.py", "--standin", "--episodes", "0")  # the random groups still run each variant
    assert done.returncode == 0, done.stdout + done.stderr
    rows = table(done.stdout)
    assert set(rows) == set(check_fidelity.GROUPS)  # the tutorial models, random starts and layouts, stress
    for group, (steps, obs, reward, terminated, truncated) in rows.items():
        assert steps > 500, (group, steps)
        assert terminated == 0 and truncated == 0, group
        assert obs < 1e-7 and reward < 1e-7, (group, obs, reward)  # float32 / 8-decimal rounding
    assert "OK: every difference is within 0.0001" in done.stdout


def test_check_fidelity_cases_cover_every_model_and_scenario_family():
    by_group: dict[str, list[check_fidelity.Case]] = {}
    for case in check_fidelity.cases(episodes=1):
        by_group.setdefault(case.group, []).append(case)
    assert list(by_group) == list(check_fidelity.GROUPS)
    rand = by_group["single-random"]
    assert any(c.scenario.random_starts and not c.scenario.random_obstacles for c in rand)
    assert any(c.scenario.random_obstacles and c.scenario.random_starts for c in rand)
    assert any(c.scenario.random_obstacles and not c.scenario.random_starts for c in rand)
    team = by_group["team-random"]
    assert {c.scenario.n_foragers for c in team} == {2, 3} and {c.scenario.teammate for c in team} == {
        "first",
        "nearest",
    }
    assert all(c.scenario.is_random for c in team)
    stress = by_group["stress"]
    assert all(c.scenario.n_foragers == 10 for c in stress) and any(c.scenario.random_starts for c in stress)
    assert all(check_fidelity.MODEL_OF[c.group] == "stress" for c in stress)
    # the old sequences are still there
    names = {c.name for c in by_group["coop"]}
    assert {"walls and corners", "both to the food", "one waits until time runs out"} <= names
    assert {f"into obstacle {o}" for o in check_fidelity.OBSTACLES} <= names


def one_line_error(main, args, prog, capsys) -> str:
    """``main(args)`` (in this process) refuses ``args``: exit code 2, one ``<prog>: error:`` line."""
    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert out == "" and len(lines) == 1 and lines[0].startswith(f"{prog}: error: "), err
    return lines[0]


@pytest.mark.timeout(60)
def test_check_fidelity_script_refuses_a_bad_argument():
    done = run("scripts/check_fidelity.py", "--episodes", "-1", timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == "check_fidelity.py: error: argument --episodes: must be >= 0, got -1 (see --help)\n"


@pytest.mark.parametrize(
    "args,message",
    [
        (["--port", "http"], "argument --port: a port number expected, got 'http'"),
        (["--port", "70000"], "argument --port: must be in [1, 65535], got 70000"),
        (["--tolerance", "nan"], "argument --tolerance: a finite number expected"),
        (["--timeout", "0"], "argument --timeout: must be > 0, got 0"),
        (["--seed", "-3"], "argument --seed: must be in [0, 4294967295], got -3"),
        (["--groups", "pair"], "argument --groups: invalid choice: 'pair'"),
        (["--standin", "--port", "1001"], "give --standin or --host/--port, not both"),
        (["--frobnicate"], "unrecognized arguments: --frobnicate"),
    ],
)
def test_check_fidelity_bad_arguments_are_one_line_errors(args, message, capsys):
    line = one_line_error(check_fidelity.main, args, "check_fidelity.py", capsys)
    assert message in line


@pytest.mark.timeout(60)
def test_check_fidelity_without_a_server_says_how_to_start_one():
    port = free_port()
    done = run("-m", "sb3_forager", "check-fidelity", "--port", str(port), "--groups", "single", timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("sb3_forager check-fidelity: error: ") and f"gama-headless.sh -socket {port}" in line


@pytest.mark.timeout(120)
def test_standin_from_an_installed_package_needs_a_source_checkout(tmp_path):
    """A copy of the package without the checkout's tests/ (as a wheel installs it)."""
    site = tmp_path / "site-packages"
    shutil.copytree(
        os.path.join(ROOT, "sb3_forager"),
        site / "sb3_forager",
        symlinks=False,  # gaml/ is a link into the checkout: a wheel holds the files
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    where = dict(pythonpath=str(site), cwd=str(tmp_path), timeout=120)  # not the checkout: -m puts cwd first
    done = run("-c", "import sb3_forager; print(sb3_forager.__file__)", **where)
    assert done.stdout.startswith(str(site)), done.stdout + done.stderr
    done = run("-m", "sb3_forager", "check-fidelity", "--standin", **where)
    assert done.returncode == 2, done.stdout + done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("sb3_forager check-fidelity: error: --standin needs a source checkout")
    assert "tests/gama_standin.py" in line
    done = run("-m", "sb3_forager", "bench", "gama", "--n", "1", **where)
    assert done.returncode == 2, done.stdout + done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert "the benchmark needs a source checkout" in line and "--server" not in line[:40]


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

    # and the command exits non-zero, naming the field and where
    monkeypatch.setattr(check_fidelity, "check", lambda *a, **k: report)
    assert check_fidelity.main(["--standin"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "single/reward" in out and "at random, step " in out


# ------------------------------------------------------------------ the GAMA benchmark
@pytest.mark.slow
@pytest.mark.timeout(180)
def test_bench_gama_prints_the_table():
    done = run("scripts/bench_gama.py", "--steps", "16", "--n", "1", "2", "--latency", "0.001")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "| experiments |" in done.stdout
    rows = table(done.stdout)
    assert set(rows) == {"1", "2"} and all(ours > 0 and stock > 0 for ours, stock, _ in rows.values())


@pytest.mark.timeout(60)
def test_bench_gama_script_refuses_a_bad_argument():
    done = run("scripts/bench_gama.py", "--n", "0", timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == "bench_gama.py: error: argument --n: must be >= 1, got 0 (see --help)\n"


@pytest.mark.parametrize(
    "args,message",
    [
        (["--steps", "x"], "argument --steps: an integer expected, got 'x'"),
        (["--latency", "-1"], "argument --latency: must be >= 0, got -1"),
        (["--server", "127.0.0.1:1001", "--latency", "0.1"], "give --server or --latency, not both"),
        (["--gaml", "/m/forager_gym.gaml"], "--gaml needs --server"),
    ],
)
def test_bench_gama_bad_arguments_are_one_line_errors(args, message, capsys):
    from sb3_forager.benchmarks import gama as bench_gama

    assert message in one_line_error(bench_gama.main, args, "bench_gama.py", capsys)


@pytest.mark.timeout(60)
def test_bench_gama_against_a_server_that_is_not_there():
    port = free_port()
    done = run("-m", "sb3_forager", "bench", "gama", "--server", f"127.0.0.1:{port}", "--n", "1", timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("sb3_forager bench gama: error: ") and f"127.0.0.1:{port}" in line
    assert re.search(r"gama-headless\.sh -socket \d+", line)
