"""Every mask format, one :class:`~.types.Format` record per format module.

Adding a format: write a module that builds its ``FORMAT`` (export, scan, detect)
from the shared types and helpers, and add it to :data:`FORMATS` below.  The CLI's
``--format`` choices, the import / export dialogs' lists, detection and the
import / export dispatch are all built from this list.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import camvid, coco, indexpng, labelme, ometiff, voc
from .common import FormatError, list_files
from .sources import annotation_files, read_head, read_manifests, what_json
from .types import Format, Probe

FORMATS: tuple[Format, ...] = (*indexpng.FORMATS, voc.FORMAT, camvid.FORMAT, coco.FORMAT,
                               labelme.FORMAT, ometiff.FORMAT)
BY_NAME: dict[str, Format] = {f.name: f for f in FORMATS}
assert len(BY_NAME) == len(FORMATS), "two formats share a name"

# the format that reads any folder of images (plain label maps); detection asks it last
FALLBACK = "index"

EXPORT_FORMATS: tuple[str, ...] = tuple(f.name for f in FORMATS)
IMPORT_FORMATS: tuple[str, ...] = tuple(f.name for f in FORMATS if f.scan is not None)


def get_format(name: str, *, importing: bool = False) -> Format:
    """The format called ``name``; FormatError naming the choices when there is none
    (or, with ``importing``, when it cannot be read back)."""
    names = IMPORT_FORMATS if importing else EXPORT_FORMATS
    fmt = BY_NAME.get(name)
    if fmt is None or name not in names:
        what = "import" if importing else "export"
        choices = ("auto, " if importing else "") + ", ".join(names)
        raise FormatError(f"unknown {what} format {name!r}; use one of {choices}")
    return fmt


def _file_titles(joiner: str = " or ") -> str:
    """The formats read from JSON files ("COCO or labelme")."""
    return joiner.join(f.title for f in FORMATS if f.scan is not None and f.named_classes)


def detect_format(source: str | os.PathLike[str]) -> str:
    """The import format of a file or folder (a name in :data:`IMPORT_FORMATS`)."""
    src = Path(source)
    specific = [f for f in FORMATS if f.detect is not None and f.name != FALLBACK]
    if src.is_file():
        head = read_head(src) if src.suffix.lower() == ".json" else None
        if head is not None:
            for fmt in specific:
                if fmt.detect is not None and fmt.detect(Probe(src, head)):
                    return fmt.name
        raise FormatError(f"{src}: not a {_file_titles()} JSON file (it {what_json(src)}); "
                          "give a folder of label maps or a JSON annotation file")
    if not src.is_dir():
        raise FormatError(f"{src}: no such file or folder")
    manifests = read_manifests(src)
    if len(manifests) == 1 and next(iter(manifests)) in BY_NAME:
        fmt = BY_NAME[next(iter(manifests))]
        if fmt.scan is not None:
            return fmt.name
        if fmt.imports_as is not None:
            return fmt.imports_as
        raise FormatError(f"{src}: holds {fmt.title}s, not masks; import the index, colour "
                          "or another mask export instead")
    folder = Probe(src)
    for fmt in specific:
        if fmt.detect is not None and fmt.detect(folder):
            return fmt.name
    jsons = annotation_files(src)
    for rel in jsons:
        probe = Probe(src / rel, read_head(src / rel) or "")
        for fmt in specific:
            if fmt.detect is not None and fmt.detect(probe):
                return fmt.name
    fallback = BY_NAME[FALLBACK]
    if fallback.detect is None or fallback.detect(folder):
        return fallback.name
    raise FormatError(f"{src}: no masks found: " + _found(src, jsons) + "; give a folder of "
                      "label-map images, a " + ", ".join(
                          f.title for f in FORMATS if f.scan is not None and f.detect is not None
                          and f.name != FALLBACK) + " export, or a JSON annotation file")


def _found(src: Path, jsons: list[str]) -> str:
    """What a folder that no format reads holds."""
    found = []
    if jsons:
        found.append(f"{len(jsons)} JSON file{'s' * (len(jsons) != 1)} that "
                     f"{'is' if len(jsons) == 1 else 'are'} neither {_file_titles(' nor ')} ("
                     + "; ".join(f"{r} {what_json(src / r)}" for r in jsons[:3])
                     + ("; ..." if len(jsons) > 3 else "") + ")")
    others = [r for r in list_files(src, ("",)) if not r.lower().endswith(".json")]
    if others:
        exts = sorted({Path(r).suffix.lower() or "(no extension)" for r in others})
        found.append(f"{len(others)} other file{'s' * (len(others) != 1)} (" + ", ".join(exts)
                     + ")")
    return "; ".join(found) or "the folder is empty"
