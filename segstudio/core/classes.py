"""Class tables: ids, names, RGB colours and the ignore (unlabelled) class.

A mask pixel holds a class id 0..255.  At most one class is the *ignore*
class: it marks unlabelled pixels, is distinct from any background class, and
is left out of the training loss and of every metric.

The JSON form is the one of ``shared/datasets/camvid/classes.json``::

    {"name": "...", "ignore_index": 11,
     "classes": [{"id": 0, "name": "Sky", "color": [128, 128, 128]}, ...]}

Optional keys are kept: ``median_frequency_weights`` (one per trained class,
in id order), a per-class ``"ignore": true`` and a per-class
``"background": true``.

A table read from a file (:meth:`ClassTable.load_json`) is checked as a
hostile file would be: at most 16 MiB of regular file, no deep nesting, an
``ignore_index`` that is an id, class weights that are finite and not negative,
names without control characters (a newline would split ``classes.txt``, an
ESC would drive the terminal).  A table without an ignore class gets
*unlabelled* at 255; one that has a trainable class at 255 instead is refused,
since the pixels of empty masks (255) would silently be trained.

*Background* classes are the ones the editor's "preserve other classes"
switch may paint over (besides unlabelled pixels).  The user marks them; no
id is background by position.  A class cannot be both background and ignore.
"""

from __future__ import annotations

import json
import math
import os
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import atomic_write_text
from .bounded import TABLE_LIMIT, UnsafeFileError, read_text
from .errors import ClassTableError

Color = tuple[int, int, int]


# the project setting that holds the ids the user marked background (the class panel's BG)
BACKGROUND_SETTING = "classes.background"


@dataclass(frozen=True)
class ClassInfo:
    id: int
    name: str
    color: Color
    ignore: bool = False
    background: bool = False


# Colours that stay distinct from each other and readable over photographs.
DISTINCT_COLORS: list[Color] = [
    (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
    (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212),
    (0, 128, 128), (220, 190, 255), (170, 110, 40), (255, 250, 200), (128, 0, 0),
    (170, 255, 195), (128, 128, 0), (255, 215, 180), (0, 0, 128), (128, 128, 128),
]

DEFAULT_IGNORE_ID = 255


@dataclass(frozen=True)
class ClassTable:
    classes: tuple[ClassInfo, ...]
    name: str = ""
    weights: tuple[float, ...] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        ids = [c.id for c in self.classes]
        if len(set(ids)) != len(ids):
            dup = sorted({i for i in ids if ids.count(i) > 1})
            raise ClassTableError(f"class ids must be unique; repeated: {dup}")
        for c in self.classes:
            if not 0 <= c.id <= 255:
                raise ClassTableError(f"class id {c.id} ({c.name!r}) is outside 0..255")
            if not c.name.strip():
                raise ClassTableError(f"class id {c.id} has an empty name")
            bad = [ch for ch in c.name if unicodedata.category(ch) == "Cc"]
            if bad:
                raise ClassTableError(f"class id {c.id}: its name {c.name!r} holds the control "
                                      f"character {bad[0]!r}; give a name without one")
            if len(c.color) != 3 or any(not 0 <= int(v) <= 255 for v in c.color):
                raise ClassTableError(f"class {c.name!r}: colour {c.color} is not RGB 0..255")
        for c in self.classes:
            if c.ignore and c.background:
                raise ClassTableError(f"class {c.name!r} cannot be both unlabelled and background")
        if sum(c.ignore for c in self.classes) > 1:
            raise ClassTableError("only one class can be the ignore (unlabelled) class")
        if not self.trainable:
            raise ClassTableError("the class table needs at least one class that is not ignored")

    # -- queries ---------------------------------------------------------
    @property
    def ignore_index(self) -> int | None:
        for c in self.classes:
            if c.ignore:
                return c.id
        return None

    @property
    def background_ids(self) -> list[int]:
        """Ids of the classes marked background, in table order."""
        return [c.id for c in self.classes if c.background]

    @property
    def trainable(self) -> list[ClassInfo]:
        """Classes the model predicts, in id order (ignore class excluded)."""
        return sorted((c for c in self.classes if not c.ignore), key=lambda c: c.id)

    @property
    def num_trainable(self) -> int:
        return len(self.trainable)

    @property
    def ids(self) -> list[int]:
        return [c.id for c in self.classes]

    def by_id(self, class_id: int) -> ClassInfo | None:
        for c in self.classes:
            if c.id == class_id:
                return c
        return None

    def by_name(self, name: str) -> ClassInfo | None:
        key = name.strip().casefold()
        for c in self.classes:
            if c.name.strip().casefold() == key:
                return c
        return None

    def known_lut(self) -> np.ndarray:
        """256 booleans: True where the id is a class of this table."""
        lut = np.zeros(256, dtype=bool)
        lut[self.ids] = True
        return lut

    def palette(self) -> np.ndarray:
        """(256, 3) uint8 colours indexed by class id; unknown ids are black."""
        pal = np.zeros((256, 3), dtype=np.uint8)
        for c in self.classes:
            pal[c.id] = c.color
        return pal

    def unlabelled_value(self) -> int:
        """The id an empty mask is filled with."""
        ign = self.ignore_index
        return DEFAULT_IGNORE_ID if ign is None else ign

    def train_lut(self, ignore_value: int = 255) -> np.ndarray:
        """256-entry map from class id to model channel (ignore/unknown -> ignore_value)."""
        lut = np.full(256, ignore_value, dtype=np.int64)
        for channel, c in enumerate(self.trainable):
            lut[c.id] = channel
        return lut

    def channel_ids(self) -> np.ndarray:
        """Model channel -> class id."""
        return np.array([c.id for c in self.trainable], dtype=np.uint8)

    def signature(self) -> list[tuple[int, str]]:
        """What a checkpoint must agree with: the trained classes by id and name."""
        return [(c.id, c.name) for c in self.trainable]

    # -- edits (return new tables) ------------------------------------------
    def with_class(self, info: ClassInfo) -> ClassTable:
        rest = [c for c in self.classes if c.id != info.id]
        if info.ignore:
            rest = [replace(c, ignore=False) for c in rest]
        return replace(self, classes=tuple(rest + [info]))

    def with_background(self, ids: Iterable[int]) -> ClassTable:
        """The table with exactly ``ids`` marked background (the ignore class and ids
        that are not in the table are left out)."""
        keep = {int(i) for i in ids}
        classes = tuple(replace(c, background=c.id in keep and not c.ignore)
                        for c in self.classes)
        return replace(self, classes=classes)

    def without(self, class_id: int) -> ClassTable:
        return replace(self, classes=tuple(c for c in self.classes if c.id != class_id))

    def reordered(self, ids: Iterable[int]) -> ClassTable:
        order = list(ids)
        by = {c.id: c for c in self.classes}
        if sorted(order) != sorted(by):
            raise ClassTableError("a new order must list every class exactly once")
        return replace(self, classes=tuple(by[i] for i in order))

    def next_free_id(self) -> int:
        used = set(self.ids)
        for i in range(256):
            if i not in used:
                return i
        raise ClassTableError("all 256 class ids are in use")

    def next_color(self) -> Color:
        used = {c.color for c in self.classes}
        for col in DISTINCT_COLORS:
            if col not in used:
                return col
        rng = np.random.default_rng(len(self.classes))
        return tuple(int(v) for v in rng.integers(40, 256, 3))  # type: ignore[return-value]

    # -- JSON ----------------------------------------------------------------
    def to_json_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "ignore_index": self.ignore_index,
            "classes": [
                {"id": c.id, "name": c.name, "color": list(c.color),
                 **({"background": True} if c.background else {})} for c in self.classes
            ],
        }
        if self.weights is not None:
            data["median_frequency_weights"] = list(self.weights)
        return data

    def save_json(self, path: str | os.PathLike[str]) -> None:
        text = json.dumps(self.to_json_dict(), indent=2, ensure_ascii=False)
        atomic_write_text(path, text + "\n")

    @classmethod
    def from_json_dict(cls, data: dict[str, Any], source: str = "class table") -> ClassTable:
        if not isinstance(data, dict) or not isinstance(data.get("classes"), list):
            raise ClassTableError(f"{source}: expected an object with a 'classes' list")
        ignore_index = data.get("ignore_index")
        if ignore_index is not None and (not isinstance(ignore_index, int) or isinstance(
                ignore_index, bool) or not 0 <= ignore_index <= 255):
            raise ClassTableError(f"{source}: \"ignore_index\" {ignore_index!r} is not a class "
                                  "id 0..255 (or null)")
        classes: list[ClassInfo] = []
        for i, entry in enumerate(data["classes"]):
            if not isinstance(entry, dict):
                raise ClassTableError(f"{source}: class #{i} is not an object")
            try:
                cid = int(entry["id"]) if "id" in entry else i
                name = str(entry.get("name", f"class {cid}"))
                color = entry.get("color", entry.get("colour"))
                if color is None:
                    color = DISTINCT_COLORS[len(classes) % len(DISTINCT_COLORS)]
                if isinstance(color, str):
                    color = _parse_hex(color)
                rgb = tuple(int(v) for v in color)
            except (KeyError, TypeError, ValueError) as exc:
                raise ClassTableError(f"{source}: class #{i} is malformed ({exc})") from exc
            ignore = bool(entry.get("ignore", False)) or (
                ignore_index is not None and cid == ignore_index
            )
            background = bool(entry.get("background", False)) and not ignore
            classes.append(ClassInfo(cid, name, rgb, ignore,  # type: ignore[arg-type]
                                     background))
        if ignore_index is not None and not any(c.id == ignore_index for c in classes):
            classes.append(ClassInfo(ignore_index, "unlabelled", (0, 0, 0), True))
        weights = _weights(data.get("median_frequency_weights"), source)
        try:
            table = cls(tuple(classes), str(data.get("name", "")), weights)
        except ClassTableError as exc:
            raise ClassTableError(f"{source}: {exc}") from exc
        return table

    @classmethod
    def load_json(cls, path: str | os.PathLike[str]) -> ClassTable:
        """A class table file; a table without an ignore class gets *unlabelled* at 255
        (refused when 255 is a class there: empty masks would train it)."""
        path = Path(path)
        try:
            data = json.loads(read_text(path, TABLE_LIMIT, what="class table"))
        except FileNotFoundError as exc:
            raise ClassTableError(f"{path}: file not found") from exc
        except UnsafeFileError as exc:
            raise ClassTableError(str(exc)) from exc
        except RecursionError:
            raise ClassTableError(f"{path}: not a class table (nested too deeply)") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ClassTableError(f"{path}: not valid JSON ({exc})") from exc
        table = cls.from_json_dict(data, str(path))
        if table.ignore_index is None:
            taken = table.by_id(DEFAULT_IGNORE_ID)
            if taken is not None:
                raise ClassTableError(
                    f"{path}: no class is the unlabelled (ignore) one, and unlabelled pixels "
                    f"({DEFAULT_IGNORE_ID}) would be trained as {taken.name!r}; add "
                    f"\"ignore_index\": {DEFAULT_IGNORE_ID} or the id of your unlabelled class")
            table = table.with_class(ClassInfo(DEFAULT_IGNORE_ID, "unlabelled",
                                               (224, 224, 192), ignore=True))
        return table


def _weights(raw: object, source: str) -> tuple[float, ...] | None:
    """``median_frequency_weights``: numbers, finite, not negative, not all 0."""
    if not raw:
        return None
    try:
        if not isinstance(raw, list) or any(isinstance(w, (bool, str)) for w in raw):
            raise TypeError
        weights = tuple(float(w) for w in raw)
    except (TypeError, ValueError):
        raise ClassTableError(f"{source}: \"median_frequency_weights\" must be a list of "
                              f"numbers, not {str(raw)[:60]}") from None
    if not all(math.isfinite(w) and w >= 0 for w in weights) or not any(weights):
        raise ClassTableError(f"{source}: the class weights {list(weights)[:12]} must be finite, "
                              "not negative and not all 0 (training would give the loss nan)")
    return weights


def _parse_hex(text: str) -> Color:
    t = text.strip().lstrip("#")
    if len(t) != 6:
        raise ValueError(f"colour {text!r} is not #RRGGBB")
    return (int(t[0:2], 16), int(t[2:4], 16), int(t[4:6], 16))


def clean_name(name: str) -> str:
    """A stored class name with control characters shown as escapes (a project made
    before they were refused)."""
    return "".join(ch.encode("unicode_escape").decode("ascii")
                   if unicodedata.category(ch) == "Cc" else ch for ch in name)


def default_classes() -> ClassTable:
    """The set a new project starts with: background, one object class, unlabelled."""
    return ClassTable(
        (
            ClassInfo(0, "background", (0, 0, 0), background=True),
            ClassInfo(1, "object", DISTINCT_COLORS[0]),
            ClassInfo(DEFAULT_IGNORE_ID, "unlabelled", (224, 224, 192), ignore=True),
        ),
        name="default",
    )
