"""Files and folders that hold personal data: the owner's alone, whatever the umask.

The usual umask (022) leaves new files 0644 and folders 0755, readable by every account on
the machine. What the portal writes with personal data in it (the database, documents,
backups, exports) is created 0600, and the folders it creates for them 0700.
"""

import contextlib
import os
import stat
from pathlib import Path
from typing import IO, Any

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: str | os.PathLike[str]) -> Path:
    """Create the folder and any missing parents 0700; folders that exist are left as they are."""
    path = Path(path)
    missing = []
    for folder in (path, *path.parents):
        if folder.is_dir():
            break
        missing.append(folder)
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made at the same moment by another process
            folder.mkdir(mode=DIR_MODE)
            folder.chmod(DIR_MODE)  # mkdir's mode passes through the umask
    return path


def private_file(path: str | os.PathLike[str]) -> Path:
    """Create an empty file 0600 if there is none (for SQLite to fill); leave one that exists."""
    path = Path(path)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
        path.chmod(FILE_MODE)
    return path


def open_private(
    path: str | os.PathLike[str], mode: str = "wb", encoding: str | None = None
) -> IO[Any]:
    """Open `path` for writing from the start, 0600: a new file, or one that existed (its
    mode is narrowed before anything is written; a device such as /dev/stdout is left be)."""
    if mode not in ("w", "wb"):
        raise ValueError("open_private writes a file from the start: mode 'w' or 'wb'")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            os.fchmod(fd, FILE_MODE)
            os.ftruncate(fd, 0)
        return os.fdopen(fd, mode, encoding=encoding)
    except BaseException:
        os.close(fd)
        raise
