"""What the training panel shows before torch is imported: the devices detected and
the form shown in the last session, kept in the user settings as JSON (no torch, no
project needed), so a start pressed early has values and a device to wait for."""

from __future__ import annotations

import json

DEVICES_SETTING = "training/devices"   # {"devices": [[id, name], ...], "imagenet": bool}
FORM_SETTING = "training/form"         # {"device": id, "config": TrainConfig.to_dict()}
RUN_IN_SETTING = "training/run_in"     # "thread" (this window) or "process"


def _read(settings, key: str) -> dict:
    try:
        data = json.loads(str(settings.value(key, "") or "{}"))
    except (ValueError, TypeError):
        return {}
    return data if isinstance(data, dict) else {}


def remembered_devices(settings) -> tuple[list[tuple[str, str]], bool]:
    data = _read(settings, DEVICES_SETTING)
    try:
        devices = [(str(i), str(n)) for i, n in data.get("devices", [])]
    except (TypeError, ValueError):
        devices = []
    return devices, bool(data.get("imagenet"))


def remember_devices(settings, devices: list[tuple[str, str]], imagenet: bool) -> None:
    settings.set_value(DEVICES_SETTING, json.dumps(
        {"devices": [list(d) for d in devices], "imagenet": bool(imagenet)}))


def remembered_form(settings) -> tuple[str, dict | None]:
    data = _read(settings, FORM_SETTING)
    cfg = data.get("config")
    return str(data.get("device") or ""), cfg if isinstance(cfg, dict) else None


def remember_form(settings, device: str, cfg) -> None:
    settings.set_value(FORM_SETTING, json.dumps({"device": device, "config": cfg.to_dict()}))


def fmt_age(seconds: float) -> str:
    """How long a run has gone on: "45 s", "3 min", "2 h 5 min"."""
    minutes = int(seconds // 60)
    if minutes >= 60:
        return f"{minutes // 60} h {minutes % 60} min"
    return f"{minutes} min" if minutes else f"{int(seconds)} s"


def keep_choice(settings, box, key: str) -> None:
    """The combo box ``box`` shows the choice kept under ``key`` and keeps each new one
    (the panel's "Run in" was back at "This window" in every session)."""
    i = box.findData(settings.value(key, None))
    if i >= 0:
        box.setCurrentIndex(i)
    box.currentIndexChanged.connect(lambda _i: settings.set_value(key, box.currentData()))
