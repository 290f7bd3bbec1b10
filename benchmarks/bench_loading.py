"""Loading benchmark: first and cached loads of SEED-IV and DEAP, against the floor and TorchEEG.

Writes full-size trees once into a temporary folder with the layout writers of
``braindecode_m2s.datasets.fixtures`` (``layout_seed``, ``layout_physio``):

- **SEED-IV**: 15 subjects x 3 sessions x 24 trials; ``eeg_feature_smooth``
  (96 variables ``{de,psd}_{movingAve,LDS}<k>``, each ``(62, n, 5)`` float64,
  ``n`` = 34-36 windows, about 850 windows per session as in the real files)
  and ``eye_feature_smooth`` (``eye_<k>``, ``(31, n)``). ``eeg_raw_data`` is
  left empty: no feature load reads it.
- **DEAP**: 32 subjects, ``data_preprocessed_python/sXX.dat`` (Python-2
  pickles, ``data`` (40, 40, 8064) float64, ``labels`` (40, 4)).

Then times, alternating the sides within each repetition (the order rotates
between repetitions), and reports medians and ratios:

SEED-IV (EEG ``de_LDS``; and EEG + eye)
    *floor*: :func:`scipy.io.loadmat` of the 24 ``de_LDS<k>`` variables of
    each session file (``variable_names``; plus the 24 ``eye_<k>`` of the eye
    file); *ours*: :meth:`braindecode_m2s.datasets.SEEDIV.get_trial_features`
    (first: empty cache; cached: the same call again) and the
    :class:`~braindecode_m2s.paradigms.MultimodalEmotion` paradigm's
    ``get_data``; *TorchEEG*: ``SEEDIVFeatureDataset(feature=["de_LDS"])``
    (first: a new ``io_path``; cached: the same ``io_path`` again), each
    followed by reading every sample (``dataset[i]`` for all ``i``).
DEAP (1-s windows of the 60-s video, EEG DE in five bands)
    *floor*: ``pickle.load(f, encoding="latin1")`` of each file; *floor +
    features*: the same, then the features our loader returns, written here
    with plain scipy (zero-phase order-4 Butterworth band-pass over the
    trial, variance per window; peripheral mean, std and DE in three bands);
    *ours*: :meth:`braindecode_m2s.datasets.DEAP.get_trial_features`
    (``smoothing=None``); *TorchEEG*: ``DEAPDataset`` without a transform
    (1-s slices of the 32 EEG channels: no computation) and with
    ``offline_transform=BandDifferentialEntropy`` in the same five bands.

Every side's output is checked against the floor (same trials, windows and
values) before timing; what each side computes is printed with the table.

Usage::

    python benchmarks/bench_loading.py [--seed-iv-subjects 15] [--deap-subjects 32]
        [--repeat 3] [--keep DIR] [--no-torcheeg]

TorchEEG is optional (``pip install --no-deps torcheeg`` plus its runtime
imports); without it, its rows are skipped with a message.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import pickle
import re
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.io
from scipy import signal

_REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(_REPO)]  # this checkout

from braindecode_m2s.datasets import DEAP, SEEDIV
from braindecode_m2s.datasets.fixtures import layout_physio, layout_seed
from braindecode_m2s.datasets.io import content_digest, mat, mat_selection_digest
from braindecode_m2s.features import DEFAULT_BANDS
from braindecode_m2s.paradigms import MultimodalEmotion

SEED_IV_BASE = 34  # windows per trial: 34, 35, 36 (about 850 per session)
DEAP_SFREQ = 128
DEAP_BASELINE = 384


def torcheeg_modules():
    """(datasets, transforms) of TorchEEG, or None with the reason."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from torcheeg import datasets, transforms
        logging.getLogger("torcheeg").setLevel(logging.WARNING)  # progress messages
    except Exception as err:  # noqa: BLE001 - any missing runtime import
        return None, f"{type(err).__name__}: {err}"
    return (datasets, transforms), None


# --------------------------------------------------------------------------
# trees
# --------------------------------------------------------------------------


def write_trees(root, n_seed, n_deap):
    t0 = time.perf_counter()
    seed_root = layout_seed.write_seed_iv(
        root / "seed_iv", subjects=range(1, n_seed + 1), base=SEED_IV_BASE, raw=False
    )
    t1 = time.perf_counter()
    deap_root = root / "deap"
    for subject in range(1, n_deap + 1):  # one at a time: 100 MB per subject
        layout_physio.write_deap(deap_root, subjects=(subject,), n_trials=40)
    t2 = time.perf_counter()
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    print(
        f"trees written in {root.name}/: SEED-IV {n_seed} subjects in {t1 - t0:.0f} s, "
        f"DEAP {n_deap} subjects in {t2 - t1:.0f} s, {size / 1e9:.2f} GB in all\n"
    )
    return seed_root, deap_root


def seed_files(seed_root, folder, subject):
    return [next((seed_root / folder / str(s)).glob(f"{subject}_*.mat")) for s in (1, 2, 3)]


# --------------------------------------------------------------------------
# SEED-IV sides
# --------------------------------------------------------------------------


def seed_floor(seed_root, subjects, eye):
    out = []
    names = [f"de_LDS{k}" for k in range(1, 25)]
    eye_names = [f"eye_{k}" for k in range(1, 25)]
    for subject in subjects:
        for path in seed_files(seed_root, "eeg_feature_smooth", subject):
            data = scipy.io.loadmat(str(path), variable_names=names)
            out += [data[n] for n in names]
        if eye:
            for path in seed_files(seed_root, "eye_feature_smooth", subject):
                data = scipy.io.loadmat(str(path), variable_names=eye_names)
                out += [data[n] for n in eye_names]
    return out


def seed_ours(seed_root, cache, subjects, modalities):
    dataset = SEEDIV(path=seed_root, cache_dir=cache)
    out = []
    for subject in subjects:
        out += dataset.get_trial_features(
            subject, feature="de", smoothing="LDS", modalities=modalities
        )
    return out


def seed_paradigm(seed_root, cache, subjects):
    dataset = SEEDIV(path=seed_root, cache_dir=cache)
    paradigm = MultimodalEmotion(
        sequence_length=10, feature="de", smoothing="LDS", modalities=("x", "eye")
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MOABB-split advice
        return paradigm.get_data(dataset, subjects=list(subjects))


def torcheeg_read_all(dataset):
    return [dataset[i] for i in range(len(dataset))]


def seed_torcheeg(tg, seed_root, io_path):
    datasets, _ = tg
    with contextlib.redirect_stderr(io.StringIO()):
        dataset = datasets.SEEDIVFeatureDataset(
            root_path=str(seed_root / "eeg_feature_smooth"),
            feature=["de_LDS"],
            io_path=str(io_path),
            num_worker=0,
            verbose=False,
        )
        return torcheeg_read_all(dataset)


# --------------------------------------------------------------------------
# DEAP sides
# --------------------------------------------------------------------------


def deap_floor(deap_root, subjects, keep=False):
    out = []
    for subject in subjects:
        with open(deap_root / "data_preprocessed_python" / f"s{subject:02d}.dat", "rb") as f:
            content = pickle.load(f, encoding="latin1")
        if keep:
            out.append(content)
    return out


def _de(x, sos, n_win):
    filtered = signal.sosfiltfilt(sos, x, axis=-1)
    n = filtered.shape[-1] // n_win
    var = filtered[..., : n * n_win].reshape(*filtered.shape[:-1], n, n_win).var(axis=-1)
    return 0.5 * np.log(2 * np.pi * np.e * var)


def deap_plain_features(content):
    """What our DEAP loader returns, in plain scipy: EEG DE (40, 32, 60, 5),
    peripheral (40, 40, 60) = per channel mean, std, DE 0-1, 1-4, 4-30 Hz."""
    stim = content["data"][:, :, DEAP_BASELINE:]
    n_win = DEAP_SFREQ
    eeg = np.stack(
        [
            _de(
                stim[:, :32],
                signal.butter(4, band, btype="bandpass", fs=DEAP_SFREQ, output="sos"),
                n_win,
            )
            for band in DEFAULT_BANDS
        ],
        axis=-1,
    )
    per = stim[:, 32:]
    n = per.shape[-1] // n_win
    windows = per[..., : n * n_win].reshape(*per.shape[:-1], n, n_win)
    feats = [windows.mean(-1), windows.std(-1)]
    for lo, hi in ((0.0, 1.0), (1.0, 4.0), (4.0, 30.0)):
        sos = (
            signal.butter(4, hi, btype="lowpass", fs=DEAP_SFREQ, output="sos")
            if lo == 0
            else signal.butter(4, (lo, hi), btype="bandpass", fs=DEAP_SFREQ, output="sos")
        )
        feats.append(_de(per, sos, n_win))
    periph = np.stack(feats, axis=2).reshape(per.shape[0], -1, n)  # channel-major
    return eeg.astype(np.float32), periph.astype(np.float32), content["labels"]


def deap_floor_features(deap_root, subjects):
    return [
        deap_plain_features(c)[:2] for s in subjects for c in deap_floor(deap_root, [s], keep=True)
    ]


def deap_ours(deap_root, cache, subjects):
    dataset = DEAP(path=deap_root, cache_dir=cache)
    out = []
    for subject in subjects:
        out += dataset.get_trial_features(subject, feature="de", smoothing=None)
    return out


def deap_torcheeg(tg, deap_root, io_path, de):
    datasets, transforms = tg
    kwargs = {}
    if de:
        bands = {f"b{i}": list(b) for i, b in enumerate(DEFAULT_BANDS)}
        kwargs["offline_transform"] = transforms.BandDifferentialEntropy(
            sampling_rate=DEAP_SFREQ, band_dict=bands
        )
    with contextlib.redirect_stderr(io.StringIO()):
        dataset = datasets.DEAPDataset(
            root_path=str(deap_root / "data_preprocessed_python"),
            io_path=str(io_path),
            num_worker=0,
            verbose=False,
            **kwargs,
        )
        return torcheeg_read_all(dataset)


# --------------------------------------------------------------------------
# checks that the sides produce the same arrays
# --------------------------------------------------------------------------


def check_seed(seed_root, subjects, cache, tg, io_path):
    floor = seed_floor(seed_root, subjects, eye=True)
    n_eeg = 72  # per subject, then 72 eye arrays
    ours = seed_ours(seed_root, cache, subjects, ("x", "eye"))
    for i, trial in enumerate(ours):
        s, k = divmod(i, 72)
        eeg = floor[s * 2 * n_eeg + k]
        eye = floor[s * 2 * n_eeg + n_eeg + k]
        assert np.allclose(trial.modalities["x"], eeg.astype(np.float32)), i
        assert np.allclose(trial.modalities["eye"], eye.astype(np.float32)), i
    n_windows = sum(t.n_windows for t in ours)
    msg = [
        (f"SEED-IV check: ours = floor for {len(ours)} trials ({n_windows} windows), EEG and eye")
    ]
    if tg is not None:
        samples = seed_torcheeg(tg, seed_root, io_path)
        assert len(samples) == n_windows, (len(samples), n_windows)
        by_trial = {}
        for eeg, info in samples:
            key = (int(info["subject_id"]), int(info["session_id"]), int(info["trial_id"]))
            by_trial.setdefault(key, []).append((info["clip_id"], eeg))
        for trial in ours:
            key = (trial.subject, int(trial.session) + 1, trial.trial + 1)
            clips = sorted(by_trial[key], key=lambda c: int(c[0].rsplit("_", 1)[1]))
            theirs = np.stack([c[1] for c in clips], axis=1)  # (62, n, 5)
            assert np.allclose(theirs, trial.modalities["x"], atol=1e-5), key
        msg.append(f"TorchEEG = floor for the same {n_windows} windows (62, 5) each")
    print("; ".join(msg))


def check_deap(deap_root, subjects, cache, tg, io_path):
    ours = deap_ours(deap_root, cache, subjects)
    plain = deap_floor_features(deap_root, subjects)
    for s, (eeg, periph) in enumerate(plain):
        for t in range(40):
            trial = ours[s * 40 + t]
            np.testing.assert_allclose(trial.modalities["x"], eeg[t], rtol=1e-5, atol=1e-5)
            np.testing.assert_allclose(
                trial.modalities["peripheral"], periph[t], rtol=1e-5, atol=1e-5
            )
    msg = [
        (f"DEAP check: ours = floor + plain scipy features for {len(ours)} trials x 60 windows")
    ]
    if tg is not None:
        samples = deap_torcheeg(tg, deap_root, io_path, de=True)
        assert len(samples) == 40 * 60 * len(subjects), len(samples)
        theirs = np.stack([eeg for eeg, _ in samples])  # (n, 32, 5), log2
        ref = np.stack([t.modalities["x"].transpose(1, 0, 2) for t in ours]).reshape(-1, 32, 5)
        order = [
            (str(info["subject_id"]), int(info["trial_id"]), int(info["start_at"]))
            for _, info in samples
        ]
        idx = np.argsort(np.array([f"{a}|{b:03d}|{c:06d}" for a, b, c in order]))
        theirs = theirs[idx]
        r = np.corrcoef(theirs.ravel(), ref.ravel())[0, 1]
        msg.append(
            f"TorchEEG DE: {len(samples)} windows (32, 5) each, same trials and "
            f"windows, other numbers (correlation {r:.2f} with ours)"
        )
    print("; ".join(msg))


# --------------------------------------------------------------------------
# timing
# --------------------------------------------------------------------------


def alternate(sides, repeat):
    """Median seconds of each side; ``sides`` maps name -> f(rep)."""
    names = list(sides)
    times = {name: [] for name in names}
    for rep in range(repeat):
        shift = rep % len(names)
        for name in names[shift:] + names[:shift]:
            t0 = time.perf_counter()
            sides[name](rep)
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(v) for name, v in times.items()}, times


def fresh(tmp, prefix):
    """A new, empty folder per call (first loads); clears the v5-check memo."""
    counter = {"n": 0}

    def make():
        counter["n"] += 1
        path = tmp / f"{prefix}{counter['n']}"
        shutil.rmtree(path, ignore_errors=True)
        mat._CHECKED_V5.clear()  # a new process has not checked any file yet
        return path

    return make


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed-iv-subjects", type=int, default=15)
    parser.add_argument("--deap-subjects", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--keep", type=Path, default=None, help="write the trees and caches here and keep them"
    )
    parser.add_argument("--no-torcheeg", action="store_true")
    args = parser.parse_args(argv)
    if not 0 <= args.seed_iv_subjects <= 15 or not 0 <= args.deap_subjects <= 32:
        raise ValueError(
            "--seed-iv-subjects must be in 0..15 and --deap-subjects in 0..32 "
            "(0 skips the dataset)."
        )
    tg, why = (None, "--no-torcheeg") if args.no_torcheeg else torcheeg_modules()
    if tg is None:
        print(f"TorchEEG skipped ({why}).")
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        ctx = contextlib.nullcontext(str(args.keep))
    else:
        ctx = tempfile.TemporaryDirectory(prefix="bench_loading_")
    with ctx as tmp:
        tmp = Path(tmp)
        seed_root, deap_root = write_trees(tmp, args.seed_iv_subjects, args.deap_subjects)
        if args.seed_iv_subjects:
            print_table(
                [bench_seed(tmp, seed_root, range(1, args.seed_iv_subjects + 1), tg, args.repeat)],
                args,
            )
        if args.deap_subjects:
            print_table(
                [bench_deap(tmp, deap_root, range(1, args.deap_subjects + 1), tg, args.repeat)],
                args,
            )


def bench_seed(tmp, root, subjects, tg, repeat):
    new_cache, new_io = fresh(tmp, "cache_seed_"), fresh(tmp, "torcheeg_seed_")
    # the checks' caches are the warm ones of the cached loads
    warm = {"xe": new_cache(), "x": new_cache(), "par": new_cache(), "tg": new_io()}
    check_seed(root, subjects, warm["xe"], tg, warm["tg"])
    seed_ours(root, warm["x"], subjects, ("x",))
    seed_paradigm(root, warm["par"], subjects)
    sides = {
        "floor x": lambda r: seed_floor(root, subjects, eye=False),
        "floor x+eye": lambda r: seed_floor(root, subjects, eye=True),
        "ours x first": lambda r: seed_ours(root, new_cache(), subjects, ("x",)),
        "ours x cached": lambda r: seed_ours(root, warm["x"], subjects, ("x",)),
        "ours x+eye first": lambda r: seed_ours(root, new_cache(), subjects, ("x", "eye")),
        "ours x+eye cached": lambda r: seed_ours(root, warm["xe"], subjects, ("x", "eye")),
        "paradigm first": lambda r: seed_paradigm(root, new_cache(), subjects),
        "paradigm cached": lambda r: seed_paradigm(root, warm["par"], subjects),
    }
    if tg is not None:
        sides["torcheeg first"] = lambda r: seed_torcheeg(tg, root, new_io())
        sides["torcheeg cached"] = lambda r: seed_torcheeg(tg, root, warm["tg"])
    med, times = alternate(sides, repeat)
    files = [f for s in subjects for f in seed_files(root, "eeg_feature_smooth", s)]
    parts, part_times = reader_parts(files, repeat, sorted(warm["x"].glob("*.npz")))
    med.update(parts)
    times.update(part_times)
    ratios = [
        ("ours x first / floor x", "ours x first", "floor x", "<= 1.5"),
        ("ours x+eye first / floor x+eye", "ours x+eye first", "floor x+eye", "<= 1.5"),
        ("paradigm first / floor x+eye", "paradigm first", "floor x+eye", ""),
        ("ours x first / ours x cached", "ours x first", "ours x cached", ">= 10"),
        ("ours x+eye first / cached", "ours x+eye first", "ours x+eye cached", ">= 10"),
        ("paradigm first / cached", "paradigm first", "paradigm cached", ">= 10"),
        ("TorchEEG first / ours x first", "torcheeg first", "ours x first", ">= 3"),
        ("TorchEEG cached / ours x cached", "torcheeg cached", "ours x cached", ""),
        ("TorchEEG first / TorchEEG cached", "torcheeg first", "torcheeg cached", ""),
        ("check_mat_v5 alone / floor x", "check_mat_v5 alone", "floor x", ""),
        ("whosmat alone / floor x", "whosmat alone", "floor x", ""),
        ("selection digest alone / floor x", "selection digest alone", "floor x", ""),
        ("content digest alone / floor x", "content digest alone", "floor x", ""),
        ("cache entries np.load / floor x", "cache entries, np.load alone", "floor x", ""),
    ]
    return ("SEED-IV", len(subjects), med, times, ratios)


def reader_parts(files, repeat, entries):
    """Seconds of the pieces of a first load that the floor does not do
    (EEG feature files only, the files of the "x" rows), and of reading the
    cache entries of the "x" rows with plain ``numpy.load``."""
    from braindecode_m2s.datasets.io.matv5 import check_mat_v5

    picked = re.compile(r"de_LDS\d+")
    for f in files:  # the layout the selection digest reuses from the load's check
        mat.v5_layout(f, picked.fullmatch)

    parts = {
        "check_mat_v5 alone": lambda r: [check_mat_v5(f, picked.fullmatch) for f in files],
        "whosmat alone": lambda r: [scipy.io.whosmat(str(f)) for f in files],
        "selection digest alone": lambda r: [mat_selection_digest(f, picked) for f in files],
        "content digest alone": lambda r: [content_digest(f) for f in files],
        "cache entries, np.load alone": lambda r: [read_npz(e) for e in entries],
    }
    return alternate(parts, repeat)


def read_npz(path):
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def bench_deap(tmp, root, subjects, tg, repeat):
    new_cache, new_io = fresh(tmp, "cache_deap_"), fresh(tmp, "torcheeg_deap_")
    warm = {"ours": new_cache(), "tg": new_io(), "tgde": new_io()}
    check_deap(root, subjects, warm["ours"], tg, warm["tgde"])
    sides = {
        "floor": lambda r: deap_floor(root, subjects),
        "floor+features": lambda r: deap_floor_features(root, subjects),
        "ours first": lambda r: deap_ours(root, new_cache(), subjects),
        "ours cached": lambda r: deap_ours(root, warm["ours"], subjects),
    }
    if tg is not None:
        deap_torcheeg(tg, root, warm["tg"], de=False)
        sides["torcheeg slices first"] = lambda r: deap_torcheeg(tg, root, new_io(), False)
        sides["torcheeg slices cached"] = lambda r: deap_torcheeg(tg, root, warm["tg"], False)
        sides["torcheeg DE first"] = lambda r: deap_torcheeg(tg, root, new_io(), True)
        sides["torcheeg DE cached"] = lambda r: deap_torcheeg(tg, root, warm["tgde"], True)
    med, times = alternate(sides, repeat)
    ratios = [
        ("ours first / floor+features", "ours first", "floor+features", "<= 1.5"),
        ("ours first / floor (unpickling only)", "ours first", "floor", ""),
        ("ours first / ours cached", "ours first", "ours cached", ">= 10"),
        ("TorchEEG DE first / ours first", "torcheeg DE first", "ours first", ">= 3"),
        ("TorchEEG DE cached / ours cached", "torcheeg DE cached", "ours cached", ""),
        ("TorchEEG slices first / floor", "torcheeg slices first", "floor", ""),
        ("TorchEEG slices first / cached", "torcheeg slices first", "torcheeg slices cached", ""),
    ]
    return ("DEAP", len(subjects), med, times, ratios)


WHAT = {
    "SEED-IV": """\
- floor x: `scipy.io.loadmat(f, variable_names=[de_LDS1..24])` of the 3 session files of
  `eeg_feature_smooth` per subject (float64 arrays as stored; nothing checked or converted);
  floor x+eye: the same plus `eye_1..24` of the `eye_feature_smooth` files.
- ours: `SEEDIV(path, cache_dir).get_trial_features(s, "de", "LDS", modalities)` for every
  subject: MATLAB v5 structure check, variable selection by name pattern, band-axis detection,
  finite check, float32, EEG/eye window alignment, content digest of the sources, cache write;
  cached = the same call on a filled cache. paradigm: `MultimodalEmotion(sequence_length=10,
  modalities=("x", "eye")).get_data(dataset, subjects)` (adds cutting into 10-window samples).
- TorchEEG: `SEEDIVFeatureDataset(root_path=eeg_feature_smooth, feature=["de_LDS"], io_path)`
  (loadmat of every variable of each file, one LMDB record per 4-s window) and then
  `dataset[i]` for every window; cached = the same on the existing `io_path`.
- all sides checked equal: the same trials and windows, the same values (float32).
- check_mat_v5 alone (all headers, the de_LDS bodies) and selection digest alone (hashing
  the de_LDS variables, the layout known): those steps of our first load, by themselves, on
  the EEG feature files; whosmat and content digest (all bytes, the cache key of earlier
  rounds) for comparison; cache entries, np.load alone: plain `numpy.load` of the cache files
  of the "ours x" rows (what any cached load must read).""",
    "DEAP": """\
- floor: `pickle.load(f, encoding="latin1")` of each `sXX.dat` (the (40, 40, 8064) signals).
- floor+features: the floor, then in plain scipy the arrays our loader returns: EEG DE
  (zero-phase order-4 Butterworth band-pass over the 60-s video, variance per 1-s window,
  five bands 1-4, 4-8, 8-14, 14-31, 31-50 Hz) and peripheral features (8 channels x mean,
  std, DE 0-1, 1-4, 4-30 Hz); checked equal to ours (rtol 1e-5).
- ours: `DEAP(path, cache_dir).get_trial_features(s, feature="de", smoothing=None)`:
  restricted unpickler, shape and finite checks, the features above, content digest, cache write.
- TorchEEG slices: `DEAPDataset(root_path, io_path)` without transforms: 1-s slices of the
  32 EEG channels (no computation), one LMDB record each, then `dataset[i]` for all.
- TorchEEG DE: the same with `offline_transform=BandDifferentialEntropy(128, band_dict=the
  five bands)`: per 1-s slice and channel, a causal order-5 Butterworth `lfilter` and
  log2 DE. Same trials, windows and bands as ours; other numbers (other filter, log base).""",
}


def print_table(rows, args):
    print(
        f"\nmedians of {args.repeat} repetitions (sides alternated, order rotated), "
        f"seconds for all subjects; files in the OS page cache\n"
    )
    for dataset, n, med, times, ratios in rows:
        print(f"### {dataset}, {n} subject{'s' if n > 1 else ''}\n")
        print(WHAT[dataset] + "\n")
        print("| side | median s | all runs s |")
        print("|---|---:|---|")
        for name, value in med.items():
            runs = ", ".join(f"{t:.3f}" for t in times.get(name, []))
            print(f"| {name} | {value:.3f} | {runs} |")
        print("\n| ratio | value | target | met |")
        print("|---|---:|---|---|")
        for label, a, b, target in ratios:
            if a not in med or b not in med:
                continue
            value = med[a] / med[b]
            met = ""
            if target:
                bound = float(target.split()[1])
                ok = value <= bound if target.startswith("<=") else value >= bound
                met = "yes" if ok else "no"
            print(f"| {label} | {value:.2f} | {target} | {met} |")
        print(flush=True)


if __name__ == "__main__":
    main()
