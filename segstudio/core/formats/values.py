"""Label maps read by value: what values the files hold, and which class each becomes.

Masks as users have them hold values, not necessarily the project's class ids:
a binary mask holds 0 and 255, a 16-bit mask may hold 0, 1000 and 2000.  An
import first counts the values of every file (:func:`count_values`), then
makes a :class:`ValuePlan`:

* a project with no labels yet (no human mask, no prediction and the default
  class table) gets a class table proposed from the values: each value its own
  class, named for the value ("value 0", "value 255") in a colour that shows on
  any image, none marked background (which value is the object is the user's
  call).  Values 0..254 keep their number as class id; when any value is 255
  or more, the values are numbered 0, 1, 2 ... in order (so {0, 255} gives 0
  and 1).  The ignore class *unlabelled* takes id 255 unless a value needs it.
* a project with labels keeps its table.  When its masks came from plain
  values before (the project setting ``mask_values``, {class id: value}), a
  later import reads values the same way (255 is *foreground* again, as the
  first import made it: :func:`recorded_values`); otherwise values that are
  class ids stay.  Values it lacks stop the import (:class:`UnknownValuesError`,
  listing each value with its pixel count) unless mapped (``--map VALUE=ID``)
  or sent to the unlabelled value (``--unknown-to-ignore``); so does a value
  that would become the unlabelled class by itself (:class:`UnlabelledValuesError`):
  255 when the table's unlabelled id is 255 (binary masks' objects), or any value
  the recorded values make unlabelled.  A table's own ignore id in the masks (CamVid's
  11) and the layout's void value (VOC's 255 border) stay unlabelled.

Explicit ``VALUE=ID`` mappings win over both; a value that no file holds is an
error naming it.  No value that occurs in the masks ever becomes unlabelled
unless the user chose that.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..classes import DISTINCT_COLORS, ClassInfo, ClassTable, default_classes
from ..errors import MaskError
from ..maskio import open_label_image
from .common import FormatError

if TYPE_CHECKING:
    from ..project import Project

MAX_VALUE = 65535
IGNORE_ID = 255
VALUES_SETTING = "mask_values"  # project setting: {class id: value in the imported files}


class UnknownValuesError(FormatError):
    """The masks hold values the project's class table lacks (``counts``: value -> pixels)."""

    def __init__(self, counts: Mapping[int, int], source: str):
        self.counts = dict(sorted(counts.items()))
        shown = ", ".join(f"{v} ({n:,} pixels)" for v, n in list(self.counts.items())[:12])
        more = f" and {len(self.counts) - 12} more" if len(self.counts) > 12 else ""
        example = next(iter(self.counts))
        super().__init__(
            f"{source}: the masks hold values the class table lacks: {shown}{more}; nothing was "
            f"imported. Map each to a class (--map {example}=ID), add the classes first, or "
            "pass --unknown-to-ignore to make them unlabelled")


class UnlabelledValuesError(UnknownValuesError):
    """Values of the masks would become the unlabelled class without the user saying so."""

    def __init__(self, counts: Mapping[int, int], source: str, table: ClassTable):
        super().__init__(counts, source)
        ign = table.ignore_index
        info = table.by_id(ign) if ign is not None else None
        name = f"class {ign} {info.name}" if info is not None else "unlabelled"
        shown = ", ".join(f"{v} ({n:,} pixels)" for v, n in list(self.counts.items())[:12])
        example = next(iter(self.counts))
        self.args = (
            f"{source}: values {shown} would become {name}, which training ignores; nothing "
            f"was imported. Map each to a class (--map {example}=ID), or pass "
            f"--unknown-to-ignore (or --map {example}={ign}) to keep them unlabelled",)


def read_values(path: str | os.PathLike[str]) -> np.ndarray | None:
    """The raw values of a label map: 2-D uint8 or uint16; None for a colour-coded
    RGB map (its colours are looked up in a class table instead)."""
    path = Path(path)
    with open_label_image(path, "re-export") as im:
        mode = im.mode
        if mode in ("P", "L"):
            return np.array(im, dtype=np.uint8)
        if mode == "1":
            return np.array(im.convert("L"), dtype=np.uint8) // 255
        if mode in ("I", "I;16", "I;16L", "I;16B", "I;16N"):
            arr = np.asarray(im)
            if arr.size and (int(arr.min()) < 0 or int(arr.max()) > MAX_VALUE):
                raise MaskError(f"{path}: holds value {int(arr.max())}; mask values must be "
                                f"0..{MAX_VALUE}")
            return arr.astype(np.uint16)
        if mode in ("LA", "PA"):
            return np.array(im.getchannel(0), dtype=np.uint8)
        if mode in ("RGB", "RGBA"):
            rgb = np.asarray(im)[..., :3]
            if np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1],
                                                                          rgb[..., 2]):
                return np.ascontiguousarray(rgb[..., 0])
            return None
    raise MaskError(f"{path}: unsupported mask mode {mode}; save it as an 8- or 16-bit PNG")


def count_values(values: np.ndarray) -> dict[int, int]:
    hist = np.bincount(values.ravel(), minlength=1)
    return {int(v): int(hist[v]) for v in np.flatnonzero(hist)}


def has_no_labels(project: Project) -> bool:
    """True for a project nobody has labelled yet: default classes, no mask, no prediction."""
    # the background tick is the editor's (kept beside the table)
    def shape(table: ClassTable) -> list[tuple[int, str, tuple[int, ...], bool]]:
        return [(c.id, c.name, c.color, c.ignore) for c in table.classes]

    if shape(project.classes) != shape(default_classes()):
        return False
    counts = project.status_counts()
    return not any(counts[s] for s in ("predicted", "partial", "corrected", "reviewed"))


@dataclass
class ValuePlan:
    """How the values of the files become class ids."""

    counts: dict[int, int]  # value -> pixels, over every file
    mapping: dict[int, int]  # value -> project class id
    table: ClassTable  # the class table the ids belong to
    proposed: bool = False  # ``table`` is a new table proposed from the values
    chosen: dict[int, int] = field(default_factory=dict)  # the user's VALUE=ID entries
    recorded: dict[int, int] = field(default_factory=dict)  # value -> id of an earlier import

    def lut(self) -> np.ndarray:
        """Value -> id for every value 0..65535; -1 where the plan has no entry."""
        lut = np.full(MAX_VALUE + 1, -1, np.int32)
        for v, cid in self.mapping.items():
            lut[v] = cid
        return lut

    def lines(self) -> list[str]:
        """One line per value: what it became and how many pixels it has."""
        out = []
        for v, n in sorted(self.counts.items()):
            cid = self.mapping[v]
            info = self.table.by_id(cid)
            name = info.name if info is not None else "?"
            why = " (your --map)" if v in self.chosen else \
                " (as the project's earlier import)" if self.recorded.get(v) == cid != v else ""
            out.append(f"value {v} ({n:,} pixels) -> class {cid} {name}{why}")
        return out

    def stored_values(self) -> dict[int, int]:
        """{class id: value} where they differ, for an export to give the values back."""
        back: dict[int, int] = {}
        for v, cid in sorted(self.mapping.items()):
            back.setdefault(cid, v)
        return {c: v for c, v in back.items() if c != v}


def _proposed_table(counts: Mapping[int, int], chosen: Mapping[int, int],
                    void: int | None) -> tuple[ClassTable, dict[int, int]]:
    values = sorted(counts)
    free_values = [v for v in values if v not in chosen and v != void]
    mapping: dict[int, int] = {v: int(c) for v, c in chosen.items()}
    if void is not None and void in counts and void not in chosen:
        mapping[void] = IGNORE_ID
    taken = set(mapping.values())
    if all(v < IGNORE_ID for v in free_values) and not taken & set(free_values):
        mapping.update({v: v for v in free_values})
    else:
        ids = (i for i in range(IGNORE_ID) if i not in taken)
        for v in free_values:
            try:
                mapping[v] = next(ids)
            except StopIteration:
                raise FormatError(
                    f"the masks hold {len(values)} different values; a class table has at most "
                    f"{IGNORE_ID} classes besides unlabelled") from None
    # each class is named for its value and none is background: which value is the object
    # is the user's call (0 is the membrane in EM masks), and a saturated colour of its
    # own shows on any image (a black "background" hid the membranes entirely)
    names: dict[int, str] = {}
    for v in values:
        cid = mapping[v]
        if cid not in names:
            names[cid] = "unlabelled" if cid == IGNORE_ID else f"value {v}"
    classes = []
    for i, cid in enumerate(sorted(names)):
        if cid == IGNORE_ID:
            continue
        classes.append(ClassInfo(cid, names[cid], DISTINCT_COLORS[i % len(DISTINCT_COLORS)]))
    if not classes:
        raise FormatError("every value of the masks is mapped to unlabelled; map at least one "
                          "to a class")
    classes.append(ClassInfo(IGNORE_ID, "unlabelled", (224, 224, 192), ignore=True))
    return ClassTable(tuple(classes), name="from mask values"), mapping


def plan_values(counts: Mapping[int, int], table: ClassTable, propose: bool,
                chosen: Mapping[int, int] | None = None, unknown_to_ignore: bool = False,
                source: str = "masks", void: int | None = None,
                recorded: Mapping[int, int] | None = None) -> ValuePlan:
    """The value plan for files holding ``counts``; raises UnknownValuesError or FormatError.

    ``recorded``: the project's ``mask_values`` ({class id: value}) of an earlier import
    of plain values: values are read back the way that import read them."""
    chosen = {int(v): int(c) for v, c in (chosen or {}).items()}
    absent = sorted(v for v in chosen if v not in counts)
    if absent:
        raise FormatError(f"--map {absent[0]}={chosen[absent[0]]}: no mask in {source} holds "
                          f"the value {absent[0]} (values present: "
                          f"{', '.join(map(str, sorted(counts)[:20]))})")
    for v, cid in chosen.items():
        if not 0 <= cid <= 255:
            raise FormatError(f"--map {v}={cid}: class ids are 0..255")
    counts = dict(counts)
    if propose:
        new, mapping = _proposed_table(counts, chosen, void)
        return ValuePlan(counts, mapping, new, proposed=True, chosen=chosen)
    known = table.known_lut()
    for v, cid in chosen.items():
        if not known[cid]:
            raise FormatError(f"--map {v}={cid}: {cid} is not a class id of the project "
                              f"(ids: {', '.join(map(str, table.ids))})")
    by_value = recorded_values(table, recorded)
    mapping = dict(chosen)
    unknown, unlabelled = {}, {}
    ignore = table.ignore_index
    for v, n in counts.items():
        if v in mapping:
            continue
        if v == void:  # the layout's own "unlabelled" (VOC's border)
            mapping[v] = table.unlabelled_value()
        elif by_value is not None and v in by_value:
            mapping[v] = by_value[v]
        elif by_value is None and v <= 255 and known[v]:
            mapping[v] = v
        elif unknown_to_ignore:
            mapping[v] = table.unlabelled_value()
        else:
            unknown[v] = n
        # 255 is the value binary masks give their objects (or an earlier import recorded
        # its values): that it would be the ignore class is no reason to ignore it
        implicit = by_value is not None or v == IGNORE_ID
        if mapping.get(v) == ignore and implicit and v != void and not unknown_to_ignore:
            unlabelled[v] = n
    if unknown:
        raise UnknownValuesError(unknown, source)
    if unlabelled:
        raise UnlabelledValuesError(unlabelled, source, table)
    return ValuePlan(counts, mapping, table, chosen=chosen, recorded=by_value or {})


def recorded_values(table: ClassTable, recorded: Mapping[int, int] | None
                    ) -> dict[int, int] | None:
    """Value -> class id as an index export writes the project's masks (the inverse of
    :func:`export_values`); None when the project recorded no values."""
    values = export_values(table, recorded)
    if values is None:
        return None
    return {int(values[c]): c for c in table.ids}


def rename(plan: ValuePlan, names: Mapping[int, str]) -> ValuePlan:
    """The plan with some of its proposed classes renamed ({class id: new name})."""
    classes = []
    for c in plan.table.classes:
        new = str(names.get(c.id, c.name)).strip() or c.name
        classes.append(ClassInfo(c.id, new, c.color, c.ignore))
    table = ClassTable(tuple(classes), plan.table.name, plan.table.weights)
    return ValuePlan(plan.counts, plan.mapping, table, plan.proposed, plan.chosen,
                     plan.recorded)


def export_values(table: ClassTable, stored: Mapping[int, int] | None) -> np.ndarray | None:
    """Class id -> value to write, giving imported masks their own values back; None when
    every id is written as itself.  Ids without a stored value keep their number when
    free, else take the smallest free value (the export's classes.json says which)."""
    stored = {int(c): int(v) for c, v in (stored or {}).items() if table.by_id(int(c))}
    if not stored:
        return None
    out = np.arange(256, dtype=np.int64)
    used = set(stored.values())
    clash = []
    for c in table.ids:
        if c in stored:
            out[c] = stored[c]
        elif c in used:
            clash.append(c)
        else:
            used.add(c)
    spare = (v for v in range(MAX_VALUE + 1) if v not in used)
    for c in clash:
        out[c] = next(spare)
    return out


def iter_stored(raw: object) -> dict[int, int]:
    """A project setting / classes.json entry {"id": value} as ints (bad entries dropped)."""
    out: dict[int, int] = {}
    if isinstance(raw, dict):
        for k, v in raw.items():
            try:
                out[int(k)] = int(v)
            except (TypeError, ValueError):
                continue
    return out


def describe(values: Iterable[int]) -> str:
    vals = sorted(values)
    return "{" + ", ".join(map(str, vals[:12])) + (", ..." if len(vals) > 12 else "") + "}"
