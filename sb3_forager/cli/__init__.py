"""The command-line interface: ``python -m sb3_forager <command>`` (and the ``sb3-forager-*``
console scripts, and the thin ``scripts/*.py`` shims). One module per command (``bench``:
:mod:`sb3_forager.benchmarks`), each with ``main(argv, prog) -> int``; add a command with one row below."""

from __future__ import annotations

#: command -> (module, summary)
COMMANDS: dict[str, tuple[str, str]] = {
    "train": ("sb3_forager.cli.train", "train a policy (PPO / RecurrentPPO) and write logs/<run>/"),
    "evaluate": ("sb3_forager.cli.evaluate", "evaluate a saved policy on a scenario, beside baselines"),
    "tune": ("sb3_forager.cli.tune", "Optuna hyperparameter sweep (one machine or many)"),
    "check-fidelity": ("sb3_forager.cli.check_fidelity", "compare a GAMA server's models with the embedded simulation"),
    "export": ("sb3_forager.cli.export", "export a trained PPO policy to ONNX (for GAMA's ONNX plugin)"),
    "bench": ("sb3_forager.benchmarks", "speed benchmarks (env, gama, train)"),
    "check-gaml": ("sb3_forager.cli.check_gaml", "check GAML files without GAMA (default: the shipped ones and their contract)"),
}
