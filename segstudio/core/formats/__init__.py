"""Mask formats other tools read: export and import (Qt-free).

The GUI and the CLI call :func:`export_masks` and :func:`import_masks`; both
take ``progress(done, total)`` and ``cancelled() -> bool`` callbacks and return
a report object (:class:`ExportReport`, :class:`ImportReport`).  The formats
themselves are :class:`Format` records in :mod:`.registry` (:data:`FORMATS`).
"""

from .common import (
                     LAYER_HUMAN,
                     LAYER_PREDICTION,
                     FileResult,
                     FormatError,
                     ImportReport,
                     OtherProjectExportError,
                     UnknownClassesError,
                     UnsafePathError,
)
from .exporter import EXPORTABLE_STATUSES, export_masks, select_items
from .importer import import_masks, preview_import
from .output import ExportedFile, ExportItem, ExportOptions, ExportReport
from .registry import EXPORT_FORMATS, FORMATS, IMPORT_FORMATS, detect_format, get_format
from .types import Format
from .values import UnknownValuesError, ValuePlan

__all__ = [
    "EXPORTABLE_STATUSES", "EXPORT_FORMATS", "FORMATS", "IMPORT_FORMATS", "LAYER_HUMAN",
    "LAYER_PREDICTION", "ExportItem", "ExportOptions", "ExportReport", "ExportedFile",
    "FileResult", "Format", "FormatError", "ImportReport", "OtherProjectExportError",
    "UnknownClassesError",
    "UnknownValuesError", "UnsafePathError", "ValuePlan", "detect_format", "export_masks",
    "get_format", "import_masks", "preview_import", "select_items",
]
