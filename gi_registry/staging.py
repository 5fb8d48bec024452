"""Import files a clean dry run checked, kept so that Import can take them without the file chosen again.

Such a file holds people's names and phone numbers: it stays only until it is imported, refused or
replaced by another checked file, and never longer than a form's CSRF token lasts.
"""

import hashlib
import os
import re
import tempfile
import time
from pathlib import Path

_DIGEST = re.compile(r"[0-9a-f]{64}")
# What keep() writes, finished or not: nothing else in the folder is the import's to remove.
_KEPT = re.compile(r"(?:\d+-[0-9a-f]{64}|\.partial-\w+)")


def lifetime(config) -> float:
    """Seconds a kept file is of use: as long as the form that names it can be sent."""
    return config.get("WTF_CSRF_TIME_LIMIT") or 8 * 3600


def keep(directory: str, *, owner: int, name: str, content: bytes) -> str:
    """Keep a checked file and its name for its owner; returns the SHA-256 that names it (the form's
    hidden field). The name is kept here, not in the form, as the audit log records it."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(content).hexdigest()
    # Written beside its final name and renamed, so a reader never takes half a file.
    handle, partial = tempfile.mkstemp(dir=folder, prefix=".partial-")
    with os.fdopen(handle, "wb") as out:
        out.write(" ".join(name.splitlines()).encode(errors="replace") + b"\n" + content)
    os.replace(partial, _path(folder, owner, digest))
    return digest


def take(directory: str, *, owner: int, digest: str, max_age_seconds: float) -> tuple[str, bytes] | None:
    """The owner's kept file with this digest, as (name, content); None where there is none (or it is too
    old to use)."""
    if not _DIGEST.fullmatch(digest or ""):
        return None
    path = _path(Path(directory), owner, digest)
    try:
        if time.time() - path.stat().st_mtime > max_age_seconds:
            return None
        name, _, content = path.read_bytes().partition(b"\n")
    except OSError:
        return None
    return (name.decode(), content) if hashlib.sha256(content).hexdigest() == digest else None


def discard(directory: str, *, owner: int, digest: str) -> None:
    if _DIGEST.fullmatch(digest or ""):
        _path(Path(directory), owner, digest).unlink(missing_ok=True)


def _path(folder: Path, owner: int, digest: str) -> Path:
    # The owner in the name: an admin's Import takes only a file that admin checked.
    return folder / f"{int(owner)}-{digest}"


def prune(directory: str, max_age_seconds: float) -> int:
    """Remove files nobody imported in time (a form that old cannot be sent any more); returns how many.
    Only the files keep() writes: a folder set by mistake to one that holds other files loses none of them."""
    folder, oldest, removed = Path(directory), time.time() - max_age_seconds, 0
    for path in folder.iterdir() if folder.is_dir() else ():
        if not _KEPT.fullmatch(path.name):
            continue
        try:
            if path.stat().st_mtime < oldest:
                path.unlink()
                removed += 1
        except OSError:  # another worker removed it first
            continue
    return removed
