"""What every format shares: typed errors, safe paths, flat names, class-name
mapping, matching imported files to project images, and the import report."""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..classes import ClassTable
from ..errors import SegStudioError
from ..imageio import IMAGE_EXTENSIONS

if TYPE_CHECKING:
    from ..project import ImageRecord

ProgressFn = Callable[[int, int], None]
CancelFn = Callable[[], bool]

LAYER_HUMAN = "human"  # a corrected or reviewed mask
LAYER_PREDICTION = "prediction"  # a model prediction nobody has corrected
UNLABELLED_NAME = "__unlabelled__"  # label of unlabelled regions when the table has no ignore class


class FormatError(SegStudioError):
    """An export or import cannot go ahead (bad folder, bad file, bad option)."""


class OtherProjectExportError(FormatError):
    """The export folder holds another project's export (``found``: one line each)."""

    def __init__(self, message: str, found: list[str]):
        super().__init__(message)
        self.found = found


class UnsafePathError(FormatError):
    """A path inside an imported file points outside the chosen folder."""


class UnknownClassesError(FormatError):
    """Imported files name classes the project does not have.

    ``names`` lists them (sorted); pass a ``mapping`` {name: class id} to the
    import to resolve them, or add the classes to the project first."""

    def __init__(self, names: Iterable[str], source: str):
        self.names = sorted(set(names), key=str.casefold)
        self.source = source
        shown = ", ".join(repr(n) for n in self.names[:20])
        more = f" and {len(self.names) - 20} more" if len(self.names) > 20 else ""
        super().__init__(
            f"{source}: class names not in the project: {shown}{more}; add them to the class "
            "table or map each to a project class (--map NAME=ID)")


# -- paths --------------------------------------------------------------------------

_DRIVE = re.compile(r"^[A-Za-z]:")


def safe_member(text: object, where: str = "") -> str:
    """A relative POSIX path that stays inside its folder, or UnsafePathError.

    Absolute paths (``/x``, ``\\\\x``, ``C:x``) and paths whose ``..`` climb out
    of the folder are refused; ``./a/../b`` is normalised to ``b``."""
    if not isinstance(text, str) or not text.strip():
        raise UnsafePathError(f"{where}empty or missing path")
    p = text.replace("\\", "/")
    if p.startswith("/") or _DRIVE.match(p) or "\x00" in p:
        raise UnsafePathError(f"{where}absolute path {text!r} refused; paths must be relative "
                              "to the chosen folder")
    norm = posixpath.normpath(p)
    if norm == ".." or norm.startswith("../") or norm in (".", ""):
        raise UnsafePathError(f"{where}path {text!r} points outside the chosen folder; refused")
    return norm


def safe_join(root: Path, rel: str) -> Path:
    """``root / rel`` after :func:`safe_member`."""
    return Path(root) / safe_member(rel)


def strip_ext(rel: str) -> str:
    root, ext = posixpath.splitext(rel)
    return root if ext.lower() in IMAGE_EXTENSIONS or ext.lower() == ".json" else rel


def flat_name(rel: str) -> str:
    """A file name (no folders, no extension) for an image path: ``a/b.png`` -> ``a__b``."""
    return strip_ext(rel).replace("/", "__")


def flat_names(relpaths: Iterable[str]) -> dict[str, str]:
    """Unique flat names; images that share one (``a.png``, ``a.jpg``) keep their extension."""
    rels = list(relpaths)
    base = {r: flat_name(r) for r in rels}
    seen: dict[str, int] = {}
    for b in base.values():
        seen[b] = seen.get(b, 0) + 1
    out = {}
    taken: set[str] = set()
    for r in rels:
        name = base[r]
        if seen[name] > 1:
            name = r.replace("/", "__").replace(".", "_")
        while name in taken:
            name += "_"
        taken.add(name)
        out[r] = name
    return out


# -- class names -----------------------------------------------------------------------

def resolve_names(names: Iterable[str], table: ClassTable, mapping: Mapping[str, int] | None,
                  unknown_to_ignore: bool, source: str,
                  declared: Iterable[str] | None = None) -> dict[str, int]:
    """Class name -> project class id; raises UnknownClassesError listing the unknown ones.

    A name in ``mapping`` wins; then the project's class of that name (case and
    surrounding blanks ignored); ``__unlabelled__`` is the unlabelled value.  A
    mapping key that names no class of the files (``names`` and ``declared``) is
    an error naming it."""
    names = set(names)
    mapping = dict(mapping or {})
    in_files = {str(n).strip().casefold() for n in names | set(declared or ())}
    stray = [k for k in mapping if str(k).strip().casefold() not in in_files]
    if stray:
        shown = ", ".join(sorted(map(str, names | set(declared or ())), key=str.casefold)[:20])
        raise FormatError(f"--map {stray[0]}={mapping[stray[0]]}: no class named {stray[0]!r} "
                          f"in {source} (names there: {shown or 'none'})")
    known = table.known_lut()
    for name, cid in mapping.items():
        if (not isinstance(cid, (int, np.integer)) or not 0 <= int(cid) <= 255
                or not known[int(cid)]):
            raise FormatError(f"the mapping sends {name!r} to {cid!r}, which is not a class id "
                              "of the project")
    folded = {str(k).strip().casefold(): int(v) for k, v in mapping.items()}
    out: dict[str, int] = {}
    unknown = []
    for name in set(names):
        key = str(name).strip().casefold()
        if key in folded:
            out[name] = folded[key]
            continue
        info = table.by_name(str(name))
        if info is not None:
            out[name] = info.id
        elif key == UNLABELLED_NAME or unknown_to_ignore:
            out[name] = table.unlabelled_value()
        else:
            unknown.append(str(name))
    if unknown:
        raise UnknownClassesError(unknown, source)
    return out


def table_lut(file_table: ClassTable, table: ClassTable, mapping: Mapping[str, int] | None,
              unknown_to_ignore: bool, source: str) -> np.ndarray:
    """256-entry map from the ids of a file's own class table to project ids.

    Classes are matched by name; the file's ignore class becomes the project's
    unlabelled value whatever its name.  Ids the file table does not define
    stay as they are (and are checked against the project later)."""
    names = [c.name for c in file_table.classes if not c.ignore]
    by_name = resolve_names(names, table, mapping, unknown_to_ignore, source,
                            declared=[c.name for c in file_table.classes])
    lut = np.arange(256, dtype=np.uint8)
    for c in file_table.classes:
        lut[c.id] = table.unlabelled_value() if c.ignore else by_name[c.name]
    return lut


def load_file_table(path: Path) -> ClassTable | None:
    return ClassTable.load_json(path) if path.is_file() else None


def file_values(path: Path) -> np.ndarray | None:
    """Value -> class id of the files (-1: none) from the ``mask_values`` entry an index
    export writes into its classes.json when it gave imported masks their own values
    back; None when the files hold the class ids themselves."""
    import json

    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8")).get("mask_values")
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(raw, dict) or not raw:
        return None
    lut = np.full(65536, -1, np.int32)
    for cid, value in raw.items():
        try:
            cid, value = int(cid), int(value)
        except (TypeError, ValueError):
            raise FormatError(f"{path}: mask_values entry {cid!r}: {value!r} is not "
                              "id: value") from None
        if not (0 <= cid <= 255 and 0 <= value <= 65535):
            raise FormatError(f"{path}: mask_values entry {cid}: {value} is out of range")
        lut[value] = cid
    return lut


# -- matching files to images ------------------------------------------------------------

class ImageMatcher:
    """Finds the project image an imported file belongs to.

    Keys are image paths relative to the project folder, with or without their
    extension.  Tried in order: the exact relative path, the flat name an
    export gives (``a__b`` for ``a/b.png``), then the file-name stem when only
    one image has it."""

    def __init__(self, records: Iterable[ImageRecord]) -> None:
        self.records = list(records)
        self.by_rel: dict[str, ImageRecord] = {}
        self.by_flat: dict[str, ImageRecord] = {}
        self.by_stem: dict[str, list[ImageRecord]] = {}
        for rec in self.records:
            self.by_rel[rec.relpath] = rec
            self.by_rel.setdefault(strip_ext(rec.relpath), rec)
            self.by_flat.setdefault(flat_name(rec.relpath), rec)
            self.by_stem.setdefault(posixpath.basename(strip_ext(rec.relpath)), []).append(rec)
        self.used: dict[int, str] = {}

    def find(self, keys: Iterable[str]) -> ImageRecord | None:
        keys = [k.replace("\\", "/") for k in keys if k]
        for k in keys:
            rec = self.by_rel.get(k) or self.by_rel.get(strip_ext(k))
            if rec is not None:
                return rec
        for k in keys:
            rec = self.by_flat.get(strip_ext(k))
            if rec is not None:
                return rec
        for k in keys:
            cands = self.by_stem.get(posixpath.basename(strip_ext(k)), [])
            if len(cands) == 1:
                return cands[0]
        return None


# -- import report -----------------------------------------------------------------------

@dataclass
class FileResult:
    file: str  # the imported file (for COCO: "annotations.json#file_name")
    image: str | None  # the project image it was matched to
    action: str  # imported | unchanged | skipped
    reason: str = ""


@dataclass
class ImportReport:
    """What an import did, file by file.  ``skipped`` holds (file, reason)."""

    format: str = "index"
    imported: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    images_without_mask: int = 0
    files: list[FileResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cancelled: bool = False
    value_plan: object | None = None  # values.ValuePlan: which class each value became
    trashed: list[str] = field(default_factory=list)  # copies of the human masks replaced

    def add(self, file: str, image: str | None, action: str, reason: str = "") -> None:
        self.files.append(FileResult(file, image, action, reason))
        if action == "imported":
            self.imported.append(file)
        elif action == "unchanged":
            self.unchanged.append(file)
        else:
            self.skipped.append((file, reason))

    def summary(self) -> str:
        parts = [f"{len(self.imported)} imported"]
        if self.unchanged:
            parts.append(f"{len(self.unchanged)} already identical")
        parts.append(f"{len(self.skipped)} skipped")
        parts.append(f"{self.images_without_mask} images without a mask")
        if self.trashed:
            parts.append(f"{len(self.trashed)} replaced human masks kept in trash/")
        text = ", ".join(parts)
        return text + (" (cancelled)" if self.cancelled else "")


def is_json(path: Path) -> bool:
    return path.suffix.lower() == ".json"


def list_files(root: Path, suffixes: tuple[str, ...]) -> list[str]:
    """Relative POSIX paths of files under ``root`` with these suffixes (hidden skipped)."""
    out = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        rel = os.path.relpath(folder, root)
        for f in files:
            if f.startswith(".") or not f.lower().endswith(suffixes):
                continue
            out.append(f if rel == "." else f"{rel}/{f}".replace(os.sep, "/"))
    return sorted(out)


def tree_names(relpaths: Iterable[str]) -> dict[str, str]:
    """Output paths (no extension) that keep the folders: ``a/b.png`` -> ``a/b``;
    images that share one (``a.png``, ``a.jpg``) keep their extension (``a.png``)."""
    rels = list(relpaths)
    count: dict[str, int] = {}
    for r in rels:
        count[strip_ext(r)] = count.get(strip_ext(r), 0) + 1
    return {r: (strip_ext(r) if count[strip_ext(r)] == 1 else r) for r in rels}
