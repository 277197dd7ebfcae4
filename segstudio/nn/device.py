"""Choosing the compute device and the CPU thread count.

``auto`` picks CUDA, then Apple MPS, then the CPU.  :func:`available_devices`
lists what this machine offers for the GUI's device menu.
"""

from __future__ import annotations

import os
from typing import NamedTuple

import torch

from ..core.errors import SegStudioError


class DeviceError(SegStudioError):
    """A device that was asked for is not available."""


class DeviceChoice(NamedTuple):
    id: str  # "cuda:0", "mps", "cpu": what --device and resolve_device() take
    name: str  # human-readable, e.g. "NVIDIA H100 80GB HBM3 (79 GiB)", "CPU (2 threads)"


def physical_cores() -> int:
    """Physical cores this process may run on (hyperthreads not counted)."""
    try:
        allowed = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        allowed = list(range(os.cpu_count() or 1))
    cores: set[tuple[str, str]] = set()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            text = fh.read()
        for block in text.strip().split("\n\n"):
            fields = dict(
                (k.strip(), v.strip()) for k, _, v in
                (line.partition(":") for line in block.splitlines()) if k.strip()
            )
            if "processor" not in fields or int(fields["processor"]) not in allowed:
                continue
            cores.add((fields.get("physical id", "0"), fields.get("core id", fields["processor"])))
    except (OSError, ValueError):
        cores = set()
    return max(1, len(cores) if cores else len(allowed))


_threads_set = False


def configure_cpu_threads(threads: int | None = None) -> int:
    """Set torch's intra-op threads to the physical cores (or ``threads``; the
    ``SEGSTUDIO_THREADS`` variable overrides both); returns the count."""
    global _threads_set
    env = os.environ.get("SEGSTUDIO_THREADS")
    if env:
        try:  # noqa: SIM105
            threads = max(1, int(env))
        except ValueError:
            pass
    if threads is None:
        if _threads_set:
            return torch.get_num_threads()
        threads = physical_cores()
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    _threads_set = True
    return threads


def _cuda_name(index: int) -> str:
    props = torch.cuda.get_device_properties(index)
    gib = props.total_memory / 2**30
    return f"{props.name} ({gib:.0f} GiB)"


def mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def available_devices() -> list[DeviceChoice]:
    """Devices in order of preference (the first is what ``auto`` picks)."""
    out: list[DeviceChoice] = []
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            out.append(DeviceChoice(f"cuda:{i}", _cuda_name(i)))
    if mps_available():
        out.append(DeviceChoice("mps", "Apple GPU (MPS)"))
    n = configure_cpu_threads()
    out.append(DeviceChoice("cpu", f"CPU ({n} thread{'s' if n != 1 else ''})"))
    return out


def resolve_device(spec: str | torch.device | None = "auto") -> torch.device:
    """'auto' | 'cpu' | 'cuda' | 'cuda:N' | 'mps' -> a usable torch.device."""
    if isinstance(spec, torch.device):
        spec = str(spec)
    spec = (spec or "auto").strip().lower()
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        if mps_available():
            return torch.device("mps")
        configure_cpu_threads()
        return torch.device("cpu")
    if spec == "cpu":
        configure_cpu_threads()
        return torch.device("cpu")
    if spec == "cuda" or spec.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise DeviceError(f"device {spec!r}: no CUDA GPU is available here "
                              "(use --device cpu or auto)")
        idx = torch.cuda.current_device()
        if ":" in spec:
            try:
                idx = int(spec.split(":", 1)[1])
            except ValueError:
                raise DeviceError(f"device {spec!r}: expected cuda:N with N a number") from None
        n = torch.cuda.device_count()
        if not 0 <= idx < n:
            raise DeviceError(f"device {spec!r}: this machine has {n} CUDA device(s), "
                              f"numbered 0..{n - 1}")
        return torch.device("cuda", idx)
    if spec == "mps":
        if not mps_available():
            raise DeviceError("device 'mps': Apple's MPS backend is not available here")
        return torch.device("mps")
    raise DeviceError(f"unknown device {spec!r}; use auto, cpu, cuda, cuda:N or mps")


def describe(device: torch.device) -> str:
    """A human name for a resolved device."""
    if device.type == "cuda":
        return f"{device} {_cuda_name(device.index or 0)}"
    if device.type == "mps":
        return "mps Apple GPU"
    return f"cpu ({torch.get_num_threads()} threads)"
