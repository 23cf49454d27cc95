"""``python -m sb3_forager export`` (also ``sb3-forager-export``): write a trained PPO policy as an
ONNX file, for GAMA's ONNX plugin (``gaml/forager_onnx.gaml``) or any onnxruntime.

A thin CLI over :func:`sb3_forager.training.export.export_onnx`; see ``--help``.
"""

from __future__ import annotations

import argparse
import sys

from .common import CliParser, fail, setup_logging

PROG = "sb3-forager-export"

EPILOG = """\
RUN_OR_ZIP is a run folder (its model.zip) or a PPO model zip (a checkpoint is exported with its own
normalisation statistics, checkpoints/vecnormalize_<n>_steps.pkl). The file holds the policy's
deterministic action, exactly PPO.predict(obs, deterministic=True): input "obs" float32
[batch, 13] (single forager) or [batch, 15] (team), raw observations (a run trained with normalize
has its VecNormalize folded in); output "action" float32 [batch, 2] in [-1, 1]. Its metadata give the
observation layout, the env, the run's config, the package version and the training timestep.
RecurrentPPO policies cannot be exported. The file is written atomically.

Evaluate it like a zip: evaluate.py --onnx OUT.onnx. Run it in GAMA: gaml/forager_onnx.gaml.
Exit codes: 0 written, 2 bad input (nothing written).
"""


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    p = CliParser(
        prog=prog,
        description="Export a trained PPO policy (deterministic action) to ONNX.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", metavar="RUN_OR_ZIP", help="a run folder (logs/<run>) or a PPO model zip")
    p.add_argument("--onnx", required=True, metavar="OUT.onnx", help="the ONNX file to write (its folder must exist)")
    p.add_argument("--format", choices=("onnx",), default="onnx", help="the output format (only onnx)")
    return p


def main(argv: list[str] | None = None, prog: str = PROG) -> int:
    args = build_parser(prog).parse_args(argv)
    setup_logging()
    from ..training.export import export_onnx

    try:
        export_onnx(args.model, args.onnx)  # logs "exported <zip> ... to <out>"
    except (ValueError, OSError) as exc:
        return fail(prog, str(exc))
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
