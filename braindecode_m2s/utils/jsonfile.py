"""JSON from elsewhere, read under one set of rules.

The one home of the package's untrusted JSON: the task store's records
(:mod:`braindecode_m2s.evaluation.records`), a model's ``config.json``
(:meth:`M2S.from_pretrained <braindecode_m2s.M2S.from_pretrained>`) and a
skorch history (``load_params(f_history=...)`` of the estimators) are all
read by :func:`read_json` or decoded by :func:`decode_json`:

- the file is read only if it is a regular file of at most a given size
  (:func:`~braindecode_m2s.utils.files.read_regular_file`: never a FIFO,
  which blocks forever, nor a device such as ``/dev/zero``, which never
  ends);
- its bytes must be strict UTF-8;
- the nesting of its brackets is checked before parsing, in one pass and
  constant memory (:func:`depth_ok`), so deep nesting is refused instead of
  raising ``RecursionError`` in :mod:`json`;
- it must hold one JSON value (nothing after it) of the expected type.

Anything else is a ``ValueError`` naming the file (``FileNotFoundError``
when there is no file). Python's :mod:`json` accepts ``NaN`` and
``Infinity`` (skorch writes them for a diverged loss) and refuses integers
of more than 4300 digits; both rules are kept.
"""

from __future__ import annotations

import json
import os
import re

from .files import read_regular_file

__all__ = ["decode_json", "depth_ok", "read_json"]

#: The characters that open or close strings, arrays and objects, and escapes.
_SPECIAL = re.compile(r'[\[\]{}"\\]')

#: Names of the JSON types of the Python values :mod:`json` gives.
_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}


def _json_type(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "number"
    return _JSON_TYPES.get(type(value), type(value).__name__)


def depth_ok(text, limit):
    """Whether the brackets of JSON ``text`` (outside strings) nest at most ``limit`` deep.

    One pass over the special characters, in constant memory (a regular
    expression matching whole strings needs memory in proportion to their
    length).

    Parameters
    ----------
    text : str
        JSON text.
    limit : int
        Deepest nesting of arrays and objects accepted.

    Returns
    -------
    bool
    """
    depth, in_string, escaped = 0, False, -1
    for match in _SPECIAL.finditer(text):
        i = match.start()
        if i == escaped:  # the character after a backslash
            continue
        c = text[i]
        if in_string:
            if c == "\\":
                escaped = i + 1
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "[{":
            depth += 1
            if depth > limit:
                return False
        elif c in "]}":
            depth -= 1
    return True


def decode_json(data, max_depth, expected=dict, error=ValueError):
    """The JSON value encoded in ``data``, checked as untrusted input.

    Parameters
    ----------
    data : bytes
        The encoded value (a file's content).
    max_depth : int
        Deepest nesting of arrays and objects accepted (checked before
        parsing).
    expected : type | tuple of type
        Python type(s) the value must have (``dict`` for a JSON object,
        ``list`` for an array).
    error : type[ValueError]
        Exception raised, with the reason as its message: a phrase to follow
        the file's name (``"is not UTF-8 (byte 3)"``).

    Returns
    -------
    object
        The value.

    Raises
    ------
    ValueError
        (``error``) If ``data`` is not UTF-8, nests deeper than
        ``max_depth``, is not one JSON value, or the value is not of the
        ``expected`` type.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise error(f"is not UTF-8 (byte {err.start})") from None
    if not depth_ok(text, max_depth):
        raise error(f"nests deeper than {max_depth} levels")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as err:  # ValueError: JSON, or an int of > 4300 digits
        raise error(f"is not JSON ({str(err).splitlines()[0][:120]})") from None
    if not isinstance(value, expected):
        wanted = expected if isinstance(expected, tuple) else (expected,)
        names = " or ".join(_JSON_TYPES.get(t, t.__name__) for t in wanted)
        article = "an" if names[0] in "aeiou" else "a"
        raise error(f"holds a JSON {_json_type(value)}; expected {article} {names}")
    return value


def _read_source(source, max_bytes, what, follow_symlinks):
    """``(name, bytes)`` of a path (a regular file) or an open file, at most ``max_bytes``."""
    if isinstance(source, (str, os.PathLike)):
        try:
            return str(source), read_regular_file(source, max_bytes, what, follow_symlinks)
        except FileNotFoundError:
            raise
        except OSError as err:  # a link, FIFO, device, folder or oversized file: one sentence
            reason = err.strerror or str(err)
            raise ValueError(reason if reason.endswith(".") else f"{reason}.") from None
    name = str(getattr(source, "name", f"<{type(source).__name__}>"))[:200]
    data = source.read(max_bytes + 1) if callable(getattr(source, "read", None)) else None
    if isinstance(data, str):
        data = data.encode("utf-8", errors="surrogatepass")  # a lone surrogate: not UTF-8
    if not isinstance(data, (bytes, bytearray)):
        raise ValueError(f"{what} {name!r} gave no bytes; expected a path or an open file.")
    if len(data) > max_bytes:
        raise ValueError(f"{what} {name!r} holds over {max_bytes} bytes; expected at most that.")
    return name, bytes(data)


def read_json(
    source,
    max_bytes,
    max_depth,
    expected=dict,
    what="JSON file",
    follow_symlinks=True,
    expect=None,
):
    """The JSON value of the file ``source``, read as untrusted input.

    Parameters
    ----------
    source : str | os.PathLike | file-like
        The file, or an open file (binary or text; read up to ``max_bytes``).
    max_bytes : int
        Largest size read; a larger file is refused unread.
    max_depth : int
        Deepest nesting of arrays and objects accepted.
    expected : type | tuple of type
        Python type(s) of the value (``dict``: a JSON object).
    what : str
        Describes the file in messages (``"Model configuration"``).
    follow_symlinks : bool
        Accept a symbolic link to a regular file (the Hugging Face cache
        links its files to blobs).
    expect : str | None
        What the file should hold, to end the message of a content that
        fails (``"the config.json written by save_pretrained"``).

    Returns
    -------
    object
        The value.

    Raises
    ------
    FileNotFoundError
        If nothing exists at ``source``.
    ValueError
        If it is not a regular file of at most ``max_bytes``, or its content
        fails :func:`decode_json`; the message names the file.
    """
    name, data = _read_source(source, max_bytes, what, follow_symlinks)
    try:
        return decode_json(data, max_depth, expected)
    except ValueError as err:
        reason = str(err)
        if expect is not None:
            reason += f" ({expect})" if "; expected" in reason else f"; expected {expect}"
        raise ValueError(f"{what} {name!r} {reason}.") from None
