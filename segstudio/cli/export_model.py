"""segstudio export-model CKPT --format torchscript|onnx --out FILE"""

from __future__ import annotations

import argparse

from ..core.bounded import check_output
from ..core.errors import SegStudioError
from .common import Subparsers, add_common
from .progress import Progress

HELP = "export a checkpoint's model to TorchScript or ONNX (metadata in FILE.json)"


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("export-model", help=HELP, description=HELP + ". The exported model takes "
                       "float32 NCHW input normalised as (pixel/255 - mean)/std and returns "
                       "logits; FILE.json holds the class table, channel ids and normalisation.")
    p.add_argument("checkpoint", metavar="CKPT")
    p.add_argument("--format", required=True, choices=("torchscript", "onnx"))
    p.add_argument("--out", required=True, metavar="FILE")
    p.add_argument("--no-check", action="store_true",
                   help="skip comparing the exported model's output with PyTorch's")
    add_common(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..nn.export import export_model

    for out in (args.out, args.out + ".json"):  # refused now, not after the export
        check_output(out, "--out")
    with Progress(f"exporting {args.format}", 3) as bar:
        meta = export_model(args.checkpoint, args.format, args.out, check=not args.no_check,
                            progress=bar)
    check = meta.get("check")
    print(f"wrote {args.out} and {args.out}.json ({args.format})")
    if check:
        where = check.get("runtime", "torch.jit.load")
        print(f"check with {where} on input {check['input']}: max |difference| "
              f"{check['max_abs_diff']:.2e} (tolerance {check['tolerance']:.1e})")
        if not check["ok"]:
            raise SegStudioError(f"{args.out}: the exported model's output differs from "
                                 f"PyTorch's by {check['max_abs_diff']:.2e}")
    return 0
