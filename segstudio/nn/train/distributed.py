"""Distributed data-parallel training under ``torchrun`` (torch.distributed, DDP).

    torchrun --standalone --nproc_per_node 2 -m segstudio train FOLDER ...
    torchrun --nnodes 1:4 --rdzv-backend c10d --rdzv-endpoint HOST:PORT -m segstudio train ...

:func:`from_env` joins the process group that torchrun describes in the
environment (``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``, ``MASTER_ADDR``...):
``nccl`` on CUDA (each process on ``cuda:LOCAL_RANK``), ``gloo`` on the CPU.
The training engine then wraps the model in
:class:`torch.nn.parallel.DistributedDataParallel` (gradients averaged across
processes), gives each process its shard of the epoch's training images through
a :class:`torch.utils.data.DistributedSampler` (``set_epoch`` every epoch),
and lets rank 0 alone write the project store: the run record, epochs,
checkpoints and the active model.  After an elastic restart (``torchrun
--max-restarts N``) the job resumes from the failed attempt's last checkpoint.
Validation runs on rank 0 on the whole
validation split while the other ranks wait at a barrier.  Every process
trains with the per-process batch size, so the effective batch is
``batch x world size``; the learning rate is not scaled (the log says so).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import torch
import torch.distributed as dist

if TYPE_CHECKING:
    from ...core.project import Project

T = TypeVar("T")


@dataclass(frozen=True)
class Distributed:
    rank: int
    world_size: int
    local_rank: int
    backend: str

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def shard(self, items: Sequence[T], epoch: int, seed: int) -> list[T]:
        """This process's share of ``items`` for ``epoch`` (every process gets the same
        number: the sampler pads by repeating items)."""
        from torch.utils.data import DistributedSampler

        # the sampler only takes the length of its dataset: a range of indices will do
        sampler: DistributedSampler[int] = DistributedSampler(
            range(len(items)), num_replicas=self.world_size,  # type: ignore[arg-type]
            rank=self.rank, shuffle=True, seed=seed)
        sampler.set_epoch(epoch)
        return [items[i] for i in sampler]

    def barrier(self) -> None:
        dist.barrier()

    def sum(self, value: float) -> float:
        t = torch.tensor([float(value)], dtype=torch.float64)
        if self.backend == "nccl":
            t = t.cuda()
        dist.all_reduce(t)
        return float(t.item())

    def from_main(self, *flags: bool) -> list[bool]:
        """Rank 0's value of each flag, in every process (one small broadcast)."""
        t = torch.tensor([float(bool(f)) for f in flags], dtype=torch.float64)
        if self.backend == "nccl":
            t = t.cuda()
        dist.broadcast(t, src=0)
        return [bool(v) for v in t.tolist()]

    def note(self, batch_size: int) -> str:
        return (f"distributed: {self.world_size} processes, backend {self.backend}; this is "
                f"rank {self.rank}; effective batch {batch_size} x {self.world_size} = "
                f"{batch_size * self.world_size}; learning rate not scaled (scale it with "
                "--lr); validation on rank 0")


def launched() -> bool:
    """Whether this process was started by torchrun with more than one process."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1")) > 1
    except ValueError:
        return False


def rank() -> int:
    try:
        return int(os.environ.get("RANK", "0"))
    except ValueError:
        return 0


def restart_count() -> int:
    """How often torchrun has restarted this job (``--max-restarts``); 0 outside it."""
    try:
        return int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")) if launched() else 0
    except ValueError:
        return 0


def restart_hazard() -> bool:
    """torchrun may restart the job but shares its rendezvous store with the workers: after
    a restart gloo then connects to the old addresses and fails (pytorch#135712)."""
    restarts = int(os.environ.get("TORCHELASTIC_MAX_RESTARTS", "0") or 0)
    return launched() and restarts > 0 and \
        os.environ.get("TORCH_DISABLE_SHARE_RDZV_TCP_STORE", "0") in ("", "0")


def restart_checkpoint(project: Project) -> str | None:
    """After an elastic restart: the last checkpoint of the newest run that did not
    complete (the attempt that failed), to resume from; None when there is none."""
    for run in reversed(project.runs.all()):
        if run.status == "completed":
            return None
        path = run.checkpoint
        if path and os.path.isfile(path):
            return str(path)
    return None


def device_for(device: torch.device) -> torch.device:
    """Under torchrun, CUDA processes each take the GPU of their local rank."""
    if launched() and device.type == "cuda":
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return device


def from_env(device: torch.device) -> Distributed | None:
    """Join torchrun's process group (once per process); None outside torchrun."""
    if not launched():
        return None
    backend = "nccl" if device.type == "cuda" else "gloo"
    if not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend=backend)
    return Distributed(dist.get_rank(), dist.get_world_size(),
                       int(os.environ.get("LOCAL_RANK", "0")), dist.get_backend())


def wrap(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    from torch.nn.parallel import DistributedDataParallel

    if device.type == "cuda":
        return DistributedDataParallel(model, device_ids=[device.index],
                                       output_device=device.index)
    return DistributedDataParallel(model)
