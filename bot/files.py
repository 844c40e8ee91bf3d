"""The files the bot writes hold residents' data (the SQLite database, their photos, the console's and the
CLI's CSV exports, a model trained on their words): they are its user's alone.

Every ``open311-bot`` command sets its process's umask to 077 first (``bot.cli.main``), so each file it
creates, SQLite's own (the database, its WAL and shared memory, created with the database's mode) and the
libraries' included, is 0600 and each directory 0700, whatever umask it was started with. A data directory
made by an earlier release or by hand is not changed (it may be a shared mount, a home directory): ``serve``
and ``worker`` warn when other users may read it.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

# Group and others get nothing.
OWNER_ONLY_UMASK = 0o077


def keep_files_private() -> None:
    """Every file and directory this process creates from now on is its user's alone (0600, 0700)."""
    os.umask(OWNER_ONLY_UMASK)


def make_data_dir(path: Path) -> None:
    """Makes ``path`` (0700 when new); says on stderr when other users may read what is in it."""
    path.mkdir(parents=True, exist_ok=True)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        print(
            f"open311-bot: warning: data_dir {path} can be read by other users (mode {mode:04o}) and holds "
            f"residents' messages and photos; make it yours alone: chmod -R go= {path}",
            file=sys.stderr,
            flush=True,
        )
