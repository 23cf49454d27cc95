"""``check-fidelity`` and the GAMA benchmark through their real command lines (``scripts/*.py`` and
``python -m sb3_forager``, in subprocesses), against the GAMA stand-in: the package's commands take
its address (``--gama-servers``), the repository's scripts start it themselves (``--standin``)."""

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

import gymnasium as gym

from sb3_forager import fidelity
from sb3_forager.cli import check_fidelity
from sb3_forager.models import MODELS


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
    assert set(rows) == set(fidelity.GROUPS) == set(MODELS)  # the tutorial models, random starts and layouts, stress
    for group, (steps, obs, reward, terminated, truncated) in rows.items():
        assert steps > 500, (group, steps)
        assert terminated == 0 and truncated == 0, group
        assert obs < 1e-7 and reward < 1e-7, (group, obs, reward)  # float32 / 8-decimal rounding
    assert "OK: every difference is within 0.0001" in done.stdout


def test_check_fidelity_cases_cover_every_model_and_scenario_family():
    by_group: dict[str, list[fidelity.Case]] = {}
    for case in fidelity.cases(episodes=1):
        by_group.setdefault(case.group, []).append(case)
        assert case.scenario.rules == case.model.rules and case.model.name == case.group
    assert list(by_group) == list(fidelity.GROUPS) == list(MODELS) == list(fidelity.CASES)  # CASES: for --help
    rand = by_group["forager-random"]
    assert any(c.scenario.random_starts and not c.scenario.random_obstacles for c in rand)
    assert any(c.scenario.random_obstacles and c.scenario.random_starts for c in rand)
    assert any(c.scenario.random_obstacles and not c.scenario.random_starts for c in rand)
    team = by_group["team"]
    assert {c.scenario.n_foragers for c in team} == {2, 3} and {c.scenario.teammate for c in team} == {
        "first",
        "nearest",
    }
    assert all(c.scenario.is_random for c in team)
    stress = by_group["stress"]
    assert all(c.scenario.n_foragers == 10 for c in stress) and any(c.scenario.random_starts for c in stress)
    assert all(c.model.gaml_file == "forager_petz_stress.gaml" for c in stress)
    # the old sequences are still there
    names = {c.name for c in by_group["coop"]}
    assert {"walls and corners", "both to the food", "one waits until time runs out"} <= names
    assert {f"into obstacle {o}" for o in fidelity.OBSTACLE_CENTRES} <= names
    assert {c.model.gaml_file for cs in by_group.values() for c in cs} == {m.gaml_file for m in MODELS.values()}


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
        (["--gama-port", "http"], "argument --gama-port: a port number expected, got 'http'"),
        (["--gama-port", "70000"], "argument --gama-port: must be in [1, 65535], got 70000"),
        (["--gama-servers", "h:1,h:x"], "bad port in GAMA server address 'h:x'"),
        (["--gama-servers", "h:1", "--gama-port", "1001"], "give --gama-servers or --gama-port, not both"),
        (["--tolerance", "nan"], "argument --tolerance: a finite number expected"),
        (["--gama-timeout", "0"], "argument --gama-timeout: must be > 0, got 0"),
        (["--seed", "-3"], "argument --seed: must be in [0, 2**32), got -3"),
        (["--groups", "single"], "argument --groups: invalid choice: 'single'"),
        (["--standin"], "unrecognized arguments: --standin"),  # the package has no stand-in: scripts/ do
        (["--frobnicate"], "unrecognized arguments: --frobnicate"),
    ],
)
def test_check_fidelity_bad_arguments_are_one_line_errors(args, message, capsys):
    line = one_line_error(check_fidelity.main, args, "check_fidelity.py", capsys)
    assert message in line


@pytest.mark.timeout(60)
def test_check_fidelity_without_a_server_says_how_to_start_one():
    port = free_port()
    done = run("-m", "sb3_forager", "check-fidelity", "--gama-port", str(port), "--groups", "forager", timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("sb3_forager check-fidelity: error: ") and f"gama-headless.sh -socket {port}" in line


def test_the_package_never_reaches_into_tests():
    """No module of the package names a module of the checkout's tests/ (the stand-in, its launcher, the
    reference port) or builds a path into it (a "tests" folder); docstrings may still mention tests."""
    package = os.path.join(ROOT, "sb3_forager")
    for folder, _, files in os.walk(package):
        for name in (f for f in files if f.endswith(".py")):
            text = open(os.path.join(folder, name), encoding="utf-8").read()
            for needle in ("gama_standin", "standin_launcher", "reference_model", '"tests"', "'tests'"):
                assert needle not in text, (os.path.relpath(os.path.join(folder, name), ROOT), needle)


@pytest.mark.timeout(180)
def test_an_installed_package_stands_alone(tmp_path, gama):
    """A copy of the package without the checkout (as a wheel installs it): every module imports with
    no tests/ on the path, and check-fidelity checks a server given by its address."""
    site = tmp_path / "site-packages"
    shutil.copytree(
        os.path.join(ROOT, "sb3_forager"),
        site / "sb3_forager",
        symlinks=False,  # gaml/ is a link into the checkout: a wheel holds the files
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    where = dict(pythonpath=str(site), cwd=str(tmp_path), timeout=170)  # not the checkout: -m puts cwd first
    code = (
        "import importlib, pkgutil, sys, sb3_forager\n"
        "assert not any(p.rstrip('/').endswith('tests') for p in sys.path), sys.path\n"
        "names = [m.name for m in pkgutil.walk_packages(sb3_forager.__path__, 'sb3_forager.')]\n"
        "for name in names: importlib.import_module(name)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('gama_standin', 'standin_launcher', 'reference_model')]\n"
        "assert not bad, bad\n"
        "print(sb3_forager.__file__, len(names))\n"
    )
    done = run("-c", code, **where)
    assert done.returncode == 0 and done.stdout.startswith(str(site)), done.stdout + done.stderr
    assert int(done.stdout.split()[1]) > 50  # every module, not an empty walk
    address = f"127.0.0.1:{gama.port}"
    args = ("--gama-servers", address, "--groups", "forager", "--episodes", "0")
    done = run("-m", "sb3_forager", "check-fidelity", *args, **where)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"vs the GAMA server at {address}" in done.stdout and "OK: every difference" in done.stdout
    assert set(table(done.stdout)) == {"forager"}


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
    report = fidelity.Report()
    model = MODELS["forager"]
    env = Shifted(fidelity.make_env(model, model.scenario, dict(port=gama.port)))
    assert isinstance(env.env, gym.Env) and env.env.unwrapped is env.env  # the raw env, as the embedded one
    embedded = fidelity.make_env(model, model.scenario)
    fidelity.compare(embedded, env, fidelity.random_policy(0), "random", report, 20)
    env.close()
    assert report.diffs["forager"]["reward"] == pytest.approx(1e-3, rel=1e-3)
    assert report.largest() > 1e-4

    # and the command exits non-zero, naming the field and where
    monkeypatch.setattr(fidelity, "check", lambda *a, **k: report)
    assert check_fidelity.main(["--gama-servers", f"127.0.0.1:{gama.port}"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "forager/reward" in out and "at random, step " in out


# ------------------------------------------------------------------ the GAMA benchmark
@pytest.mark.slow
@pytest.mark.timeout(180)
def test_bench_gama_prints_the_table():
    done = run("scripts/bench_gama.py", "--standin", "--steps", "16", "--n", "1", "2", "--latency", "0.001")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("the GAMA stand-in (tests/gama_standin.py) at 127.0.0.1:")
    assert "1 ms per answer" in done.stdout and "| experiments |" in done.stdout
    rows = table(done.stdout)
    assert set(rows) == {"1", "2"} and all(ours > 0 and stock > 0 for ours, stock, _ in rows.values())


@pytest.mark.timeout(120)
def test_bench_gama_repeats_the_worlds_table_and_takes_each_speedup_within_its_round(gama, capsys, monkeypatch):
    from sb3_forager.benchmarks import gama as bench_gama

    measured = []
    real = bench_gama.bench_worlds_per_sim

    def spy(servers, n, w, steps, seed):
        out = real(servers, n, w, steps, seed)
        measured.append((w, out[0]))
        return out

    monkeypatch.setattr(bench_gama, "bench_worlds_per_sim", spy)
    argv = ["--gama-servers", f"127.0.0.1:{gama.port}", "--n", "3", "--steps", "6", "--no-stock",
            "--gama-worlds-per-sim", "3", "--repeats", "3"]  # fmt: skip
    assert bench_gama.main(argv) == 0
    out = capsys.readouterr().out
    assert [w for w, _ in measured] == [None, 3] * 3  # round after round
    assert "median (min - max) of 3 rounds" in out
    (row,) = [line for line in out.split("worlds of the single forager")[1].splitlines() if line.startswith("| 3 |")]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == "0.333"  # one round trip per simulation of 3 worlds and step
    base, rate = [r for w, r in measured if w is None], [r for w, r in measured if w == 3]
    ratios = sorted(r / b for r, b in zip(rate, base))
    assert cells[3] == f"{ratios[1]:.1f}x ({ratios[0]:.1f}x - {ratios[2]:.1f}x)"
    assert cells[2].startswith(f"{sorted(rate)[1]:,.0f} (")


@pytest.mark.timeout(60)
def test_bench_gama_script_refuses_a_bad_argument():
    done = run("scripts/bench_gama.py", "--n", "0", timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == "bench_gama.py: error: argument --n: must be >= 1, got 0 (see --help)\n"


@pytest.mark.parametrize(
    "args,message",
    [
        (["--steps", "x"], "argument --steps: an integer expected, got 'x'"),
        (["--gama-servers", "127.0.0.1:99999"], "argument --gama-servers: port out of range"),
        (["--gama-servers", ","], "argument --gama-servers: no GAMA server given"),
        (["--standin"], "unrecognized arguments: --standin"),  # the package has no stand-in: scripts/ do
        (["--repeats", "3"], "argument --repeats: 3 rounds of the --gama-worlds-per-sim table: give that option"),
        (["--gama-worlds-per-sim", "8", "--repeats", "21"], "argument --repeats: must be in [1, 20], got 21"),
    ],
)
def test_bench_gama_bad_arguments_are_one_line_errors(args, message, capsys):
    from sb3_forager.benchmarks import gama as bench_gama

    assert message in one_line_error(bench_gama.main, args, "bench_gama.py", capsys)


@pytest.mark.parametrize(
    "script,args,message",
    [
        ("bench_gama.py", ["--latency", "-1"], "argument --latency: must be >= 0, got -1"),
        ("bench_gama.py", ["--latency", "0.1"], "--latency sets the stand-in's answer delay: it needs --standin"),
        ("bench_gama.py", ["--standin", "--gama-servers", "h:1"], "give --standin or --gama-servers/--gama-port"),
        ("check_fidelity.py", ["--standin", "--gama-port=1001"], "give --standin or --gama-servers/--gama-port"),
    ],
)
def test_the_scripts_standin_options_refuse_bad_arguments(script, args, message):
    done = run(f"scripts/{script}", *args, timeout=60)
    assert done.returncode == 2 and done.stdout == "", done.stdout + done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"{script}: error: ") and message in line, line


@pytest.mark.timeout(60)
def test_bench_gama_against_a_server_that_is_not_there():
    port = free_port()
    done = run("-m", "sb3_forager", "bench", "gama", "--gama-servers", f"127.0.0.1:{port}", "--n", "1", timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("sb3_forager bench gama: error: ") and f"127.0.0.1:{port}" in line
    assert re.search(r"gama-headless\.sh -socket \d+", line)
