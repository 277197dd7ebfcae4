"""What a source folder or file holds, format-neutral: the manifests segstudio
exports write, the JSON files an annotation format may use, and their first bytes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .common import list_files

MANIFEST_PREFIX = "segstudio_export_"
HEAD_BYTES = 1 << 16


def manifest_name(fmt: str) -> str:
    """The manifest an export writes: which image and layer each file came from.
    One per format, so several formats can share a folder."""
    return f"{MANIFEST_PREFIX}{fmt}.json"


def read_manifests(src: Path) -> dict[str, dict[str, Any]]:
    """{format: manifest} of the segstudio exports in ``src``."""
    out = {}
    for path in sorted(src.glob(f"{MANIFEST_PREFIX}*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(doc, dict) and isinstance(doc.get("format"), str):
            out[doc["format"]] = doc
    return out


def manifest_images(src: Path) -> dict[str, str]:
    """{exported file: project image} from the manifests of segstudio exports."""
    out: dict[str, str] = {}
    for doc in read_manifests(src).values():
        try:
            out.update({str(f): str(e["image"]) for e in doc["images"] for f in e["files"]})
        except (KeyError, TypeError):
            continue
    return out


def other_project_exports(out: Path, project_dir: Path, relpaths: set[str]) -> list[str]:
    """Which other projects' exports the folder ``out`` holds, one line each, from the
    manifests there: one that names another project directory, or an older manifest
    (naming none) that lists an image this project lacks."""
    found = []
    here = str(project_dir.resolve())
    for fmt, doc in read_manifests(out).items() if out.is_dir() else ():
        owner = doc.get("project")
        if isinstance(owner, str):
            if owner != here:
                found.append(f"an export ({fmt}) of the project in {owner}")
            continue
        try:
            images = [str(e["image"]) for e in doc["images"]]
        except (KeyError, TypeError):
            continue
        strange = [i for i in images if i not in relpaths]
        if strange:
            found.append(f"an export ({fmt}) of images this project does not have "
                         f"(e.g. {strange[0]})")
    return found


def annotation_files(src: Path) -> list[str]:
    """The JSON files under ``src`` that may be annotations (not class tables or
    manifests)."""
    return [r for r in list_files(src, (".json",)) if r != "classes.json"
            and not r.startswith(MANIFEST_PREFIX)]


def read_head(path: Path) -> str | None:
    """The first 64 KiB of a file as text (None when unreadable)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(HEAD_BYTES).decode("utf-8", "replace")
    except OSError:
        return None


def what_json(path: Path) -> str:
    """What a JSON file that is not an annotation file holds, in a few words after
    its name ("holds an object with keys 'a', 'b'", "is not valid JSON: ...")."""
    try:
        size = path.stat().st_size
        if size > 16 << 20:
            return (f"has {size >> 20} MiB without 'shapes', 'images' or 'annotations' in "
                    "its first 64 KiB")
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        return f"is unreadable: {exc.strerror or exc}"
    except ValueError as exc:
        return f"is not valid JSON: {exc}"
    if isinstance(doc, dict):
        keys = list(doc)
        return ("holds an empty object" if not keys else "holds an object with keys "
                + ", ".join(map(repr, keys[:6])) + (", ..." if len(keys) > 6 else ""))
    return f"holds a JSON {type(doc).__name__}, not an object"
