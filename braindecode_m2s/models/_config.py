"""A model's ``config.json`` read as untrusted input (:meth:`M2S.from_pretrained`).

braindecode's hub mixin (through ``huggingface_hub``) opens ``config.json``
with a plain ``open`` and ``json.load``, and decodes a ``type`` parameter
(the activation) by importing whatever dotted name the file gives. For a
file from elsewhere that means: a link to ``/dev/zero`` is read until memory
runs out, a FIFO blocks forever, deep nesting raises ``RecursionError``, and
``"activation": "os.abort"`` imports and then calls that function. This
module reads the file once, under the same rules as the dataset readers,
so that every such file is a ``ValueError`` (or ``FileNotFoundError``)
naming it, and :meth:`M2S.from_pretrained` builds the model from what was
checked: neither the hub mixin nor braindecode opens the file again (a file
swapped after the check is never read).
"""

from __future__ import annotations

import inspect
from pathlib import Path

from ..utils.jsonfile import read_json

__all__ = [
    "HUB_OPTIONS", "MAX_CONFIG_BYTES", "read_config", "check_pretrained_config", "pretrained_file",
]  # fmt: skip

#: Largest ``config.json`` read (a real one is under 10 kB, channel positions
#: of 4096 electrodes included).
MAX_CONFIG_BYTES = 2**20
#: Deepest nesting accepted in ``config.json`` (``chs_info`` is a list of
#: dicts of lists: three levels).
MAX_CONFIG_DEPTH = 8


def read_config(path, parameters, where):
    """The JSON object of ``path``, checked as untrusted input.

    Parameters
    ----------
    path : str | Path
        The ``config.json``.
    parameters : collection of str
        The names the object may hold (besides ``braindecode_version``).
    where : str
        Who reads it, for messages.

    Returns
    -------
    dict

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If it is not a regular file of at most :data:`MAX_CONFIG_BYTES`,
        not UTF-8 JSON, nested deeper than :data:`MAX_CONFIG_DEPTH`, not an
        object, or holds a key that is not a parameter.
    """
    try:
        config = read_json(
            path, MAX_CONFIG_BYTES, MAX_CONFIG_DEPTH, dict, "Model configuration",
            expect="the config.json of save_pretrained: one object of the model's parameters",
        )  # fmt: skip
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None
    unknown = sorted(set(config) - set(parameters) - {"braindecode_version"})
    if unknown:
        raise ValueError(
            f"{where}: model configuration {str(path)!r} holds {unknown[0]!r}, which is not "
            f"a parameter of the model; expected only {sorted(parameters)}."
        )
    return config


#: ``from_pretrained`` arguments that say where a Hub repository's files come from
#: (those of ``huggingface_hub``'s ``ModelHubMixin.from_pretrained``).
HUB_OPTIONS = ("revision", "cache_dir", "force_download", "token", "local_files_only")


def _is_folder(model_id, where):
    """True for a local folder, False for a Hub repository id (else the error)."""
    local = Path(model_id)
    if local.is_dir():
        return True
    text = str(model_id)
    if local.exists() or local.is_absolute() or text.startswith(".") or text.count("/") > 1:
        error, what = (
            (ValueError, "is not a folder")
            if local.exists()
            else (FileNotFoundError, "does not exist")
        )
        raise error(
            f"{where}: {text!r} {what}; expected a folder written by save_pretrained or a "
            f"Hub repository id ('namespace/name')."
        )
    return False


def pretrained_file(model_id, filename, options, where):
    """The path of ``filename`` in a ``save_pretrained`` folder or a Hub repository.

    Parameters
    ----------
    model_id : str | Path
        A folder, or a Hub repository id (the file is downloaded to the Hub
        cache, or found there).
    filename : str
        ``"config.json"``, ``"model.safetensors"``...
    options : dict
        :data:`HUB_OPTIONS` given to ``from_pretrained``.
    where : str
        Who asks, for messages.

    Returns
    -------
    Path
        For a folder, the file's path whether it exists or not.

    Raises
    ------
    FileNotFoundError
        If the folder does not exist, or the repository does not hold the
        file (a ``huggingface_hub`` ``EntryNotFoundError`` becomes this), or
        the Hub cannot be reached and the file is not cached.
    """
    if _is_folder(model_id, where):
        return Path(model_id) / filename
    import huggingface_hub

    text = str(model_id)
    try:
        return Path(huggingface_hub.hf_hub_download(repo_id=text, filename=filename, **options))
    except huggingface_hub.errors.LocalEntryNotFoundError:
        raise FileNotFoundError(
            f"{where}: the {filename} of the Hub repository {text!r} is not in the local "
            f"cache and the Hub cannot be reached; expected a reachable Hub or a folder "
            f"written by save_pretrained."
        ) from None
    except huggingface_hub.errors.EntryNotFoundError:
        raise FileNotFoundError(
            f"{where}: the Hub repository {text!r} holds no {filename}; expected the files "
            f"of save_pretrained / push_to_hub."
        ) from None


def check_pretrained_config(cls, model_id, kwargs):
    """Check the ``config.json`` that ``cls.from_pretrained(model_id, **kwargs)`` will read.

    Returns
    -------
    path : Path
        The file checked.
    config : dict
        Its content.

    Raises
    ------
    FileNotFoundError
        If ``model_id`` is a folder without ``config.json``.
    ValueError
        As :func:`read_config`; the values themselves are checked by the
        model's constructor.
    """
    parameters = set(inspect.signature(cls.__init__).parameters) - {"self"}
    where = f"{cls.__name__}.from_pretrained"
    options = {k: kwargs[k] for k in HUB_OPTIONS if k in kwargs}
    path = pretrained_file(model_id, "config.json", options, where)
    if not path.exists() and not path.is_symlink():
        raise FileNotFoundError(
            f"{where}: {str(path.parent)!r} holds no config.json; expected a folder written "
            f"by save_pretrained."
        )
    return path, read_config(path, parameters, where)
