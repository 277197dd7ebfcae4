"""File > Import masks: a folder of masks or a COCO / labelme JSON file, imported on a worker.

The format is detected (on a worker) when the source is chosen and can be
changed.  When the files name classes the project lacks, the import stops
before writing anything and the dialog asks, name by name, which project class
each one becomes (or unlabelled); Import then runs again with that mapping.
At the end a table says for every file whether it was imported, already
identical or skipped, and why; the browser and the image on screen refresh.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...core.formats import ImportReport
from ...core.formats.values import rename
from ..project_controller import project_classes
from .common import ReportModel, RunPanel, TaskDialog, report_view
from .transfer_jobs import IMPORT_LABELS, NeedsClasses, NeedsMapping, detect_job, import_job

SOURCE_KEY = "transfer/import_source"
UNLABELLED = -1  # mapping choice: the project's unlabelled value


class MappingTable(QTableWidget):
    """One row per unknown class name: the name and a combo of project classes."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(0, 2, parent)
        self.setHorizontalHeaderLabels(("Name in the files", "Becomes project class"))
        self.verticalHeader().setVisible(False)
        self.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.names: list[str] = []

    def set_names(self, names: list[str], table) -> None:
        """Fill the rows; each combo lists "choose…", unlabelled and every project class."""
        self.names = list(names)
        self.setRowCount(len(names))
        for row, name in enumerate(names):
            self.setItem(row, 0, QTableWidgetItem(name))
            combo = QComboBox(self)
            combo.addItem("— choose —", None)
            combo.addItem(f"unlabelled (id {table.unlabelled_value()}, not trained on)", UNLABELLED)
            for c in table.classes:
                if c.ignore:
                    continue  # the unlabelled entry above stands for it
                combo.addItem(f"{c.name}  (id {c.id})", c.id)
            self.setCellWidget(row, 1, combo)
        self.resizeRowsToContents()
        rows = sum(self.rowHeight(r) for r in range(min(len(names), 8)))
        self.setFixedHeight(rows + self.horizontalHeader().height() + 2 * self.frameWidth() + 2)

    def combo(self, name: str) -> QComboBox:
        return self.cellWidget(self.names.index(name), 1)

    def choose(self, name: str, class_id: int) -> None:
        """Pick ``class_id`` (or UNLABELLED) for ``name``."""
        combo = self.combo(name)
        combo.setCurrentIndex(combo.findData(class_id))

    def choices(self) -> dict[str, int | None]:
        return {n: self.combo(n).currentData() for n in self.names}


class ValueTable(QTableWidget):
    """The class table proposed from the masks' values: value, pixels, class id and an
    editable class name per value (values sharing a class share its name)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(0, 4, parent)
        self.setHorizontalHeaderLabels(("Value in the masks", "Pixels", "Class id",
                                        "Class name"))
        self.verticalHeader().setVisible(False)
        self.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.plan = None
        self.editors: dict[int, QLineEdit] = {}  # class id -> its name field

    def set_plan(self, plan) -> None:
        self.plan = plan
        self.editors = {}
        rows = sorted(plan.counts.items())
        self.setRowCount(len(rows))
        for row, (value, pixels) in enumerate(rows):
            cid = plan.mapping[value]
            info = plan.table.by_id(cid)
            for col, text in enumerate((str(value), f"{pixels:,}", str(cid))):
                item = QTableWidgetItem(text)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.setItem(row, col, item)
            if cid in self.editors or info is None or info.ignore:
                label = QLabel(info.name if info is not None else "?", self)
                self.setCellWidget(row, 3, label)
                continue
            edit = QLineEdit(info.name, self)
            self.editors[cid] = edit
            self.setCellWidget(row, 3, edit)
        self.resizeRowsToContents()
        shown = sum(self.rowHeight(r) for r in range(min(len(rows), 8)))
        self.setFixedHeight(shown + self.horizontalHeader().height() + 2 * self.frameWidth() + 2)

    def set_name(self, class_id: int, name: str) -> None:
        self.editors[class_id].setText(name)

    def names(self) -> dict[int, str]:
        return {cid: e.text().strip() for cid, e in self.editors.items()}

    def problem(self) -> str:
        names = self.names()
        empty = [cid for cid, n in names.items() if not n]
        if empty:
            return f"Give class {empty[0]} a name."
        folded = [n.casefold() for n in names.values()]
        twice = sorted({n for n in names.values() if folded.count(n.casefold()) > 1})
        if twice:
            return f"Two classes are named {twice[0]!r}; give each its own name."
        return ""


class ImportDialog(TaskDialog):
    """Import masks into ``controller.project``; refreshes the browser and the image on screen."""

    aux_keys = ("import-detect",)
    progress_verb = "Imported"

    def __init__(self, controller, settings=None, parent: QWidget | None = None):
        super().__init__(controller, parent)
        self.settings = settings
        self.report: ImportReport | None = None
        self.detected: str | None = None
        self.detecting = ""  # the source whose format is (being) detected
        self.mapping: dict[str, int] = {}
        self._map_unknown_to_ignore = False
        self.proposal: NeedsClasses | None = None
        self.setWindowTitle("Import masks")
        self.setMinimumWidth(640)
        self._build()
        last = settings.value(SOURCE_KEY, "") if settings is not None else ""
        if isinstance(last, str) and last and Path(last).exists():
            self.set_source(last)
        self._update_buttons()

    # -- layout ------------------------------------------------------------------------
    def _build(self) -> None:
        self.source = QLineEdit(self)
        self.source.setPlaceholderText("A folder of masks, or a COCO / labelme JSON file")
        self.source.setClearButtonEnabled(True)
        self.folder_button = QPushButton("Folder…", self)
        self.file_button = QPushButton("JSON file…", self)
        self.folder_button.clicked.connect(self.choose_folder)
        self.file_button.clicked.connect(self.choose_file)
        src_row = QHBoxLayout()
        src_row.addWidget(self.source, 1)
        src_row.addWidget(self.folder_button)
        src_row.addWidget(self.file_button)

        self.format_box = QComboBox(self)
        self.format_box.addItem("Detect automatically", "auto")
        for key, label in IMPORT_LABELS.items():
            self.format_box.addItem(label, key)
        self.detected_label = QLabel(self)
        fmt_row = QHBoxLayout()
        fmt_row.addWidget(self.format_box)
        fmt_row.addWidget(self.detected_label, 1)

        self.overwrite = QCheckBox("Replace human masks that differ", self)
        self.overwrite.setToolTip("Without this, images that already have a different corrected "
                                  "or reviewed mask keep it and the file is listed as skipped")
        self.unknown_to_ignore = QCheckBox("Unknown class ids and names become unlabelled", self)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.addRow("Source:", src_row)
        form.addRow("Format:", fmt_row)
        opts = QVBoxLayout()
        opts.addWidget(self.overwrite)
        opts.addWidget(self.unknown_to_ignore)
        form.addRow("Options:", opts)
        note = QLabel("Imported masks are saved as corrected; files are matched to images by "
                      "path or name.", self)
        note.setWordWrap(True)
        note.setStyleSheet("color: #707070;")

        self.mapping_box = QGroupBox("Class names not in the project", self)
        map_lay = QVBoxLayout(self.mapping_box)
        self.mapping_help = QLabel(self.mapping_box)
        self.mapping_help.setWordWrap(True)
        self.mapping_table = MappingTable(self.mapping_box)
        map_lay.addWidget(self.mapping_help)
        map_lay.addWidget(self.mapping_table)
        self.mapping_box.setVisible(False)

        self.values_box = QGroupBox("Classes from the values in the masks", self)
        val_lay = QVBoxLayout(self.values_box)
        self.values_help = QLabel(self.values_box)
        self.values_help.setWordWrap(True)
        self.value_table = ValueTable(self.values_box)
        val_lay.addWidget(self.values_help)
        val_lay.addWidget(self.value_table)
        self.values_box.setVisible(False)

        self.panel = RunPanel(self)
        self.results = ReportModel(("File", "Image", "Result", "Reason"), self)
        self.result_view = report_view(self.results, self)
        self.result_view.setVisible(False)

        self.buttons = QDialogButtonBox(self)
        role = QDialogButtonBox.ButtonRole
        self.import_button = self.buttons.addButton("Import", role.AcceptRole)
        self.import_button.setDefault(True)
        self.cancel_button = self.buttons.addButton("Cancel", role.RejectRole)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.cancel_button.setVisible(False)
        self.import_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.reject)

        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(note)
        lay.addWidget(self.mapping_box)
        lay.addWidget(self.values_box)
        lay.addWidget(self.panel)
        lay.addWidget(self.result_view, 1)
        lay.addWidget(self.buttons)

        self.source.editingFinished.connect(self._editing_finished)
        self.source.textChanged.connect(lambda _t: self._source_edited())

    # -- choices ------------------------------------------------------------------------
    def choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Import masks from folder",
                                                self._start_dir())
        if path:
            self.set_source(path)

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a COCO or labelme JSON file",
                                              self._start_dir(), "JSON files (*.json)")
        if path:
            self.set_source(path)

    def _start_dir(self) -> str:
        text = self.source.text().strip()
        if text:
            p = Path(text)
            return str(p if p.is_dir() else p.parent)
        return str(self.project.root.parent) if self.project is not None else str(Path.home())

    def _editing_finished(self) -> None:
        if self.detecting != self.source.text().strip():  # typed or pasted: detect it
            self.set_source(self.source.text())

    def set_source(self, path: str) -> None:
        """Use ``path`` as the source and detect its format (on a worker)."""
        path = str(path).strip()
        if self.source.text() != path:
            self.source.setText(path)  # textChanged: _source_edited
        else:
            self._source_edited()
        self.detecting = path
        self.panel.show_error("")
        if not path:
            return
        self.detected_label.setText("Detecting the format …")
        self.controller.runner.submit(detect_job, path, key="import-detect",
                                      on_result=self._detected, on_error=self._detect_failed)

    def _source_edited(self) -> None:
        self.controller.runner.cancel("import-detect")  # its answer is about another source
        self.detecting = ""
        self.detected = None
        self.detected_label.setText("")
        self.mapping = {}
        self._map_unknown_to_ignore = False
        self.mapping_box.setVisible(False)
        self.proposal = None
        self.values_box.setVisible(False)
        self.import_button.setText("Import")
        self._update_buttons()

    def _detected(self, fmt: str) -> None:
        self.detected = fmt
        self.detected_label.setText(f"Detected: {IMPORT_LABELS.get(fmt, fmt)}")
        self._update_buttons()

    def _detect_failed(self, message: str) -> None:
        self.detected_label.setText("")
        self.panel.show_error(message)

    def format_key(self) -> str:
        return self.format_box.currentData()

    def set_format(self, key: str) -> None:
        self.format_box.setCurrentIndex(max(0, self.format_box.findData(key)))

    def _update_buttons(self) -> None:
        ready = not self.running and self.project is not None and bool(self.source.text().strip())
        if ready and self.mapping_box.isVisible():
            ready = all(v is not None for v in self.mapping_table.choices().values())
        self.import_button.setEnabled(ready)

    # -- running ------------------------------------------------------------------------
    def start(self) -> None:
        """Start the import (the Import button); a visible mapping table is applied."""
        if self.running or self.project is None:
            return
        source = self.source.text().strip()
        if not source:
            self.panel.show_error("Choose a folder of masks or a JSON file to import.")
            return
        if self.mapping_box.isVisible() and not self._take_mapping():
            return
        classes = None
        if self.proposal is not None and self.values_box.isVisible():
            problem = self.value_table.problem()
            if problem:
                self.panel.show_error(problem)
                return
            classes = rename(self.proposal.plan, self.value_table.names()).table
        if self.settings is not None:
            self.settings.set_value(SOURCE_KEY, source)
        self.report = None
        self.result_view.setVisible(False)
        self.panel.start(f"Reading {source} …")
        self.run(import_job, self.project, source, self.format_key(), dict(self.mapping),
                 self.overwrite.isChecked(),
                 self.unknown_to_ignore.isChecked() or self._map_unknown_to_ignore, classes,
                 on_result=self._done)

    def _take_mapping(self) -> bool:
        choices = self.mapping_table.choices()
        missing = [n for n, v in choices.items() if v is None]
        if missing:
            self.panel.show_error("Choose a project class for " + ", ".join(map(repr, missing)))
            return False
        table = self.project.classes
        for name, cid in choices.items():
            if cid == UNLABELLED:
                if table.ignore_index is not None:
                    self.mapping[name] = table.ignore_index
                else:  # no unlabelled class to name: unknown names become unlabelled
                    self._map_unknown_to_ignore = True
            else:
                self.mapping[name] = int(cid)
        return True

    def set_inputs_enabled(self, enabled: bool) -> None:
        for w in (self.source, self.folder_button, self.file_button, self.format_box,
                  self.overwrite, self.unknown_to_ignore, self.mapping_box, self.values_box):
            w.setEnabled(enabled)

    def _done(self, result) -> None:
        if isinstance(result, NeedsMapping):
            self._ask_mapping(result)
            return
        if isinstance(result, NeedsClasses):
            self._ask_classes(result)
            return
        self.report = report = result
        self.mapping_box.setVisible(False)
        self.values_box.setVisible(False)
        self.proposal = None
        self.import_button.setText("Import")
        summary = report.summary()
        lines = [summary[:1].upper() + summary[1:] + "."]
        self.panel.finish("\n".join(lines + list(report.notes)))
        base = Path(self.source.text().strip())
        base = base if base.is_dir() else base.parent
        self.results.set_rows([(shorten(f.file, base), f.image or "", f.action, f.reason)
                               for f in report.files])
        self.result_view.setVisible(True)
        for col in range(self.results.columnCount() - 1):
            self.result_view.resizeColumnToContents(col)
        self._refresh_window(report)
        self._update_buttons()

    def _ask_mapping(self, need: NeedsMapping) -> None:
        self.panel.finish("")
        n = len(need.names)
        self.mapping_help.setText(
            f"The files name {n} class{'es' if n != 1 else ''} this project does not have. "
            "Nothing was imported yet: choose what each becomes, then press "
            "'Import with this mapping'. (To keep them as classes of their own, add them in the "
            "Classes panel first.)")
        self.mapping_table.set_names(need.names, self.project.classes)
        for name in need.names:
            self.mapping_table.combo(name).currentIndexChanged.connect(
                lambda _i: self._update_buttons())
        self.mapping_box.setVisible(True)
        self.import_button.setText("Import with this mapping")
        self._update_buttons()

    def _ask_classes(self, need: NeedsClasses) -> None:
        self.panel.finish("")
        self.proposal = need
        n = len(need.plan.counts)
        self.values_help.setText(
            f"This project has no labels yet. The masks hold {n} value{'s' if n != 1 else ''}; "
            "each becomes the class below (no value becomes unlabelled unless listed so). "
            "Rename the classes if you like, then press 'Import with these classes'. Nothing "
            "was imported yet.")
        self.value_table.set_plan(need.plan)
        self.values_box.setVisible(True)
        self.import_button.setText("Import with these classes")
        self._update_buttons()

    def _refresh_window(self, report: ImportReport) -> None:
        plan = report.value_plan
        if report.imported and plan is not None and plan.proposed:
            # the project took the class table made from the values: the window shows it,
            # with the background marks the window reads (none for a proposed table)
            self.controller.classes_changed.emit(project_classes(self.project))
        changed = {f.image for f in report.files if f.action == "imported" and f.image}
        if not changed:
            return
        self.controller.refresh_records()
        current = self.controller.current
        if current is not None and current.relpath in changed:
            self.controller.reload_current()



def shorten(file: str, base: Path) -> str:
    """A reported file relative to the import source (absolute paths are long)."""
    try:
        return str(Path(file).relative_to(base)) if Path(file).is_absolute() else file
    except ValueError:
        return file
