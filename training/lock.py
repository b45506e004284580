"""One retrain at a time per data folder: `<data_dir>/retrain.lock`, created with O_EXCL."""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

LOCK_NAME = "retrain.lock"


class RetrainError(ValueError):
    """Retraining cannot start or continue (bad input, nothing to train on)."""


class RetrainBusyError(RetrainError):
    """Another retrain holds the lock."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def retrain_lock(data_dir: Path) -> Iterator[Path]:
    """Hold `<data_dir>/retrain.lock` (O_EXCL). A lock left by a dead process on this host is
    taken over; a live holder makes this raise `RetrainBusyError`."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / LOCK_NAME
    holder = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
    for attempt in (1, 2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except FileExistsError:
            try:
                other = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                other = {}
            stale = (
                attempt == 1
                and other.get("host") == holder["host"]
                and isinstance(other.get("pid"), int)
                and not _pid_alive(other["pid"])
            )
            if stale:
                log.warning("removing stale retrain lock of dead process %s", other["pid"])
                path.unlink(missing_ok=True)
                continue
            raise RetrainBusyError(
                f"another retrain is running (pid {other.get('pid', '?')} on "
                f"{other.get('host', '?')}); lock file {path}. If no retrain is running, "
                "delete the lock file."
            ) from None
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(holder, fh)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)
