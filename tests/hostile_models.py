"""Model folders, weights files and skorch histories, valid and hostile.

Shared by ``tests/test_model_files.py`` (each case in a child process under
limits) and the ``model`` / ``history`` fuzz families of
``tests/fuzz/fuzzlib.py``. Everything here writes files; nothing reads them.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import struct
import zipfile
import zlib
from pathlib import Path

import torch

#: A small M2S (``tests/conftest.py``'s ``SMALL``), as a config.json holds it.
SMALL = dict(
    n_chans=6, n_outputs=3, modalities={"eye": 4}, embed_dim=16, proj_dim=8, n_layers=1,
    n_heads=2, head_dim=8, ff_dim=32, classifier_hidden=16,
)  # fmt: skip

#: A repository name the simulated Hub (:func:`simulated_hub`) serves.
HUB_REPO = "someone/m2s-model"


def save_small(folder, seed=0, **sizes):
    """Write ``M2S(**SMALL, **sizes).save_pretrained(folder)``; return the model."""
    from braindecode_m2s import M2S

    torch.manual_seed(seed)
    model = M2S(**{**SMALL, **sizes}).eval()
    model.save_pretrained(folder)
    return model


def safetensors_bytes(state):
    """A safetensors file of ``state`` (a dict of tensors)."""
    from safetensors.torch import save

    return save({k: v.contiguous() for k, v in state.items()})


def torch_save_bytes(obj):
    """``torch.save(obj)``'s zip archive, as bytes."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def split_safetensors(data):
    """``(header dict, tensor bytes)`` of a safetensors file."""
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8 : 8 + n]), data[8 + n :]


def join_safetensors(header, body, pad=True):
    """A safetensors file of ``header`` (a dict) and ``body``."""
    text = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + body


def safetensors_huge_tensor(data):
    """``data`` with its first tensor declared ``(2**20, 2**20)`` float32 (4 TiB)."""
    header, body = split_safetensors(data)
    name = next(k for k in header if k != "__metadata__")
    header[name]["shape"] = [2**20, 2**20]
    header[name]["data_offsets"] = [0, 2**42]
    return join_safetensors(header, body)


def safetensors_header_length(data, length=2**40):
    """``data`` whose 8-byte header length says ``length``."""
    return struct.pack("<Q", length) + data[8:]


def rewrite_archive(data, change):
    """A copy of ``torch.save``'s archive ``data`` with ``change(name, bytes, info)`` applied.

    ``change`` returns the entry's new bytes, or ``(bytes, compress_type)``.
    """
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            new = change(info.filename, src.read(info.filename))
            content, method = new if isinstance(new, tuple) else (new, zipfile.ZIP_STORED)
            dst.writestr(zipfile.ZipInfo(info.filename, info.date_time), content, method)
    return out.getvalue()


def archive_huge_storage(data):
    """``data`` (``torch.save`` of a state dict) whose pickle declares huge storages and sizes."""
    big = b"J" + struct.pack("<i", 2**31 - 1)

    def change(name, content):
        if name.endswith("data.pkl"):  # every small count (BININT1) in a tuple, made 2**31 - 1
            return re.sub(rb"K[\x01-\xff](?=[t\x85])", big, content)
        return content

    return rewrite_archive(data, change)


def archive_zip_bomb(data, size=256 * 2**20):
    """``data`` with its first tensor record replaced by ``size`` deflated zero bytes."""
    done = []

    def change(name, content):
        if re.search(r"/data/\d+$", name) and not done:
            done.append(name)
            packer = zlib.compressobj(9, zlib.DEFLATED, -15)
            chunk = bytes(2**20)
            stream = b"".join(packer.compress(chunk) for _ in range(size // 2**20))
            return _Deflated(stream + packer.flush(), size), zipfile.ZIP_DEFLATED
        return content

    return _write_with_raw(data, change)


class _Deflated(bytes):
    """Already-deflated bytes and the size they inflate to (for :func:`_write_with_raw`)."""

    def __new__(cls, stream, size):
        obj = super().__new__(cls, stream)
        obj.inflated = size
        return obj


def _write_with_raw(data, change):
    """:func:`rewrite_archive`, where ``change`` may give pre-deflated :class:`_Deflated`."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            new = change(info.filename, src.read(info.filename))
            content, method = new if isinstance(new, tuple) else (new, zipfile.ZIP_STORED)
            entry = zipfile.ZipInfo(info.filename, info.date_time)
            entry.compress_type = method
            if isinstance(content, _Deflated):
                _write_deflated(dst, entry, content)
            else:
                dst.writestr(entry, content)
    return out.getvalue()


def _write_deflated(archive, entry, stream):
    """Append a deflated entry to ``archive`` without inflating it (its CRC is of zeros)."""
    crc = 0
    chunk = bytes(2**20)
    for _ in range(stream.inflated // 2**20):
        crc = zlib.crc32(chunk, crc)
    entry.CRC, entry.compress_size, entry.file_size = crc, len(stream), stream.inflated
    entry.header_offset = archive.fp.tell()
    archive.fp.write(entry.FileHeader(False))
    archive.fp.write(stream)
    archive.start_dir = archive.fp.tell()
    archive.filelist.append(entry)
    archive.NameToInfo[entry.filename] = entry
    archive._didModify = True


def archive_calling(data, function=("os", "system"), argument="touch pwned"):
    """``data`` whose pickle calls ``function(argument)`` (weights_only must refuse it)."""
    module, name = function
    payload = (
        b"\x80\x02c" + f"{module}\n{name}\n".encode() + b"X"
        + struct.pack("<I", len(argument.encode())) + argument.encode() + b"\x85R."
    )  # fmt: skip

    def change(entry, content):
        return payload if entry.endswith("data.pkl") else content

    return rewrite_archive(data, change)


def deep_json(depth, inner=b"0"):
    """``[[[...inner...]]]``, ``depth`` brackets deep."""
    return b"[" * depth + inner + b"]" * depth


def place(path, kind, data=b"", sparse_size=0):
    """Put a file at ``path``: ``data``, or a link to ``/dev/zero``, a FIFO, a folder,
    a sparse file of ``sparse_size + 1`` bytes, or nothing (``"missing"``)."""
    path = Path(path)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    if kind == "regular":
        path.write_bytes(data)
    elif kind == "link_dev_zero":
        os.symlink("/dev/zero", path)
    elif kind == "link_regular":
        target = path.with_name(f".{path.name}.target")
        target.write_bytes(data)
        os.symlink(target, path)
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    elif kind == "sparse":
        with open(path, "wb") as f:
            f.truncate(sparse_size + 1)
    elif kind != "missing":
        raise ValueError(f"unknown file kind {kind!r}")


@contextlib.contextmanager
def simulated_hub(folder, repo=HUB_REPO):
    """Serve ``folder``'s files as the Hub repository ``repo`` (no network).

    ``huggingface_hub.hf_hub_download`` (as braindecode, the hub mixin and
    this package call it) returns the file's path in ``folder``, or raises
    ``EntryNotFoundError`` when the folder has no such file: the mixin then
    falls back from ``model.safetensors`` to ``pytorch_model.bin``.
    """
    import huggingface_hub
    from huggingface_hub import hub_mixin
    from huggingface_hub.errors import EntryNotFoundError

    def download(repo_id, filename, **kwargs):
        path = Path(folder) / filename
        if repo_id != repo or not (path.exists() or path.is_symlink()):
            raise EntryNotFoundError(f"{filename} is not in {repo_id}")
        return str(path)

    saved = huggingface_hub.hf_hub_download, hub_mixin.hf_hub_download
    huggingface_hub.hf_hub_download = hub_mixin.hf_hub_download = download
    try:
        yield repo
    finally:
        huggingface_hub.hf_hub_download, hub_mixin.hf_hub_download = saved


def valid_history(n_epochs=2, n_batches=3, seed=0):
    """A history as skorch writes it for M2SClassifier (epochs of batches, losses, bests)."""
    import random

    rng = random.Random(seed)
    history, best = [], float("inf")
    for epoch in range(1, n_epochs + 1):
        batches = [{"train_loss": rng.random(), "train_batch_size": 16} for _ in range(n_batches)]
        loss = sum(b["train_loss"] for b in batches) / max(n_batches, 1)
        history.append(
            {
                "batches": batches,
                "epoch": epoch,
                "train_batch_count": n_batches,
                "dur": rng.random(),
                "train_loss": loss,
                "train_loss_best": loss < best,
            }
        )
        best = min(best, loss)
    return history
