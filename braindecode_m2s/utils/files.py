"""Files written whole or not at all, and files read without surprises.

The one home of the package's file safety:

- :func:`atomic_path`, :func:`atomic_write_bytes`, :func:`atomic_write_text`:
  every output (task records, cached arrays, tables, figures, model files)
  is written to a temporary file beside its destination and moved into
  place with :func:`os.replace`, so a killed process, a full disk or
  Ctrl-C leaves either the previous file or the new one, never half of
  one, and no temporary file behind. The temporary file's name carries the
  writer's process id (:func:`temporary_writer`), so a folder's owner can
  tell the leftovers of a writer that was killed (``SIGKILL``, a crash of
  the machine) from a write under way.
- :func:`check_regular_file`, :func:`read_regular_file`: inputs are opened
  only when they are regular files (never a FIFO, which blocks forever, nor
  a device such as ``/dev/zero``, which never ends), and read with a size
  cap.
- :func:`check_writable_dir`: an output folder is checked before any work.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
from pathlib import Path

__all__ = [
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "check_regular_file",
    "check_writable_dir",
    "read_regular_file",
    "temporary_writer",
]

#: Name of a temporary file of :func:`atomic_path`, ``.<name>.pid<PID>.<random>.tmp``.
_TEMPORARY = re.compile(r"(?:.*\.)?pid(\d+)\.[^.]+\.tmp")


@contextlib.contextmanager
def atomic_path(path, fsync=True):
    """Yield a temporary path beside ``path``; move it onto ``path`` on success.

    Write the file at the yielded path, whose name ends in ``.tmp`` (so a
    writer that adds an extension to a name must be given an open file, as
    ``numpy.save`` is, or an explicit format, as ``Figure.savefig``). When
    the block ends normally the file is flushed to disk (``fsync``) and
    renamed onto ``path`` atomically; when it raises (an ``OSError`` of a
    full disk, a ``KeyboardInterrupt``) the temporary file is removed and
    ``path`` is left as it was. The temporary name carries the writer's
    process id (:func:`temporary_writer`).

    Parameters
    ----------
    path : str | Path
        Destination; its folder must exist.
    fsync : bool
        Flush to disk before the rename (survives a power loss, not only a
        killed process; costly on network file systems).

    Yields
    ------
    pathlib.Path
        Where to write.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.pid{os.getpid()}.", suffix=".tmp", dir=path.parent
    )
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        if fsync:
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def temporary_writer(name):
    """Process id of the writer of a temporary file of :func:`atomic_path`.

    Parameters
    ----------
    name : str
        A file name.

    Returns
    -------
    int | None
        The id of the process that created ``name`` while writing, or None
        when ``name`` is not a temporary file of :func:`atomic_path`.
    """
    match = _TEMPORARY.fullmatch(name)
    return None if match is None else int(match.group(1))


def atomic_write_bytes(path, data, fsync=True):
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`).

    Parameters
    ----------
    path : str | Path
        Destination; its folder must exist.
    data : bytes
        Content.
    fsync : bool
        Flush to disk before the rename.
    """
    with atomic_path(path, fsync=fsync) as tmp, open(tmp, "wb") as f:
        f.write(data)


def atomic_write_text(path, text, fsync=True):
    """Write ``text`` (UTF-8) to ``path`` atomically; see :func:`atomic_write_bytes`."""
    atomic_write_bytes(path, text.encode("utf-8"), fsync=fsync)


def check_writable_dir(path, what="output folder"):
    """Create ``path`` if needed and check that files can be written in it.

    Parameters
    ----------
    path : str | Path
        A folder (created with its parents when missing).
    what : str
        Its role, for the error message.

    Returns
    -------
    Path

    Raises
    ------
    OSError
        If ``path`` is a file, cannot be created, or refuses a new file.
    """
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise OSError(f"{what} {str(path)!r} is a file; expected a folder.")
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".m2s-write-check.", dir=path)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise OSError(
            f"{what} {str(path)!r} is not writable ({err.strerror or err}); "
            f"expected a folder where files can be created."
        ) from None
    return path


def _kind(mode):
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def check_regular_file(path, what="File"):
    """Return ``path`` if it is a readable regular file, else raise naming it.

    Symbolic links are followed (dataset trees are often links into shared
    storage); what they point to must be a regular file.

    Parameters
    ----------
    path : str | pathlib.Path
        The path.
    what : str
        Describes the file in messages (e.g. ``"MATLAB file"``).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    FileNotFoundError
        If nothing exists at ``path`` (a dangling symbolic link included).
    OSError
        If ``path`` cannot be examined (a symbolic link loop, no permission),
        or is a folder, FIFO, socket or device rather than a regular file:
        opening a FIFO would block forever.
    """
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"{what} {str(path)!r} does not exist.") from None
    except OSError as err:
        raise OSError(
            err.errno, f"{what} {str(path)!r} cannot be examined ({err.strerror})", str(path)
        ) from None
    if not stat.S_ISREG(st.st_mode):
        error = IsADirectoryError if stat.S_ISDIR(st.st_mode) else OSError
        raise error(f"{what} {str(path)!r} is {_kind(st.st_mode)}; expected a regular file.")
    return path


def read_regular_file(path, max_bytes, what="File", follow_symlinks=False):
    """The bytes of ``path``, read only if it is a regular file of at most ``max_bytes``.

    The file is opened without blocking and, unless ``follow_symlinks``,
    without following a symbolic link (``O_NOFOLLOW``), then checked on the
    open descriptor (no race between the check and the read): a link, a
    FIFO, a device (``/dev/zero``) or a file larger than the cap is refused
    before anything is read.

    Parameters
    ----------
    path : str | Path
        The file.
    max_bytes : int
        Largest size accepted.
    what : str
        Describes the file in messages.
    follow_symlinks : bool
        Accept a symbolic link to a regular file.

    Returns
    -------
    bytes

    Raises
    ------
    FileNotFoundError
        If nothing exists at ``path``.
    OSError
        If ``path`` is not a regular file (or is a link and links are
        refused), cannot be opened, or exceeds ``max_bytes``.
    """
    path = Path(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise FileNotFoundError(f"{what} {str(path)!r} does not exist.") from None
    except OSError as err:
        if not follow_symlinks and os.path.islink(path):
            raise OSError(
                f"{what} {str(path)!r} is a symbolic link; expected a regular file."
            ) from None
        raise OSError(
            err.errno, f"{what} {str(path)!r} cannot be opened ({err.strerror})", str(path)
        ) from None
    try:  # checked on the descriptor: a folder opens too, and must not reach fdopen
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(f"{what} {str(path)!r} is {_kind(st.st_mode)}; expected a regular file.")
        if st.st_size > max_bytes:
            raise OSError(
                f"{what} {str(path)!r} holds {st.st_size} bytes; expected at most {max_bytes}."
            )
        f = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:  # grew while being read
        raise OSError(f"{what} {str(path)!r} holds over {max_bytes} bytes; expected at most that.")
    return data
