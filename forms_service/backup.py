"""Backups: a consistent copy of the database, taken while the service runs, with the
uploaded documents, in one archive; and restoring one into an empty data folder.

Both hold everything personal: the archive, its members, and what a restore writes are
the owner's alone (files 0600, the folders it creates 0700), whatever the umask.
"""

import datetime as dt
import hashlib
import io
import json
import os
import sqlite3
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from .files import FILE_MODE, open_private, private_dir

FORMAT = "jamoum-portal-backup/1"


class BackupError(RuntimeError):
    pass


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _private_member(info: tarfile.TarInfo) -> tarfile.TarInfo:
    """Members unpack 0600 with any tool (tar keeps the mode it finds in the archive)."""
    info.mode = FILE_MODE
    return info


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), FILE_MODE
    info.mtime = int(dt.datetime.now(dt.UTC).timestamp())
    archive.addfile(info, io.BytesIO(data))


def backup(
    db_path: str,
    uploads: str,
    target: str,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Write `target` (.tar.gz): the database (SQLite online backup API) and its documents.

    `progress(step, total)` hears of each file archived, in bytes (a terminal's bar)."""
    uploads_dir = Path(uploads)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "portal.sqlite3"
        source = sqlite3.connect(db_path, timeout=30)
        destination = sqlite3.connect(copy)
        try:
            source.backup(destination)  # a consistent snapshot, even while others write
        finally:
            source.close()
        counts = {
            table: destination.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
            for table in ("submissions", "orphans", "documents", "events")
        }
        documents = destination.execute(
            "SELECT stored_name, sha256 FROM documents ORDER BY id"
        ).fetchall()
        destination.execute("PRAGMA journal_mode = DELETE")
        destination.close()
        manifest = {
            "format": FORMAT,
            "created_at": dt.datetime.now(dt.UTC).isoformat(),
            "counts": counts,
            "documents": {name: sha for name, sha in documents},
        }
        paths = [uploads_dir / name for name, _sha in documents]
        for path in paths:
            if not path.exists():
                raise BackupError(f"document {path.name} is missing from {uploads_dir}")
        sizes = [copy.stat().st_size, *(path.stat().st_size for path in paths)]
        tell = progress or (lambda step, total: None)
        total = sum(sizes)
        partial = Path(f"{target}.partial")
        with open_private(partial) as out:
            with tarfile.open(fileobj=out, mode="w:gz") as archive:
                archive.add(copy, "portal.sqlite3", filter=_private_member)
                tell(sizes[0], total)
                for path, size in zip(paths, sizes[1:], strict=True):
                    archive.add(path, f"uploads/{path.name}", filter=_private_member)
                    tell(size, total)
                _add_bytes(archive, "manifest.json", json.dumps(manifest, indent=1).encode())
            out.flush()
            os.fsync(out.fileno())
        partial.replace(target)  # never leave a half-written archive under the real name
    return manifest


def _member(archive: tarfile.TarFile, member: str | tarfile.TarInfo) -> IO[bytes]:
    """A member's content; BackupError for one that is not a file (a folder, say)."""
    content = archive.extractfile(member)
    if content is None:
        name = member if isinstance(member, str) else member.name
        raise BackupError(f"{name} in the archive is not a file")
    return content


def restore(archive_path: str, db_path: str, uploads: str) -> dict:
    """Unpack a backup into an empty data folder; check integrity and every document's hash."""
    db_file, uploads_dir = Path(db_path), Path(uploads)
    if db_file.exists() or (uploads_dir.exists() and any(uploads_dir.iterdir())):
        raise BackupError("restore only into an empty data folder: the database or uploads exist")
    with tarfile.open(archive_path, "r:gz") as archive:
        manifest = json.loads(_member(archive, "manifest.json").read())
        if manifest.get("format") != FORMAT:
            raise BackupError("not a portal backup")
        private_dir(db_file.parent)
        private_dir(uploads_dir)
        for member in archive.getmembers():
            name = member.name
            if name == "portal.sqlite3":
                target = db_file
            elif name.startswith("uploads/") and Path(name).name in manifest["documents"]:
                target = uploads_dir / Path(name).name
            else:
                continue  # manifest.json, or anything unexpected: never written anywhere
            with _member(archive, member) as src, open_private(target) as out:
                out.write(src.read())
    connection = sqlite3.connect(db_file)
    try:
        if connection.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise BackupError("the restored database fails its integrity check")
        connection.execute("PRAGMA journal_mode = WAL")
    finally:
        connection.close()
    for name, sha in manifest["documents"].items():
        if _sha256(uploads_dir / name) != sha:
            raise BackupError(f"document {name} does not match its SHA-256")
    return manifest
