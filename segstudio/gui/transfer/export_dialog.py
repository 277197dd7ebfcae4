"""File > Export masks: choose a format, the images and a folder; export on a worker.

The count of images that will be exported is worked out on a worker too
(``select_items``) and updates as the choices change.  The export itself runs
on ``controller.runner`` with a progress bar and Cancel; at the end the dialog
shows what was written, what was already there, what was refused (and why) and
which images were skipped.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QSignalBlocker, Qt, QTimer
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from ...core.formats import ExportOptions, ExportReport
from ..collaborators import ListedImages
from .common import ReportModel, RunPanel, TaskDialog, elide_middle, open_folder, report_view
from .transfer_jobs import (
    CLASS_TABLE,
    EXPORT_CHOICES,
    Count,
    OtherProjectThere,
    count_job,
    export_choice,
    export_job,
    remembered_export_folder,
)

FORMAT_KEY = "transfer/export_format"  # the folder is the project's own (EXPORT_FOLDER_SETTING)

# which images (keys of ExportDialog.scope_buttons)
SCOPE_ALL, SCOPE_LISTED, SCOPE_CURRENT = "all", "listed", "current"


class ExportDialog(TaskDialog):
    """Export masks of ``controller.project``.

    ``listed`` (optional, the browser) offers the images listed after its filter; the
    current image is offered too."""

    aux_keys = ("export-count",)
    progress_verb = "Exported"

    def __init__(self, controller, settings=None, listed: ListedImages | None = None,
                 parent: QWidget | None = None):
        super().__init__(controller, parent)
        self.settings = settings
        self.listed = listed
        self.report: ExportReport | None = None
        self.count: Count | None = None
        self.open_url = open_folder  # replaced in tests: no file manager offscreen
        self.setWindowTitle("Export masks")
        self.setMinimumWidth(640)
        self._scopes: dict[str, list[str] | None] = {}
        self._count_timer = QTimer(self, singleShot=True, interval=120)
        self._count_timer.timeout.connect(self._start_count)
        self._build()
        self._restore()
        self._format_changed()

    # -- layout ------------------------------------------------------------------------
    def _build(self) -> None:
        self.format_box = QComboBox(self)
        for c in EXPORT_CHOICES:
            self.format_box.addItem(c.label, c.key)
        self.format_help = QLabel(self)
        self.format_help.setWordWrap(True)
        self.format_help.setStyleSheet("color: #707070;")
        self.format_help.setMinimumWidth(420)

        # which images
        self.scope_box = QGroupBox("Images", self)
        self.scope_group = QButtonGroup(self)
        scope_lay = QVBoxLayout(self.scope_box)
        self.scope_buttons: dict[str, QRadioButton] = {}
        for key, (label, paths) in self._scope_options().items():
            button = QRadioButton(label, self.scope_box)
            self.scope_group.addButton(button)
            scope_lay.addWidget(button)
            self.scope_buttons[key] = button
            self._scopes[key] = paths
        self.scope_buttons[SCOPE_ALL].setChecked(True)

        # which masks
        self.mask_box = QGroupBox("Masks", self)
        mask_lay = QVBoxLayout(self.mask_box)
        self.status_checks = {
            "corrected": QCheckBox("Corrected", self.mask_box),
            "reviewed": QCheckBox("Reviewed", self.mask_box),
            "predicted": QCheckBox("Predicted (where no human mask)", self.mask_box),
        }
        self.status_checks["corrected"].setChecked(True)
        self.status_checks["reviewed"].setChecked(True)
        self.status_checks["predicted"].setToolTip(
            "Also export the model's prediction of images nobody has corrected yet; the report "
            "lists them as not checked by a person")
        for box in self.status_checks.values():
            mask_lay.addWidget(box)
        mask_lay.addStretch(1)

        # options
        self.opacity = QSlider(Qt.Orientation.Horizontal, self)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(50)
        self.opacity_label = QLabel("50 %", self)
        self.opacity_label.setMinimumWidth(40)
        self.opacity.valueChanged.connect(lambda v: self.opacity_label.setText(f"{v} %"))
        opacity_row = QHBoxLayout()
        opacity_row.addWidget(self.opacity, 1)
        opacity_row.addWidget(self.opacity_label)
        self.opacity_row = QWidget(self)
        self.opacity_row.setLayout(opacity_row)
        opacity_row.setContentsMargins(0, 0, 0, 0)
        self.overwrite = QCheckBox("Replace existing files that differ", self)
        self.overwrite.setToolTip("Without this, files already in the folder are kept; those that "
                                  "differ are listed as refused")
        self.include_images = QCheckBox("Copy the images alongside the masks", self)
        self.include_images.setChecked(True)
        # the user's choice, shown for the formats that have a place for the images; the
        # others show it unticked (they copy nothing)
        self._include_wanted = True
        self.include_images.toggled.connect(self._include_toggled)

        self.folder = QLineEdit(self)
        self.folder.setPlaceholderText("Folder to export into (created if needed)")
        self.folder.setClearButtonEnabled(True)
        self.browse_button = QPushButton("Choose…", self)
        self.browse_button.clicked.connect(self.choose_folder)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(self.browse_button)

        top = QFormLayout()
        top.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        format_col = QVBoxLayout()
        format_col.addWidget(self.format_box, 0, Qt.AlignmentFlag.AlignLeft)
        format_col.addWidget(self.format_help)
        top.addRow("Format:", format_col)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.addRow("Overlay opacity:", self.opacity_row)
        self.opacity_form_label = form.labelForField(self.opacity_row)
        options = QVBoxLayout()
        options.addWidget(self.overwrite)
        options.addWidget(self.include_images)
        form.addRow("Options:", options)
        form.addRow("Folder:", folder_row)
        # both forms' labels get the same width, so the fields line up
        width = max(self.fontMetrics().horizontalAdvance(t) for t in
                    ("Format:", "Overlay opacity:", "Options:", "Folder:")) + 8
        for f in (top, form):
            for i in range(f.rowCount()):
                label = f.itemAt(i, QFormLayout.ItemRole.LabelRole)
                if label is not None and label.widget() is not None:
                    label.widget().setMinimumWidth(width)

        self.count_label = QLabel(self)
        self.count_label.setWordWrap(True)
        font = self.count_label.font()
        font.setBold(True)
        self.count_label.setFont(font)

        self.panel = RunPanel(self)
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary.setVisible(False)
        self.problems = ReportModel(("Item", "Result", "Reason"), self)
        self.problem_view = report_view(self.problems, self)
        self.problem_view.setVisible(False)

        self.buttons = QDialogButtonBox(self)
        role = QDialogButtonBox.ButtonRole
        self.export_button = self.buttons.addButton("Export", role.AcceptRole)
        self.export_button.setDefault(True)
        self.open_button = self.buttons.addButton("Open folder",
                                                  QDialogButtonBox.ButtonRole.ActionRole)
        self.open_button.setEnabled(False)
        self.cancel_button = self.buttons.addButton("Cancel", role.RejectRole)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.cancel_button.setVisible(False)
        self.export_button.clicked.connect(self.start)
        self.open_button.clicked.connect(lambda: self.open_url(self.report.out_dir)
                                         if self.report else None)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.reject)

        lay = QVBoxLayout(self)
        lay.addLayout(top)
        choices = QHBoxLayout()
        choices.addWidget(self.scope_box, 3)
        choices.addWidget(self.mask_box, 2)
        lay.addLayout(choices)
        lay.addLayout(form)
        lay.addWidget(self.count_label)
        lay.addWidget(self.panel)
        lay.addWidget(self.summary)
        lay.addWidget(self.problem_view, 1)
        lay.addWidget(self.buttons)

        self.format_box.currentIndexChanged.connect(lambda _i: self._format_changed())
        self.scope_group.buttonToggled.connect(lambda _b, on: on and self._choices_changed())
        for box in self.status_checks.values():
            box.toggled.connect(lambda _on: self._choices_changed())
        self.folder.textChanged.connect(lambda _t: self._update_buttons())
        self._reserve_result_room()

    def _reserve_result_room(self) -> None:
        """Size the window for its result (summary lines and the problem list) from the
        start, so that an export does not make it grow and move its buttons."""
        self.summary.setText("\n".join(["Files: 0 written, 0 already identical."] * 3))
        for w in (self.summary, self.problem_view):
            w.setVisible(True)
        hint = self.sizeHint()
        for w in (self.summary, self.problem_view):
            w.setVisible(False)
        self.summary.setText("")
        self.setMinimumHeight(hint.height())
        self.resize(max(self.width(), hint.width()), hint.height())

    def _scope_options(self) -> dict[str, tuple[str, list[str] | None]]:
        """The image choices this window offers: label and relative paths (None: all)."""
        total = len(self.controller.records)
        out: dict[str, tuple[str, list[str] | None]] = {
            SCOPE_ALL: (f"All images of the project ({total:,})", None)}
        if self.listed is not None:
            listed = [r.relpath for r in self.listed.listed_records()]
            if 0 < len(listed) < self.listed.listed_total():
                out[SCOPE_LISTED] = (f"Images listed in the browser (filtered: {len(listed):,})",
                                     listed)
        current = self.controller.current
        if current is not None:
            out[SCOPE_CURRENT] = (f"Current image only ({elide_middle(current.relpath, 50)})",
                                  [current.relpath])
        return out

    def _restore(self) -> None:
        # this project's last export folder, else one beside it: never another project's
        self.folder.setText(remembered_export_folder(self.project)
                            if self.project is not None else "")
        fmt = self.settings.value(FORMAT_KEY, "") if self.settings is not None else ""
        self.set_format(fmt if isinstance(fmt, str) and fmt else "index")

    # -- choices ------------------------------------------------------------------------
    def set_format(self, key: str) -> None:
        i = self.format_box.findData(key)
        if i >= 0:
            self.format_box.setCurrentIndex(i)

    def set_scope(self, key: str) -> None:
        self.scope_buttons[key].setChecked(True)

    def format_key(self) -> str:
        return self.format_box.currentData()

    def statuses(self) -> tuple[str, ...]:
        return tuple(k for k, box in self.status_checks.items() if box.isChecked())

    def scope(self) -> str:
        return next(k for k, b in self.scope_buttons.items() if b.isChecked())

    def selected_paths(self) -> list[str] | None:
        return self._scopes.get(self.scope())

    def choose_folder(self) -> None:
        start = self.folder.text().strip() or str(Path.home())
        path = QFileDialog.getExistingDirectory(self, "Export into folder", start)
        if path:
            self.folder.setText(path)

    def _format_changed(self) -> None:
        choice = export_choice(self.format_key())
        self.format_help.setText(choice.description)
        overlay = choice.key == "overlay"
        self.opacity_row.setVisible(overlay)
        if self.opacity_form_label is not None:
            self.opacity_form_label.setVisible(overlay)
        self._enable_for_format()
        self._choices_changed()

    def _include_toggled(self, on: bool) -> None:
        if export_choice(self.format_key()).copies_images:
            self._include_wanted = on

    def _enable_for_format(self) -> None:
        choice = export_choice(self.format_key())
        copies = choice.copies_images
        with QSignalBlocker(self.include_images):
            self.include_images.setChecked(copies and self._include_wanted)
        self.include_images.setEnabled(copies)
        self.include_images.setToolTip(
            "Voc, CamVid, COCO and labelme layouts hold the images beside the masks" if copies
            else f"{choice.label} writes the masks only: no image is copied")
        self.scope_box.setEnabled(choice.per_image)
        self.mask_box.setEnabled(choice.per_image)

    def _choices_changed(self) -> None:
        self.count = None
        if export_choice(self.format_key()).key == CLASS_TABLE:
            n = len(self.project.classes.classes) if self.project is not None else 0
            self.count_label.setText(f"Writes classes.json with {n} classes.")
            self._count_timer.stop()  # a count still due would overwrite the line
            self.controller.runner.cancel("export-count")
            self._update_buttons()
            return
        self.count_label.setText("Counting the images to export …")
        self._update_buttons()
        self._count_timer.start()

    def _start_count(self) -> None:
        if self.project is None:
            return
        statuses = self.statuses()
        if not statuses:
            self.controller.runner.cancel("export-count")
            self.count_label.setText("Tick at least one kind of mask to export.")
            self._update_buttons()
            return
        self.controller.runner.submit(count_job, self.project, statuses, self.selected_paths(),
                                      key="export-count", on_result=self._counted,
                                      on_error=self.count_label.setText)

    def _counted(self, count: Count) -> None:
        self.count = count
        if count.total == 0:
            text = "No image matches: nothing to export."
            if "predicted" not in self.statuses():
                text += " Tick 'Predicted' to export the model's masks."
        else:
            parts = [f"{count.human:,} human masks"]
            if count.predicted:
                parts.append(f"{count.predicted:,} model predictions")
            text = (f"{count.total:,} image{'s' if count.total != 1 else ''} will be exported "
                    f"({', '.join(parts)}).")
        if count.left_out:
            reasons = "; ".join(f"{img}: {why}" for img, why in count.left_out[:3])
            more = f" and {len(count.left_out) - 3} more" if len(count.left_out) > 3 else ""
            text += f"\n{len(count.left_out):,} selected left out — {reasons}{more}."
        self.count_label.setText(text)
        self._update_buttons()

    def _update_buttons(self) -> None:
        fmt = self.format_key()
        ready = (not self.running and self.project is not None and bool(self.folder.text().strip())
                 and (fmt == CLASS_TABLE or (self.count is not None and self.count.total > 0)))
        self.export_button.setEnabled(ready)

    # -- running ------------------------------------------------------------------------
    def options(self) -> ExportOptions:
        return ExportOptions(statuses=self.statuses() or ("corrected", "reviewed"),
                             images=self.selected_paths(), opacity=self.opacity.value() / 100.0,
                             overwrite=self.overwrite.isChecked(),
                             include_images=self.include_images.isChecked())

    def start(self) -> None:
        """Start the export (the Export button)."""
        if self.running or self.project is None:
            return
        folder = self.folder.text().strip()
        if not folder:
            self.panel.show_error("Choose a folder to export into.")
            return
        fmt = self.format_key()
        if self.settings is not None:
            self.settings.set_value(FORMAT_KEY, fmt)
        self._run_export(folder, fmt, self.options())

    def _run_export(self, folder: str, fmt: str, options: ExportOptions) -> None:
        self.report = None
        self.summary.setVisible(False)
        self.problem_view.setVisible(False)
        self.open_button.setEnabled(False)
        self.panel.start(f"Exporting {export_choice(fmt).label} to {folder} …")
        self.run(export_job, self.project, folder, fmt, options,
                 on_result=lambda out: self._exported(out, folder, fmt, options))

    def _exported(self, out, folder: str, fmt: str, options: ExportOptions) -> None:
        if not isinstance(out, OtherProjectThere):
            self._done(out)
            return
        self.panel.finish("")
        # after the job's end (the inputs come back on then), not inside its callback
        QTimer.singleShot(0, lambda: self._ask_other_project(out.message, folder, fmt, options))

    def _ask_other_project(self, message: str, folder: str, fmt: str,
                           options: ExportOptions) -> None:
        if self.running:
            return
        if self.ask_beside_other_project(message):
            self._run_export(folder, fmt, replace(options, beside_other_projects=True))
        else:
            self.panel.show_error(message)

    def ask_beside_other_project(self, message: str) -> bool:
        """Export into a folder that holds another project's export? (Replaced in tests.)"""
        box = QMessageBox(QMessageBox.Icon.Warning, "Another project's export", message,
                          QMessageBox.StandardButton.Cancel, self)
        go = box.addButton("Export into it anyway", QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return box.clickedButton() is go

    def set_inputs_enabled(self, enabled: bool) -> None:
        for w in (self.format_box, self.scope_box, self.mask_box, self.opacity_row, self.overwrite,
                  self.include_images, self.folder, self.browse_button):
            w.setEnabled(enabled)
        if enabled:
            self._enable_for_format()

    def done(self, result: int) -> None:
        self._count_timer.stop()  # no count submitted after the dialog closed
        super().done(result)

    def _done(self, report: ExportReport) -> None:
        self.report = report
        n = len(report.exported)
        if report.format == CLASS_TABLE:
            head = f"Class table written to {report.out_dir}."
        elif report.cancelled:
            head = (f"Cancelled after {n:,} images. The files written are complete; the class "
                    "table and manifest were not written.")
        else:
            layers = report.layer_counts()
            pred = layers.get("prediction", 0)
            head = f"Exported {n:,} images to {report.out_dir}"
            head += f" ({pred:,} from model predictions)." if pred else "."
        self.panel.finish(head)
        lines = [f"Files: {len(report.written):,} written, {len(report.unchanged):,} already "
                 f"identical, {len(report.refused):,} refused."]
        if report.refused and not self.overwrite.isChecked():
            lines.append("Refused files differ from files already in the folder and were kept; "
                         "tick 'Replace existing files that differ' to replace them.")
        if report.skipped:
            lines.append(f"{len(report.skipped):,} images skipped.")
        lines.extend(report.notes)
        self.summary.setText("\n".join(lines))
        self.summary.setVisible(True)
        rows = [(f.path, f.action, f.reason) for f in report.files if f.action == "refused"]
        rows += [(img, "skipped", why) for img, why in report.skipped]
        self.problems.set_rows(rows)
        self.problem_view.setVisible(bool(rows))
        self.problem_view.resizeColumnToContents(0)
        self.open_button.setEnabled(Path(report.out_dir).is_dir())
