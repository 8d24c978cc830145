"""The output-directory policy, one place for every command that writes a directory.

1. An output directory never loses a file the command did not write. A non-empty directory is
   accepted only if it is a previous output of bert-edge: it holds our manifest (MANIFEST, the
   list of files we wrote there) or, for directories written before manifests existed, the
   command's marker file (e.g. metrics.json, parity.json, manifest.json).
2. It is checked up front, before any work: a file in its place, an unwritable location
   (read-only or immutable directory, a path under a file) fails in seconds, not after training.
3. The new output is built in a temp directory next to it and swapped in at the end
   (`fsutil.atomic_dir`); files in the old directory that we did not write are carried over to
   the new one, our own old files go. A failure before the swap leaves the old directory as it was.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Iterable, Optional

from pipeline.errors import BertEdgeError

MANIFEST = ".bert-edge.json"
# Records that belong to the directory's producer without being listed in the manifest.
OWN_RECORDS = (MANIFEST, ".stage.json")


def _probe_writable(d: Path, label: str) -> None:
    """Create and remove a temp file in `d`: the only test that also catches chattr +i, read-only
    mounts and root (for whom permission bits mean nothing)."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".bert-edge-probe-", dir=d)
        os.close(fd)
        os.unlink(tmp)
    except OSError as e:
        raise BertEdgeError(f"{label}: cannot write in {d} ({e.strerror or e})") from None


def _nearest_existing(p: Path) -> Path:
    p = p.absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def check_writable_file(path: str | Path, flag: str) -> None:
    """An output *file* (e.g. bench --update-readme): its directory must be writable; an existing
    file must be a regular file."""
    p = Path(path)
    if p.exists() and not p.is_file():
        raise BertEdgeError(f"{flag} {p}: not a regular file")
    parent = _nearest_existing(p.parent)
    if not parent.is_dir():
        raise BertEdgeError(f"{flag} {p}: {parent} is a file, not a directory")
    if parent != p.parent.absolute():
        raise BertEdgeError(f"{flag} {p}: directory {p.parent} does not exist")
    _probe_writable(parent, f"{flag} {p}")


def check_writable_dir(path: str | Path, flag: str) -> None:
    """A directory that files are written into one by one (bench --out): usable or creatable."""
    d = Path(path)
    if d.exists() and not d.is_dir():
        raise BertEdgeError(f"{flag} {d}: exists and is not a directory")
    parent = _nearest_existing(d)
    if not parent.is_dir():
        raise BertEdgeError(f"{flag} {d}: {parent} is a file, not a directory")
    _probe_writable(parent, f"{flag} {d}")


def read_manifest(d: Path) -> Optional[dict]:
    try:
        m = json.loads((Path(d) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return m if isinstance(m, dict) and isinstance(m.get("files"), list) else None


def is_ours(d: Path, marker: Optional[str] = None) -> bool:
    return read_manifest(d) is not None or bool(marker and (Path(d) / marker).is_file())


def check_output_dir(path: str | Path, what: str, marker: Optional[str] = None,
                     flag: str = "--out") -> Path:
    """Fail fast (exit 2) unless `path` can become the `what` output: new or empty, or a previous
    bert-edge output (manifest, or `marker` for older outputs), and writable."""
    d = Path(path)
    label = f"{flag} {d}" if flag else str(d)
    if d.exists() and not d.is_dir():
        raise BertEdgeError(f"{label}: exists and is not a directory")
    if d.is_dir():
        visible = sorted(p.name for p in d.iterdir() if p.name not in OWN_RECORDS)
        if visible and not is_ours(d, marker):
            shown = ", ".join(visible[:3]) + (", ..." if len(visible) > 3 else "")
            raise BertEdgeError(f"{label} is not empty and is not a {what} directory written by bert-edge "
                                f"(it holds {shown}); refusing to write there: choose a new or empty directory")
        _probe_writable(d, label)  # its files are moved into the new output
    parent = _nearest_existing(d.parent)
    if not parent.is_dir():
        raise BertEdgeError(f"{label}: {parent} is a file, not a directory")
    _probe_writable(parent, label)  # the temp directory is built next to the output
    return d


def list_files(d: Path) -> list[str]:
    return sorted(p.relative_to(d).as_posix() for p in Path(d).rglob("*")
                  if p.is_file() and p.name not in OWN_RECORDS)


def write_manifest(d: Path, what: str, files: Iterable[str]) -> None:
    (Path(d) / MANIFEST).write_text(json.dumps({"tool": "bert-edge", "what": what,
                                                "files": sorted(files)}, indent=1) + "\n",
                                    encoding="utf-8")


def foreign_entries(old: Path, new_files: set[str]) -> list[str]:
    """Top-level entries of the old output that we did not write (kept across a replace).
    Without a manifest (an older output), everything the new output does not overwrite."""
    m = read_manifest(old)
    ours = {f.split("/")[0] for f in (m["files"] if m else [])} | set(OWN_RECORDS)
    new_top = {f.split("/")[0] for f in new_files}
    return sorted(p.name for p in Path(old).iterdir()
                  if p.name not in ours and (m is not None or p.name not in new_top))
