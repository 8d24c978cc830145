"""Atomic file and directory writes: nothing half-written ever sits under a final name."""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from converters.files import atomic_path, write_json_atomic, write_text_atomic  # noqa: F401  (one definition)


@contextlib.contextmanager
def atomic_dir(final: str | os.PathLike, what: str = "output", marker: str | None = None) -> Iterator[Path]:
    """Yield an empty temp directory next to `final`; swap it in for `final` on success.

    The policy is pipeline/outdir.py's: `final` must be new, empty or a previous bert-edge output;
    files in it that bert-edge did not write are moved into the new output, never deleted. On
    failure the temp directory is removed and any previous `final` is left untouched.
    """
    from pipeline.errors import BertEdgeError
    from pipeline.outdir import check_output_dir, foreign_entries, list_files, write_manifest

    final = Path(final)
    check_output_dir(final, what, marker, flag="")
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    try:
        yield tmp
        files = list_files(tmp)
        write_manifest(tmp, what, files)
        old = None
        if final.exists():
            keep = foreign_entries(final, set(files))
            clash = sorted(set(keep) & {f.split("/")[0] for f in files})
            if clash:  # never overwrite a user's file with ours
                raise BertEdgeError(f"{final / clash[0]}: not written by bert-edge, and the new {what} "
                                    "has a file of that name; move it away and re-run")
            old = final.with_name(f".{final.name}.old-{os.getpid()}")
            os.replace(final, old)
            try:
                os.replace(tmp, final)
            except BaseException:
                os.replace(old, final)
                raise
            for name in keep:  # the user's files follow the directory
                os.replace(old / name, final / name)
        else:
            os.replace(tmp, final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


