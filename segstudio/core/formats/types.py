"""Types every format module shares: the import options, what a scan finds, what
detection looks at, and the :class:`Format` record each format module registers.

Format modules import these (and the helpers in :mod:`.common`, :mod:`.output`,
:mod:`.sources`, :mod:`.labelmaps`, :mod:`.splitlists`), never each other; the
registry (:mod:`.registry`) is the only place that knows them all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .common import CancelFn, ProgressFn

if TYPE_CHECKING:  # annotations only: output imports the project, which is heavier
    from ..classes import ClassTable
    from ..project import Project
    from .output import ExportContext, ExportItem
    from .values import ValuePlan


@dataclass
class ImportOptions:
    mapping: Mapping[str, int] | None = None  # class name in the files -> project class id
    overwrite: bool = False  # replace human masks that differ
    unknown_to_ignore: bool = False  # unknown ids / names become the unlabelled value
    classes_json: Path | None = None  # the files' own class table (default: found in the folder)
    value_map: Mapping[int, int] | None = None  # value in the files -> project class id
    propose: bool = True  # a project with no labels yet takes a class table from the values
    classes: ClassTable | None = None  # the proposed ClassTable as the user renamed it
    # partial masks (answers to region proposals): their labelled pixels are merged into the
    # image's human mask, and an image without a full one becomes partially labelled
    partial: bool = False


@dataclass
class Candidate:
    file: str  # shown in the report
    keys: list[str]  # image paths it may belong to, best first
    # label map in project ids; raises SegStudioError (None only with ``error``: never loaded)
    load: Callable[[], np.ndarray | None]
    size: tuple[int, int] | None = None  # (height, width) the file declares
    error: str | None = None  # known to be unusable, and why
    note: str = ""  # said in the report even when imported (e.g. shapes left out)


@dataclass
class ScanResult:
    candidates: list[Candidate] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    plan: ValuePlan | None = None  # a values.ValuePlan when the files hold plain values
    adopt: ClassTable | None = None  # a ClassTable the project takes before the first mask
    stored_values: dict[int, int] | None = None  # {class id: value in the files}, with adopt


@dataclass(frozen=True)
class Probe:
    """What detection looks at: a folder (``head`` None) or one JSON file with the
    text of its first 64 KiB."""

    path: Path
    head: str | None = None


DetectFn = Callable[[Probe], bool]
ScanFn = Callable[[Path, "Project", ImportOptions], ScanResult]
ExportFn = Callable[["ExportContext", "list[ExportItem]", "ProgressFn | None",
                     "CancelFn | None"], None]


@dataclass(frozen=True)
class Format:
    """One mask format: how to recognise it, read it and write it.

    ``scan`` None: export only (``imports_as`` names the format that reads the files
    back, e.g. colour PNGs are read as label maps; with neither, the files are not
    masks at all, e.g. overlay pictures)."""

    name: str  # the CLI's --format and the manifest's "format"
    label: str  # the export dialog's list
    description: str  # the export dialog's help text
    export: ExportFn
    scan: ScanFn | None = None
    detect: DetectFn | None = None  # True when the probed folder / JSON file is this format
    import_label: str = ""  # the import dialog's list
    title: str = ""  # the format's name in messages ("COCO", "Pascal VOC")
    imports_as: str | None = None
    copies_images: bool = False  # the export can copy the images beside the masks
    named_classes: bool = False  # the files name their classes: --map keys are names
    plain_values: bool = False  # the files hold plain values (a class table may be proposed)
