"""RLlib's PPO on the single forager and on the cooperative pair (one policy shared by both foragers).

RLlib pins its own Gymnasium (1.2 for ray 2.60), so it goes in a virtual environment of its own:

    python3.11 -m venv .venv-rllib && . .venv-rllib/bin/activate
    pip install torch==2.13.0 && pip install -r scripts/requirements-rllib.txt
    python scripts/rllib_example.py --env forager --iterations 3
    python scripts/rllib_example.py --env coop --iterations 3

Each iteration prints the env steps sampled so far, the episodes finished and their mean return
(for the pair, the team's: both foragers' rewards added). A few iterations show that it trains,
not a finished policy (the SB3 commands reach the optimum on these envs; see the README).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any

ENVS = ("forager", "coop")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from sb3_forager.cli.common import CliParser, int_arg, positive_int

    p = CliParser(prog="rllib_example.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--env", choices=(*ENVS, "both"), default="both", help="which env to train (default: both)")
    p.add_argument("--iterations", type=positive_int, default=3, help="PPO iterations per env (default 3)")
    p.add_argument("--batch", type=int_arg(64, 1_000_000), default=2000, help="env steps per iteration (default 2000)")
    p.add_argument("--seed", type=int_arg(0, 2**31 - 1), default=0, help="RLlib's seed (default 0)")
    return p.parse_args(argv)


def forager_env(config: dict[str, Any]) -> Any:
    """``sb3_forager/Forager-v0`` (imported here: RLlib builds envs in its own workers too)."""
    import gymnasium as gym

    import sb3_forager  # noqa: F401  (registers the ids)

    return gym.make("sb3_forager/Forager-v0", **config)


def coop_env(config: dict[str, Any]) -> Any:
    """The tutorial's pair through RLlib's own PettingZoo wrapper."""
    from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv

    from sb3_forager import forager_coop_v0

    return ParallelPettingZooEnv(forager_coop_v0.parallel_env(**config))


def ppo_config(env: str, batch: int, seed: int) -> Any:
    """PPO on the new API stack, sampling in this process (on 2 cores, worker processes only add overhead)."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec
    from ray.tune.registry import register_env

    register_env(f"sb3_forager_{env}", forager_env if env == "forager" else coop_env)
    config = (
        PPOConfig()
        .environment(f"sb3_forager_{env}")
        .env_runners(num_env_runners=0)
        .training(train_batch_size_per_learner=batch, minibatch_size=min(256, batch), num_epochs=5, gamma=0.99, lr=3e-4)
        .debugging(seed=seed)
    )
    if env == "coop":  # parameter sharing: both foragers map to one module
        config = config.multi_agent(
            policies={"shared"}, policy_mapping_fn=lambda agent_id, *args, **kwargs: "shared"
        ).rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs={"shared": RLModuleSpec()}))
    return config


def train(env: str, iterations: int, batch: int, seed: int) -> list[float]:
    """Train PPO for ``iterations`` on ``env``; print and return each iteration's mean episode return."""
    algo = ppo_config(env, batch, seed).build_algo()
    means = []
    try:
        for i in range(1, iterations + 1):
            result = algo.train()
            runners = result.get("env_runners", {})
            mean = float(runners.get("episode_return_mean", float("nan")))
            means.append(mean)
            print(
                f"{env} | iteration {i} | env steps {int(result.get('num_env_steps_sampled_lifetime', 0)):,}"
                f" | episodes {int(runners.get('num_episodes', 0))} | mean return {mean:.1f}",
                flush=True,
            )
    finally:
        algo.stop()
    return means


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        import ray
    except ImportError:
        print("rllib_example.py: error: ray[rllib] is not installed (pip install -r scripts/requirements-rllib.txt)",
              file=sys.stderr)  # fmt: skip
        return 2
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    ray.init(num_cpus=os.cpu_count() or 1, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    try:
        for env in ENVS if args.env == "both" else (args.env,):
            train(env, args.iterations, args.batch, args.seed)
    finally:
        ray.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
