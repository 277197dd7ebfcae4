"""Mask formats other tools read: export and import (Qt-free).

The GUI and the CLI call :func:`export_masks` and :func:`import_masks`; both
take ``progress(done, total)`` and ``cancelled() -> bool`` callbacks and return
a report object (:class:`ExportReport`, :class:`ImportReport`).
"""

from .common import (LAYER_HUMAN, LAYER_PREDICTION, FileResult, FormatError, ImportReport,
                     UnknownClassesError, UnsafePathError)
from .exporter import EXPORT_FORMATS, EXPORTABLE_STATUSES, export_masks, select_items
from .importer import IMPORT_FORMATS, detect_format, import_masks
from .output import ExportedFile, ExportItem, ExportOptions, ExportReport
from .values import UnknownValuesError, ValuePlan

__all__ = [
    "EXPORT_FORMATS", "EXPORTABLE_STATUSES", "IMPORT_FORMATS", "LAYER_HUMAN", "LAYER_PREDICTION",
    "ExportItem", "ExportOptions", "ExportReport", "ExportedFile", "FileResult", "FormatError",
    "ImportReport", "UnknownClassesError", "UnknownValuesError", "UnsafePathError", "ValuePlan", "detect_format", "export_masks",
    "import_masks", "select_items",
]
