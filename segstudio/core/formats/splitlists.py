"""The split lists of the VOC and CamVid layouts: names per split, and names that
a list of one entry a line (or CamVid's blank-separated pairs) cannot hold."""

from __future__ import annotations

from typing import Any

from .output import ExportItem, ExportReport


def escape_unlistable(names: dict[str, str], bad_chars: str, report: ExportReport
                      ) -> dict[str, str]:
    """The split lists hold one name a line (CamVid: two names split by a blank), so a
    name with a line break (or, for CamVid, a blank) would be read back wrong: such
    names are percent-escaped (``%0A``, ``%20``; ``%`` itself as ``%25``) in the file
    names and the lists, and the report says so.  The manifest still names each image."""
    out = {}
    changed = []
    for rel, name in names.items():
        if any(ch in name for ch in bad_chars):
            esc = name.replace("%", "%25")
            for ch in bad_chars:
                esc = esc.replace(ch, f"%{ord(ch):02X}")
            out[rel] = esc
            changed.append(rel)
        else:
            out[rel] = name
    if changed:
        shown = ", ".join(repr(c) for c in changed[:5]) + (f" and {len(changed) - 5} more"
                                                           if len(changed) > 5 else "")
        report.notes.append(f"{len(changed)} image names hold characters the split lists "
                            f"cannot: written percent-escaped (%0A line break, %20 blank): "
                            f"{shown}")
    return out


def split_lists(items: list[ExportItem], names: dict[str, str], results: list[Any]) -> tuple[
        dict[str, list[str]], int]:
    """Names per split (train/val/test) and how many images had no split."""
    out: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    unsplit = 0
    for item, res in zip(items, results, strict=True):
        if res is None:
            continue
        split = item.rec.split
        if split not in out:
            split = "train"
            unsplit += 1
        out[split].append(names[item.rec.relpath])
    return out, unsplit
