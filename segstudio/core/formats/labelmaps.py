"""Folders of label-map images (index, grayscale or colour-coded PNGs) as import
candidates: the scan every plain-value layout shares (the index folder, VOC's
SegmentationClass/, CamVid's *annot/ folders).

With the files' own ``classes.json`` their ids map to the project's by name;
without one, the values of every file are counted first and a
:class:`~.values.ValuePlan` says which class each value becomes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from .. import maskio
from ..classes import ClassTable
from ..errors import MaskError
from ..project import Project
from ..scan import walk_images
from .common import FormatError, file_values, load_file_table, table_lut
from .sources import manifest_images
from .types import Candidate, ImportOptions, ScanResult
from .values import (
    IGNORE_ID,
    VALUES_SETTING,
    ValuePlan,
    count_values,
    describe,
    has_no_labels,
    iter_stored,
    plan_values,
    read_values,
)


def scan_folder(masks_dir: Path, project: Project, opts: ImportOptions,
                files: list[str] | None = None, keys: Callable[[str], list[str]] | None = None,
                void: int | None = None) -> ScanResult:
    """Candidates for the label maps under ``masks_dir`` (or the listed ones).

    With the files' own ``classes.json`` their ids are mapped to the project's by
    name; without one, the values of every file are counted first and a
    :class:`ValuePlan` says which class each value becomes (see
    :mod:`.values`).  ``void``: a value the layout reserves for "unlabelled"
    (VOC's 255 border)."""
    if files is None:
        files = [f.relpath for f in walk_images(masks_dir)]
    table_path = opts.classes_json or masks_dir / "classes.json"
    file_table = load_file_table(table_path)
    exported = manifest_images(masks_dir)

    def names_of(rel: str) -> list[str]:
        names = keys(rel) if keys else [rel]
        if rel in exported:  # a segstudio export names the image each file came from
            names.insert(0, exported[rel])
        return names

    if file_table is not None:
        return _scan_with_table(masks_dir, project, opts, files, names_of, file_table,
                                table_path)
    return _scan_by_value(masks_dir, project, opts, files, names_of, void)


def _scan_with_table(masks_dir: Path, project: Project, opts: ImportOptions, files: list[str],
                     names_of: Callable[[str], list[str]], file_table: ClassTable,
                     table_path: Path) -> ScanResult:
    if opts.value_map:
        v = next(iter(opts.value_map))
        raise FormatError(f"--map {v}={opts.value_map[v]}: {table_path} names the classes of "
                          "these files; map them by name (--map NAME=ID)")
    table = project.classes
    back = file_values(table_path)  # an index export that gave imported masks their values
    result = ScanResult()
    if opts.propose and not opts.mapping and has_no_labels(project):
        # a project with no labels yet takes the files' own class table
        table = file_table
        result.adopt = file_table
        if back is not None:
            result.stored_values = {int(back[v]): int(v) for v in np.flatnonzero(back >= 0)
                                    if int(back[v]) != int(v)}
        result.notes.append(f"the project had no labels yet: took the class table of "
                            f"{table_path}")
    lut = table_lut(file_table, table, opts.mapping, opts.unknown_to_ignore, str(table_path))
    palette, known = file_table.palette(), file_table.known_lut()
    for rel in files:
        path = masks_dir / rel

        def load(path: Path = path) -> np.ndarray:
            ids: np.ndarray
            if back is None:
                ids = lut[maskio.read_mask(path, palette, known)]
                return ids
            values = read_values(path)
            if values is None:
                ids = lut[maskio.read_mask(path, palette, known)]
                return ids
            ids = back[values]
            if (ids < 0).any():
                bad = sorted(count_values(values[ids < 0]))
                raise MaskError(f"{path}: holds values {describe(bad)} that {table_path} "
                                "does not list")
            mapped: np.ndarray = lut[ids.astype(np.uint8)]
            return mapped

        result.candidates.append(Candidate(str(path), names_of(rel), load))
    result.notes.append(f"class ids mapped by name from {table_path}")
    return result


def _scan_by_value(masks_dir: Path, project: Project, opts: ImportOptions, files: list[str],
                   names_of: Callable[[str], list[str]], void: int | None) -> ScanResult:
    table = project.classes
    if opts.mapping:
        name = next(iter(opts.mapping))
        raise FormatError(f"--map {name}={opts.mapping[name]}: the masks in {masks_dir} hold "
                          "plain values, not class names; map a value instead (--map VALUE=ID)")
    result = ScanResult()
    counts: dict[int, int] = {}
    readable = []
    for rel in files:
        path = masks_dir / rel
        try:
            values = read_values(path)
        except MaskError as exc:
            result.candidates.append(Candidate(str(path), names_of(rel), lambda: None,
                                               error=_short(exc, path)))
            continue
        if values is None:  # colour-coded: the project's class colours say the ids
            def load_colours(path: Path = path) -> np.ndarray:
                return maskio.read_mask(path, table.palette(), table.known_lut())

            result.candidates.append(Candidate(str(path), names_of(rel), load_colours))
            continue
        for v, n in count_values(values).items():
            counts[v] = counts.get(v, 0) + n
        readable.append((rel, path))
    if not counts:
        return result
    propose = opts.propose and has_no_labels(project)
    recorded = None if propose else iter_stored(project.settings.get(VALUES_SETTING))
    if opts.partial and void is None:  # partial masks: 255 is what they leave unlabelled
        void = IGNORE_ID
    plan = plan_values(counts, table, propose, opts.value_map, opts.unknown_to_ignore,
                       str(masks_dir), void, recorded)
    if plan.proposed and opts.classes is not None:
        if sorted(opts.classes.ids) != sorted(plan.table.ids):
            raise FormatError("the class table given for the import does not have the ids the "
                              f"values were given ({', '.join(map(str, plan.table.ids))})")
        plan = ValuePlan(plan.counts, plan.mapping, opts.classes, True, plan.chosen)
    lut = plan.lut()
    for rel, path in readable:
        def load(path: Path = path) -> np.ndarray:
            values = read_values(path)
            if values is None:
                raise MaskError(f"{path}: changed into a colour image during the import")
            ids: np.ndarray = lut[values]
            if (ids < 0).any():
                bad = sorted(count_values(values[ids < 0]))
                raise MaskError(f"{path}: holds values {describe(bad)} that were not there when "
                                "the import started; import again")
            return ids.astype(np.uint8)

        result.candidates.append(Candidate(str(path), names_of(rel), load))
    result.plan = plan
    return result


def _short(exc: Exception, path: Path) -> str:
    msg, prefix = str(exc), f"{path}: "
    return msg[len(prefix):] if msg.startswith(prefix) else msg
