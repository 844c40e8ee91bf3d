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
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import ConfigError

if TYPE_CHECKING:
    from bot.config import Settings

# Group and others get nothing.
OWNER_ONLY_UMASK = 0o077
# The directories serve keeps in data_dir, made when first needed: a file in their place failed only then.
DATA_SUBDIRECTORIES = {"media": "residents' photos", "exports": "the console's CSV exports"}


def keep_files_private() -> None:
    """Every file and directory this process creates from now on is its user's alone (0600, 0700)."""
    os.umask(OWNER_ONLY_UMASK)


def make_data_dir(settings: Settings) -> None:
    """Makes data_dir (0700 when new), or says in a ConfigError naming the key why it cannot be used; says
    on stderr when other users may read what is in it."""
    path = settings.data_dir
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = data_dir_problem(path) or f"cannot create {path}: {exc.strerror or exc}"
        raise ConfigError(f"{settings.written_as('data_dir')}: {reason}") from exc
    problem = data_dir_problem(path)
    if problem:
        raise ConfigError(f"{settings.written_as('data_dir')}: {problem}")
    warn_if_others_can_read(path)


def data_dir_problem(path: Path) -> str | None:
    """Why serve could not keep its data in ``path`` (None: it can), found without leaving anything behind.
    Whether a directory can be made or written in is tried (a directory made and removed at once in the
    nearest one there): permissions do not tell it for root, nor under /proc or on a read-only mount."""
    nearest = next(folder for folder in (path, *path.parents) if folder.exists() or folder == Path(""))
    if not nearest.is_dir():
        if nearest == path:
            return f"{path} is a file, not a directory"
        return f"{path} cannot be a directory: {nearest} is a file"
    if nearest == path:
        for name, what in DATA_SUBDIRECTORIES.items():
            inside = path / name
            if inside.exists() and not inside.is_dir():
                return f"{inside} is a file, but {what} are kept in that directory; move it away"
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".open311-bot-check-", dir=nearest))
    except OSError as exc:
        doing = f"write in {path}" if nearest == path else f"create {path}"
        return f"cannot {doing}: {exc.strerror or exc}; give a directory this user can write, or make it"
    return None


def warn_if_others_can_read(path: Path) -> None:
    """Says on stderr when other users may read data_dir (made by an earlier release or by hand)."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        print(
            f"open311-bot: warning: data_dir {path} can be read by other users (mode {mode:04o}) and holds "
            f"residents' messages and photos; make it yours alone: chmod -R go= {path}",
            file=sys.stderr,
            flush=True,
        )
