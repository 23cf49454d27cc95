"""``scripts/tune.py`` (Optuna sweeps): bad input fails in one line with exit code 2 and writes
nothing; a tiny SQLite sweep end to end (run folders, ``trials.csv``, a ``best_hyperparameters.yml``
that the training config accepts); pruning stops trials; Optuna's ``create_study`` race on a fresh
PostgreSQL database, reproduced and handled; two workers started at the same moment on one fresh
PostgreSQL database share one study; the trial of a dead worker is run again. The PostgreSQL tests
start a throwaway server on 127.0.0.1 (``tests/postgres_server.py``) and are skipped only when the
server binaries are absent."""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import postgres_server  # tests/postgres_server.py (tests/ is on sys.path, as for the other test helpers)
import pytest
import yaml

from sb3_forager.training import resolve_config, search_space, sweep
from sb3_forager.training import study as tune_study
from sb3_forager.training.config import ALGOS, ENVS

optuna = pytest.importorskip("optuna", reason="the tune extra is not installed: pip install 'sb3_forager[tune]'")

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "tune.py"

pytestmark = pytest.mark.timeout(300)

#: a small search space and base config: 2 forager worlds, 32-step rollouts, tiny networks
TINY_SPACE = """\
ppo:
  learning_rate: {type: float, low: 1.0e-4, high: 3.0e-3, log: true}
  n_epochs: {type: int, low: 1, high: 3}
  gamma: [0.9, 0.95]
  policy_kwargs.net_arch:
    type: categorical
    choices: {tiny: [16], small: [32, 32]}
"""
TINY_CONFIG = "forager:\n  n_worlds: 2\n  n_steps: 32\n  batch_size: 64\n  n_epochs: 2\n"
TRIAL_TIMESTEPS = 768  # 12 rollouts of 64 timesteps; with --n-evaluations 2: one at ~384, then the final one


def tiny_files(tmp_path: Path) -> tuple[Path, Path]:
    space = tmp_path / "space.yml"
    space.write_text(TINY_SPACE)
    config = tmp_path / "base.yml"
    config.write_text(TINY_CONFIG)
    return space, config


def tiny_args(tmp_path: Path, logdir: Path, *extra: str) -> list[str]:
    space, config = tiny_files(tmp_path)
    return [
        "--env",
        "forager",
        "--search-space",
        str(space),
        "--config",
        str(config),
        "--trial-timesteps",
        str(TRIAL_TIMESTEPS),
        "--n-eval-episodes",
        "2",
        "--n-evaluations",
        "2",
        "--logdir",
        str(logdir),
        "--no-progress-bar",
        *extra,
    ]


def run_script(*args: str, timeout: float = 240, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout, cwd=cwd or ROOT
    )


def load_script_module():
    """The command's module (``scripts/tune.py`` is a shim over it; the subprocess tests run the shim)."""
    from sb3_forager.cli import tune as module

    return module


@pytest.fixture(autouse=True)
def _restore_logging():
    """``main()`` in-process sets the package's log level and Optuna's verbosity: put them back."""
    import logging

    log = logging.getLogger("sb3_forager")
    handlers, level, propagate = list(log.handlers), log.level, log.propagate
    verbosity = optuna.logging.get_verbosity()
    yield
    log.handlers[:] = handlers
    log.setLevel(level)
    log.propagate = propagate
    optuna.logging.set_verbosity(verbosity)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------- PostgreSQL server
@pytest.fixture(scope="module")
def pg():
    reason = postgres_server.unavailable_reason()
    if reason:
        pytest.skip(reason)
    pytest.importorskip("psycopg", reason="psycopg is not installed: pip install 'psycopg[binary]'")
    server = postgres_server.PostgresServer()
    server.start()
    yield server
    server.stop()


_db_counter = iter(range(10_000))


@pytest.fixture
def fresh_db(pg):
    """The URL of a new, empty database on the module's server."""
    return pg.create_database(f"t{os.getpid()}_{next(_db_counter)}")


# ---------------------------------------------------------------------- units
def test_objective_puts_success_first_then_fewer_steps():
    f = sweep.objective_value
    assert f({"success_rate": 1.0, "steps_to_food": 40.0}) > f({"success_rate": 1.0, "steps_to_food": 60.0})
    # one more success out of 1000 episodes beats any number of steps
    assert f({"success_rate": 0.501, "steps_to_food": 299.0}) > f({"success_rate": 0.5, "steps_to_food": 1.0})
    assert f({"success_rate": 0.1, "steps_to_food": 1e9}) > f({"success_rate": 0.0, "steps_to_food": float("nan")})
    assert f({"success_rate": 0.0, "steps_to_food": float("nan")}) == pytest.approx(-0.001)
    assert 0.999 < f({"success_rate": 1.0, "steps_to_food": 1.0}) < 1.0


@pytest.mark.parametrize("algo", ALGOS)
@pytest.mark.parametrize("env", ENVS)
def test_shipped_search_space_loads_for_every_env(env, algo):
    space = search_space.load_search_space(algo, env)
    assert space.params and len(set(space.names)) == len(space.names)


def test_sampled_values_reach_the_config(tmp_path):
    """Schedules, named choices, policy_kwargs.<key> and run settings land where train() reads them."""
    (tmp_path / "space.yml").write_text(
        "ppo:\n"
        "  learning_rate: {type: float, low: 1.0e-4, high: 1.0e-3, log: true, schedule: linear}\n"
        "  n_worlds: [2, 4]\n"
        "  normalize: {type: categorical, choices: {none: false, obs: {norm_obs: true, norm_reward: false}}}\n"
        "  policy_kwargs.net_arch: {type: categorical, choices: {a: [8], b: [16, 16]}}\n"
        "  forager:\n"
        "    n_worlds: null\n"  # an env section drops an entry
        "    gamma: [0.9]\n"
    )
    space = search_space.load_search_space("ppo", "forager", tmp_path / "space.yml")
    assert space.names == ["learning_rate", "normalize", "policy_kwargs.net_arch", "gamma"]
    trial = optuna.trial.FixedTrial(
        {"learning_rate": 5e-4, "normalize": "obs", "policy_kwargs.net_arch": "b", "gamma": 0.9}
    )
    base = resolve_config("forager", "ppo")
    cfg = search_space.trial_config(base, space.sample(trial), n_timesteps=123)
    assert cfg.hyperparams["learning_rate"] == "lin_0.0005" and cfg.hyperparams["gamma"] == 0.9
    assert cfg.normalize == {"norm_obs": True, "norm_reward": False}
    assert cfg.policy_kwargs["net_arch"] == [16, 16] and cfg.n_timesteps == 123
    section = sweep.best_section(cfg, base)
    assert section["n_timesteps"] == base.n_timesteps and section["learning_rate"] == "lin_0.0005"
    # a trial longer than the full training: the best section keeps the budget its score was measured at
    longer = search_space.trial_config(base, space.sample(trial), n_timesteps=base.n_timesteps * 3)
    assert sweep.best_section(longer, base)["n_timesteps"] == base.n_timesteps * 3


def test_a_single_point_range_is_what_optuna_makes_of_it(tmp_path):
    """low == high is a valid Optuna distribution (one value); the space passes it on as such."""
    (tmp_path / "space.yml").write_text("ppo:\n  n_epochs: {type: int, low: 3, high: 3}\n")
    space = search_space.load_search_space("ppo", "forager", tmp_path / "space.yml")
    assert space.params[0].distribution == optuna.distributions.IntDistribution(3, 3)
    study = optuna.create_study()
    assert space.sample(study.ask()) == {"n_epochs": 3}


def test_pruning_callback_reports_each_evaluation_and_stops_when_pruned():
    """As train()'s callback_after_eval: the parent's deterministic summary -> trial.report(objective,
    k); continue (True) while the pruner lets the trial go on, stop (False, pruned) when it does not."""
    from types import SimpleNamespace

    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.ThresholdPruner(lower=0.5))
    trial = study.ask()
    callback = sweep.PruningCallback(trial)
    model = SimpleNamespace(num_timesteps=100, get_env=lambda: None, logger=None)
    callback.init_callback(model)
    callback.parent = SimpleNamespace(last_summary={"success_rate": 1.0, "steps_to_food": 40.0, "team_return": 1.0})
    assert callback.on_step() is True and not callback.pruned
    model.num_timesteps = 200
    callback.parent.last_summary = {"success_rate": 0.0, "steps_to_food": float("nan"), "team_return": 0.0}
    assert callback.on_step() is False and callback.pruned and callback.evaluations == 2
    frozen = study.trials[0]
    assert frozen.intermediate_values == {
        1: pytest.approx(sweep.objective_value({"success_rate": 1.0, "steps_to_food": 40.0})),
        2: pytest.approx(-0.001),
    }
    assert frozen.user_attrs["num_timesteps"] == 200 and frozen.user_attrs["steps_to_food"] is None


def test_help_lists_every_flag():
    text = load_script_module().build_parser().format_help()
    for flag in (
        "--env",
        "--algo",
        "--n-trials",
        "--trial-timesteps",
        "--storage",
        "--study-name",
        "--logdir",
        "--sampler",
        "--pruner",
        "--seed",
        "--n-eval-episodes",
        "--n-evaluations",
        "--trial-seeds",
        "--trial-score",
        "--search-space",
        "--config",
        "--n-worlds",
        "optuna-dashboard",
    ):
        assert flag in text, flag
    for env in ENVS:
        assert env in text


# ---------------------------------------------------------------------- bad input
BAD_SPACES = {
    "unknown_name": ("ppo:\n  n_stepz: [16, 32]\n", "n_stepz"),
    "unknown_policy_kwarg": ("ppo:\n  policy_kwargs.net_width: [1, 2]\n", "net_width"),
    "unknown_in_env_section": ("ppo:\n  gamma: [0.9]\n  coop:\n    gamma_x: [0.9]\n", "gamma_x"),
    "inverted_range": ("ppo:\n  learning_rate: {type: float, low: 1.0e-2, high: 1.0e-3}\n", "`low <= high` must hold"),
    "empty_choices": ("ppo:\n  gamma: []\n", "`choices` must contain one or more elements"),
    "list_as_choice": ("ppo:\n  policy_kwargs.net_arch: [[16], [32, 32]]\n", "net_arch"),
    "step_misfit": ("ppo:\n  n_epochs: {type: int, low: 3, high: 15, step: 5}\n", "not divisible"),
    "bad_schedule": ("ppo:\n  gamma: {type: float, low: 0.9, high: 0.99, schedule: linear}\n", "gamma"),
    "wrong_type": ("ppo:\n  n_steps: {type: float, low: 16, high: 64}\n", "n_steps"),
    "bad_bound": ("ppo:\n  gamma: {type: float, low: low, high: 0.99}\n", "gamma"),
    "log_of_zero": ("ppo:\n  ent_coef: {type: float, low: 0.0, high: 0.1, log: true}\n", "ent_coef"),
    "rejected_value": ("ppo:\n  n_worlds: {type: int, low: 0, high: 4}\n", "n_worlds"),
    "unknown_algo": ("ppo:\n  gamma: [0.9]\nsac:\n  tau: [0.01]\n", "sac"),
    "no_section": ("recurrent_ppo:\n  gamma: [0.9]\n", "ppo"),
    "run_setting": ("ppo:\n  eval_freq: [100, 200]\n", "eval_freq is a run setting"),
    "unknown_key": ("ppo:\n  gamma: {type: float, lo: 0.9, high: 0.99}\n", "lo"),
    "not_yaml": ("ppo: [\n", "not valid YAML"),
}


@pytest.mark.parametrize("case", sorted(BAD_SPACES))
def test_bad_search_space(case, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    text, needle = BAD_SPACES[case]
    (tmp_path / "space.yml").write_text(text)
    before = sorted(p.name for p in tmp_path.iterdir())
    cli = load_script_module()
    code = cli.main(["--env", "forager", "--search-space", "space.yml", "--logdir", "out"])
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tune.py: error: "), err
    assert needle in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


def bad_flag_cases() -> dict[str, tuple[list[str], str]]:
    port = free_port()  # nothing listens there
    return {
        "malformed_url": (["--storage", "not a url"], "malformed storage URL"),
        "unknown_database": (["--storage", "nosuchdb://host/db"], "nosuchdb"),
        "missing_driver": (["--storage", "mysql://u@127.0.0.1/db"], "driver"),
        "unreachable_postgres": (
            ["--storage", f"postgresql+psycopg://u:secret@127.0.0.1:{port}/db", "--connect-timeout", "3"],
            "cannot reach the storage",
        ),
        "sqlite_in_missing_folder": (["--storage", "sqlite:///no/such/folder/s.db"], "does not exist"),
        "journal_in_missing_folder": (["--storage", "journal:no/such/folder/j.log"], "does not exist"),
        "unknown_sampler": (["--sampler", "bayes"], "unknown sampler 'bayes'"),
        "unknown_pruner": (["--pruner", "early"], "unknown pruner 'early'"),
        "bad_pruner_option": (["--pruner", "median:n_startup=3"], "n_startup"),
        "pruner_missing_option": (["--pruner", "threshold"], "threshold"),
        "bad_sampler_option": (["--sampler", "tpe:n_startup_trials"], "KEY=VALUE"),
        "n_eval_episodes": (["--n-eval-episodes", "0"], "--n-eval-episodes"),
        "n_trials": (["--n-trials", "0"], "--n-trials"),
        "n_evaluations": (["--n-evaluations", "0"], "--n-evaluations"),
        "study_name": (["--study-name", "a/b"], "--study-name"),
        "missing_config": (["--config", "nope.yml"], "nope.yml"),
        "renamed_env": (["--env", "coop-random"], "'team'"),
        "n_worlds": (["--n-worlds", "0"], "--n-worlds"),
    }


@pytest.mark.parametrize("case", sorted(bad_flag_cases()))
def test_bad_flags(case, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args, needle = bad_flag_cases()[case]
    cli = load_script_module()
    try:
        code = cli.main(["--env", "forager", "--logdir", "out", *args])
    except SystemExit as exc:  # an argparse error (its type checks): the process exits with this code
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tune.py: error: "), err
    assert needle in lines[0]
    assert "secret" not in err  # passwords are never printed
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_bad_input_exit_code_of_the_process(tmp_path):
    proc = run_script("--sampler", "bayes", "--logdir", str(tmp_path / "out"), timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "tune.py: error: unknown sampler 'bayes' (choose from tpe, random, qmc, cmaes, gp)"
    ]
    assert not (tmp_path / "out").exists()


def test_without_optuna_the_cli_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna raises ImportError
    assert load_script_module().main(["--env", "forager"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["tune.py: error: tuning needs Optuna, which is not installed: pip install 'sb3_forager[tune]'"]
    assert list(tmp_path.iterdir()) == []


def test_a_study_of_another_env_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    study_dir = tmp_path / "out" / "shared"
    study_dir.mkdir(parents=True)
    study = optuna.create_study(
        storage=f"sqlite:///{study_dir / 'study.db'}", study_name="shared", direction="maximize"
    )
    study.set_user_attr("env", "coop")
    cli = load_script_module()
    assert cli.main(["--env", "forager", "--logdir", "out", "--study-name", "shared"]) == 2
    err = capsys.readouterr().err
    assert "tunes env coop, not forager" in err and len(err.strip().splitlines()) == 1


# ---------------------------------------------------------------------- sweeps
def test_sqlite_sweep_end_to_end(tmp_path):
    logdir = tmp_path / "logs"
    proc = run_script(*tiny_args(tmp_path, logdir, "--n-trials", "2", "--sampler-seed", "3", "--seed", "5"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    study_dir = logdir / "tune_forager_ppo"
    # one line per finished trial, with its value and parameters
    lines = [line for line in proc.stdout.splitlines() if line.startswith("trial ")]
    assert len(lines) == 2, proc.stdout
    assert all(" complete: value " in line and "learning_rate=" in line for line in lines)
    assert f"watch: optuna-dashboard sqlite:///{study_dir / 'study.db'}" in proc.stdout
    assert "Traceback" not in proc.stderr
    # the trials' run folders
    for k in (0, 1):
        run = study_dir / f"trial_{k}"
        assert (run / "model.zip").is_file() and (run / "evaluations.npz").is_file()
        cfg = yaml.safe_load((run / "config.yml").read_text())
        assert cfg["seed"] == 5 + k and cfg["n_timesteps"] == TRIAL_TIMESTEPS and cfg["progress_bar"] is False
        assert cfg["eval_freq"] == TRIAL_TIMESTEPS // 2 + 1 and cfg["eval_episodes"] == 2
    # trials.csv: every trial, its state, value and parameters
    rows = read_csv(study_dir / "trials.csv")
    assert [r["number"] for r in rows] == ["0", "1"]
    assert all(r["state"] == "COMPLETE" and r["value"] for r in rows)
    for name in ("learning_rate", "n_epochs", "gamma", "policy_kwargs.net_arch"):
        assert all(r[f"params_{name}"] for r in rows), name
    # best_hyperparameters.yml: the best trial's values, as train_sb3.py --config takes them
    best = max(rows, key=lambda r: (float(r["value"]), -int(r["number"])))
    best_file = study_dir / "best_hyperparameters.yml"
    cfg = resolve_config("forager", "ppo", config_file=best_file)
    assert cfg.hyperparams["learning_rate"] == pytest.approx(float(best["params_learning_rate"]))
    assert cfg.hyperparams["n_epochs"] == int(best["params_n_epochs"])
    assert cfg.hyperparams["gamma"] == float(best["params_gamma"])
    assert cfg.policy_kwargs["net_arch"] == {"tiny": [16], "small": [32, 32]}[best["params_policy_kwargs.net_arch"]]
    assert cfg.n_worlds == 2 and cfg.hyperparams["n_steps"] == 32  # the base config's values are kept
    assert cfg.n_timesteps == 60000  # the full training's length, not the trial's
    assert list(yaml.safe_load(best_file.read_text())) == ["forager"]
    # the study: intermediate values at evaluations 1 and 2, the objective as the value
    study = optuna.load_study(study_name="tune_forager_ppo", storage=f"sqlite:///{study_dir / 'study.db'}")
    assert len(study.trials) == 2
    for t in study.trials:
        assert sorted(t.intermediate_values) == [1, 2]
        assert -0.001 <= t.value < 1.0
    assert study.user_attrs["env"] == "forager" and "success_rate" in study.user_attrs["objective"]
    assert not list(study_dir.rglob("*.tmp"))


def test_pruning_stops_trials(tmp_path):
    """A pruner that prunes everything (the objective is always < 2) stops each trial at its first
    evaluation: the trials are PRUNED, trained fewer timesteps, and no best file is written."""
    logdir = tmp_path / "logs"
    proc = run_script(
        *tiny_args(tmp_path, logdir, "--n-trials", "2", "--pruner", "threshold:lower=2.0", "--study-name", "p")
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [line for line in proc.stdout.splitlines() if line.startswith("trial ")]
    assert len(lines) == 2 and all(" pruned at evaluation 1 " in line for line in lines), proc.stdout
    rows = read_csv(logdir / "p" / "trials.csv")
    assert [r["state"] for r in rows] == ["PRUNED", "PRUNED"]
    assert all(int(r["user_attrs_num_timesteps"]) < TRIAL_TIMESTEPS for r in rows)
    from stable_baselines3 import PPO

    model = PPO.load(logdir / "p" / "trial_0" / "model.zip", device="cpu")
    assert model.num_timesteps < TRIAL_TIMESTEPS  # training stopped early
    assert not (logdir / "p" / "best_hyperparameters.yml").exists()
    assert "no complete trial yet" in proc.stdout


@pytest.mark.parametrize("score", ["mean", "worst"])
def test_trial_seeds_train_each_seed_and_score_their_mean_or_worst(score, tmp_path):
    """--trial-seeds 2: a trial trains seeds seed+2k and seed+2k+1 into trial_<k>/seed_<s>/; each
    seed's evaluations are steps of their own (1-2, then 3-4) and the trial's value is the mean
    (or the lowest) of the two seeds' final values."""
    space, config = tiny_files(tmp_path)
    settings = sweep.TuneSettings(
        env="forager", n_trials=2, logdir=tmp_path, study_name="s", progress_bar=False, seed=5,
        trial_seeds=2, trial_score=score, search_space=space, config_file=config,
        trial_timesteps=TRIAL_TIMESTEPS, n_eval_episodes=2, n_evaluations=2, sampler="random", sampler_seed=1,
    )  # fmt: skip
    result = sweep.run_sweep(sweep.prepare(settings), printer=lambda line: None)
    assert result.counts == {"COMPLETE": 2}
    for t in result.study.trials:
        seeds = [5 + 2 * t.number, 6 + 2 * t.number]
        assert t.user_attrs["seeds"] == seeds
        for s in seeds:
            cfg = yaml.safe_load((tmp_path / "s" / f"trial_{t.number}" / f"seed_{s}" / "config.yml").read_text())
            assert cfg["seed"] == s and cfg["n_timesteps"] == TRIAL_TIMESTEPS
        assert sorted(t.intermediate_values) == [1, 2, 3, 4]
        finals = [t.intermediate_values[2], t.intermediate_values[4]]
        assert t.user_attrs["seed_values"] == pytest.approx(finals, abs=1e-6)
        want = sum(finals) / 2 if score == "mean" else min(finals)
        assert t.value == pytest.approx(want)
    assert result.study.user_attrs["trial_seeds"] == 2


def test_trial_seeds_must_be_positive(tmp_path):
    with pytest.raises(search_space.TuneError, match="--trial-seeds"):
        sweep.prepare(sweep.TuneSettings(env="forager", logdir=tmp_path, trial_seeds=0))
    with pytest.raises(search_space.TuneError, match="--trial-score"):
        sweep.prepare(sweep.TuneSettings(env="forager", logdir=tmp_path, trial_score="median"))


def test_median_pruner_prunes_a_poor_trial(tmp_path):
    """The default pruner (median) in a sweep whose objective is patched: a trial below the
    median of the finished ones is pruned at the evaluation where it falls behind."""
    settings = sweep.TuneSettings(
        env="forager", algo="ppo", n_trials=3, logdir=tmp_path, study_name="m", progress_bar=False,
        pruner="median:n_startup_trials=1,n_warmup_steps=0", sampler="random", sampler_seed=0,
        search_space=tiny_files(tmp_path)[0],
    )  # fmt: skip
    prepared = sweep.prepare(settings)
    scores = {0: [0.9, 0.9, 0.9], 1: [0.95, 0.95, 0.95], 2: [0.5, 0.1, 0.1]}

    def fake_objective(trial):
        for step, value in enumerate(scores[trial.number], start=1):
            trial.report(value, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return scores[trial.number][-1]

    lines: list[str] = []
    result = sweep.run_sweep(prepared, printer=lines.append, objective=fake_objective)
    assert result.counts == {"COMPLETE": 2, "PRUNED": 1}
    assert lines[2].startswith("trial 2 pruned at evaluation 1")
    assert result.best.number == 1


# ---------------------------------------------------------------------- several workers
#: each process signals that its imports are done, then waits for the go: all pass it within ~1 ms
BARRIER = """
import os, sys, time
def barrier(folder):
    open(os.path.join(folder, "ready_%d" % os.getpid()), "w").close()
    while not os.path.exists(os.path.join(folder, "go")):
        time.sleep(0.0005)
"""

RAW_CREATE = BARRIER + textwrap.dedent(
    """
    import json
    import optuna
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    folder, url = sys.argv[1], sys.argv[2]
    barrier(folder)
    try:
        study = optuna.create_study(storage=url, study_name="race", direction="maximize", load_if_exists=True)
        print(json.dumps({"ok": True, "study_id": study._study_id}))
    except Exception as exc:
        print(json.dumps({"ok": False, "error": type(exc).__name__ + ": " + str(exc).splitlines()[0]}))
    """
)

OPEN_STUDY = BARRIER + textwrap.dedent(
    """
    import json
    import optuna
    from sb3_forager.training import study as tune_study
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    folder, storage = sys.argv[1], sys.argv[2]
    spec = tune_study.parse_storage(storage, ".")
    barrier(folder)
    try:
        study = tune_study.open_study(spec, "race")
        trial = study.ask()
        study.tell(trial, 1.0)
        print(json.dumps({"ok": True, "study_id": study._study_id, "trial": trial.number}))
    except Exception as exc:
        print(json.dumps({"ok": False, "error": type(exc).__name__ + ": " + str(exc).splitlines()[0]}))
    """
)

#: scripts/tune.py with its slow imports done before the barrier
WORKER = BARRIER + textwrap.dedent(
    """
    import runpy
    import sb3_forager.training.sweep, sb3_forager.training.train
    folder, script = sys.argv[1], sys.argv[2]
    barrier(folder)
    sys.argv = [script, *sys.argv[3:]]
    runpy.run_path(script, run_name="__main__")
    """
)


def start_together(code: str, folder: Path, *args: str, n: int = 2) -> list[subprocess.Popen]:
    """Start ``code`` in ``n`` processes and let them all pass the barrier at the same moment."""
    folder.mkdir(parents=True, exist_ok=True)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(folder), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for _ in range(n)
    ]
    deadline = time.monotonic() + 120
    while len(list(folder.glob("ready_*"))) < n:
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            for p in procs:
                p.kill()
            raise AssertionError("the processes did not reach the barrier: " + procs[0].communicate()[1][-2000:])
        time.sleep(0.01)
    (folder / "go").touch()
    return procs


def at_the_same_moment(code: str, folder: Path, *args: str, n: int = 2) -> list[dict]:
    """The JSON line each of ``n`` processes prints after passing the barrier together."""
    out = []
    for proc in start_together(code, folder, *args, n=n):
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr[-3000:]
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


def test_create_study_race_with_plain_optuna(pg, tmp_path):
    """The problem: two workers calling ``optuna.create_study(load_if_exists=True)`` at the same
    moment on a fresh PostgreSQL database; one of them fails creating Optuna's tables."""
    failures = []
    for attempt in range(3):
        url = pg.create_database(f"raw_{attempt}")
        results = at_the_same_moment(RAW_CREATE, tmp_path / f"barrier_{attempt}", url)
        failures += [r["error"] for r in results if not r["ok"]]
        if failures:
            break
    if not failures:
        pytest.skip("the race did not show in 3 attempts (fixed in this Optuna version?)")
    assert any("already exists" in e or "duplicate key" in e or "UniqueViolation" in e for e in failures), failures


@pytest.mark.parametrize("kind", ["postgres", "sqlite", "journal"])
def test_open_study_survives_the_race(kind, request, tmp_path):
    """The fix: :func:`study.open_study` in three processes at the same moment on a fresh storage;
    all of them open the one study (PostgreSQL: by retrying the table creation)."""
    if kind == "postgres":
        storage = request.getfixturevalue("fresh_db")
    elif kind == "sqlite":
        storage = f"sqlite:///{tmp_path / 'race.db'}"
    else:
        storage = f"journal:{tmp_path / 'race.log'}"
    results = at_the_same_moment(OPEN_STUDY, tmp_path / "barrier", storage, n=3)
    assert all(r["ok"] for r in results), results
    assert len({r["study_id"] for r in results}) == 1
    assert sorted(r["trial"] for r in results) == [0, 1, 2]


DYING_WORKER = textwrap.dedent(
    """
    import os, sys
    import optuna
    from sb3_forager.training import study as tune_study
    tune_study.HEARTBEAT_INTERVAL, tune_study.HEARTBEAT_GRACE = 1, 1
    study = tune_study.open_study(tune_study.parse_storage(sys.argv[1], "."), "dead")

    def objective(trial):
        trial.suggest_float("x", 0.0, 1.0)
        os._exit(9)  # the worker dies in the middle of its trial (as under kill -9)

    study.optimize(objective, n_trials=1)
    """
)


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_the_trial_of_a_dead_worker_is_failed_and_run_again(tmp_path, monkeypatch):
    """RDB storages beat a heartbeat: a running trial whose worker died is failed after the grace
    period by the next worker, which runs it again with the same parameters."""
    storage = f"sqlite:///{tmp_path / 'dead.db'}"
    proc = subprocess.run([sys.executable, "-c", DYING_WORKER, storage], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 9, proc.stderr[-2000:]
    monkeypatch.setattr(tune_study, "HEARTBEAT_INTERVAL", 1)
    monkeypatch.setattr(tune_study, "HEARTBEAT_GRACE", 1)
    study = tune_study.open_study(tune_study.parse_storage(storage, "."), "dead")
    assert [t.state.name for t in study.trials] == ["RUNNING"]
    time.sleep(2.5)
    study.optimize(lambda trial: trial.suggest_float("x", 0.0, 1.0), n_trials=1)
    dead, retried = study.trials
    assert dead.state.name == "FAIL" and retried.state.name == "COMPLETE"
    assert retried.params == dead.params
    assert optuna.storages.RetryHeartbeatStaleTrialCallback.retried_trial_number(retried) == 0


def test_two_workers_share_one_postgres_study(fresh_db, tmp_path):
    """Two ``scripts/tune.py`` workers started at the same moment on one fresh PostgreSQL database
    (as on two machines) both finish, and the study holds both workers' trials."""
    logdir = tmp_path / "logs"
    args = tiny_args(tmp_path, logdir, "--n-trials", "2", "--storage", fresh_db, "--study-name", "shared")
    procs = start_together(WORKER, tmp_path / "barrier", str(SCRIPT), *args)
    outputs = [p.communicate(timeout=240) for p in procs]
    for proc, (_, stderr) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, stderr[-3000:]
        assert "Traceback" not in stderr
    mine = [
        {int(line.split()[1]) for line in stdout.splitlines() if line.startswith("trial ") and " complete: " in line}
        for stdout, _ in outputs
    ]
    assert len(mine[0]) == 2 and len(mine[1]) == 2 and not mine[0] & mine[1], [o for o, _ in outputs]
    assert mine[0] | mine[1] == {0, 1, 2, 3}
    study = optuna.load_study(study_name="shared", storage=fresh_db)
    assert sorted(t.number for t in study.trials) == [0, 1, 2, 3]
    assert all(t.state.name == "COMPLETE" for t in study.trials)
    assert "postgresql+psycopg://" in outputs[0][0] and "watch: optuna-dashboard postgresql+psycopg://" in outputs[0][0]
    for k in range(4):
        assert (logdir / "shared" / f"trial_{k}" / "model.zip").is_file()
    # trials.csv is rewritten by whichever worker finished last; the final writes hold all trials
    rows = read_csv(logdir / "shared" / "trials.csv")
    assert [r["number"] for r in rows] == ["0", "1", "2", "3"]
    resolve_config("forager", "ppo", config_file=logdir / "shared" / "best_hyperparameters.yml")


@pytest.mark.timeout(180)
def test_ctrl_c_stops_the_worker_and_keeps_the_study(tmp_path):
    logdir = tmp_path / "logs"
    args = tiny_args(tmp_path, logdir, "--n-trials", "50", "--study-name", "sig")
    args[args.index("--trial-timesteps") + 1] = "100000000"
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
    )
    tb = logdir / "sig" / "trial_0" / "tb_1"
    deadline = time.monotonic() + 90
    while not tb.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert tb.exists(), "the first trial did not start"
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=90)
    assert proc.returncode == 130, stderr[-3000:]
    assert "Traceback" not in stderr
    rows = read_csv(logdir / "sig" / "trials.csv")
    assert [(r["number"], r["state"]) for r in rows] == [("0", "FAIL")]
    assert (logdir / "sig" / "trial_0" / "model.zip").is_file()  # train() saved the model on Ctrl-C
    assert "start the same command again" in stdout
