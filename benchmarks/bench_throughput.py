"""Training throughput and online latency of M2S against braindecode's DGCNN.

DGCNN (Song et al., 2018; ``braindecode.models.DGCNN``) is the classic model a SEED user
would otherwise train on the same differential-entropy features: 62 electrodes x 5
bands per window. Both sides run in one process, alternated, ``--repeats`` times.

- Training throughput, windows per second: an M2S stage-1 step (reference sizes, EEG +
  eye, CLUB's three own steps) and a stage-2 step (the classifier on frozen encoders,
  as M2SClassifier trains it) on ``--batch`` five-window samples, against a DGCNN
  training step (cross-entropy, AdamW) on the same windows (``batch x 5`` of them).
- The stage-1 pretraining of one SEED-IV subject-session (500 sequences, 200 epochs),
  projected from the step above and from measured epochs of the authors' stage 1
  (``reference_pretraining()``: batches of 512).
- The compute floor: FLOPs per step (``FlopCounterMode``) against the machine's
  sustained matrix-product rate measured in the same run, and the batch-1 forward's
  linear layers and softmaxes timed alone.
- Online latency, batch 1, one modality (EEG DE ``(1, 62, 5, 5)``), inference mode:
  M2S eager, ``torch.compile``-d and ``torch.export``-ed, and (CPU) with int8
  feed-forward layers (PyTorch's dynamic quantization; its accuracy effect on
  M2SClassifier's defaults, 3 seeds, is printed) or oneDNN-prepacked linear layers
  (the weights reordered once, as inductor's freezing does), against DGCNN on one window; warm
  (20 calls in a row per turn, as an online loop calling one model) and interleaved
  (one call per turn).

Usage::

    python benchmarks/bench_throughput.py [--batch 128] [--repeats 5] [--threads 2]
        [--device cpu] [--no-compile] [--mixed-precision bf16]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
import warnings

import numpy as np
import torch

warnings.filterwarnings("ignore")
N_CHANS, N_BANDS, N_WINDOWS, N_EYE = 62, 5, 5, 31
#: calls in a row per turn for warm latencies
WARM_BLOCK = 20


def _timed(fn, device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - start


def alternate(fns, repeats, device, block=1):
    """Median time of one call of each function, the functions taken in turn.

    ``block`` calls in a row per turn, each timed: ``block=1`` interleaves the
    functions call by call (each call then finds the caches filled by the others);
    ``block > 1`` times warm calls, as an online loop that calls one model again and
    again sees them (``repeats`` turns either way)."""
    for fn in fns.values():
        fn()  # warm-up
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            for _ in range(block):
                times[name].append(_timed(fn, device))
    return {name: statistics.median(t) for name, t in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--no-compile", action="store_true")
    parser.add_argument(
        "--mixed-precision",
        choices=["no", "bf16"],
        default="no",
        help="bf16: every side's training steps under bfloat16 autocast",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    from braindecode.models import DGCNN
    from skorch.helper import SliceDict

    from braindecode_m2s import M2S, M2MCPCPretrainer

    device = args.device
    rng = np.random.default_rng(0)
    eeg = rng.standard_normal((args.batch, N_CHANS, N_WINDOWS, N_BANDS)).astype("float32")
    eye = rng.standard_normal((args.batch, N_EYE, N_WINDOWS)).astype("float32")
    y = np.arange(args.batch) % 4
    n_windows = args.batch * N_WINDOWS

    # -- training -------------------------------------------------------------
    pre = M2MCPCPretrainer(
        M2S(n_chans=N_CHANS, n_outputs=4),
        batch_size=args.batch,
        max_epochs=1,
        device=device,
        verbose=0,
        random_state=0,
        mixed_precision=args.mixed_precision,
    )
    pre.initialize()
    pre.history.new_epoch()
    batch = (
        {"x": torch.as_tensor(eeg, device=device), "eye": torch.as_tensor(eye, device=device)},
        None,
    )

    def stage1():
        pre.history.new_batch()
        pre.train_step(batch)

    clf = pre.to_classifier(
        batch_size=args.batch, max_epochs=1, verbose=0, train_modalities=["x"], device=device
    )
    clf.fit(SliceDict(x=eeg, eye=eye), y)  # freezes and initialises stage 2

    def autocast():
        if args.mixed_precision == "bf16":
            return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def stage2():  # as M2SClassifier trains: embeddings of the frozen encoders, classifier
        with torch.no_grad(), autocast():
            clf.module_.eval()
            emb = clf.module_.embed(x=torch.as_tensor(eeg, device=device))["x"]
        clf.module_.train()
        clf.optimizer_.zero_grad()
        with autocast():
            loss = torch.nn.functional.cross_entropy(
                clf.module_.classify(emb), torch.as_tensor(y, device=device)
            )
        loss.backward()
        clf.optimizer_.step()

    from braindecode_m2s.datasets import get_chs_info

    dgcnn = DGCNN(chs_info=get_chs_info("SEED-IV"), n_times=N_BANDS, n_outputs=4).to(device)
    opt = torch.optim.AdamW(dgcnn.parameters(), lr=1e-3)
    windows = torch.as_tensor(
        eeg.transpose(0, 2, 1, 3).reshape(n_windows, N_CHANS, N_BANDS), device=device
    )
    wy = torch.as_tensor(np.repeat(y, N_WINDOWS), device=device)

    def dgcnn_step():
        dgcnn.train()
        opt.zero_grad()
        with autocast():
            loss = torch.nn.functional.cross_entropy(dgcnn(windows), wy)
        loss.backward()
        opt.step()

    steps = {"M2S stage 1": stage1, "M2S stage 2": stage2, "DGCNN": dgcnn_step}
    train = alternate(steps, args.repeats, device)
    print(
        f"# Training throughput, {args.batch} samples x {N_WINDOWS} windows = {n_windows} "
        f"windows per step, {device}, {args.threads} threads, mixed precision "
        f"{args.mixed_precision}\n"
    )
    print("| model | step (s) | windows / s | vs DGCNN |")
    print("|---|---:|---:|---:|")
    for name, t in train.items():
        print(f"| {name} | {t:.3f} | {n_windows / t:,.0f} | {train['DGCNN'] / t:.2f}x |")
    # -- the compute floor: what the target would need -----------------------
    from bench_vs_reference import count_flops, sustained_matmul_flops

    flops = {name: count_flops(fn) for name, fn in steps.items()}
    peak = sustained_matmul_flops(device)
    print("\n| model | GFLOP per step | kFLOP per window | achieved GFLOP/s | % of sustained |")
    print("|---|---:|---:|---:|---:|")
    for name, t in train.items():
        print(
            f"| {name} | {flops[name] / 1e9:.2f} | {flops[name] / n_windows / 1e3:,.0f} | "
            f"{flops[name] / t / 1e9:.1f} | {100 * flops[name] / t / peak:.0f} % |"
        )
    ceiling = (peak / flops["M2S stage 1"]) / (1 / train["DGCNN"])
    print(
        f"\nSustained matmul rate (float32 1024^3, this run): {peak / 1e9:.1f} GFLOP/s. "
        f"M2S stage 1 does {flops['M2S stage 1'] / flops['DGCNN']:.1f}x DGCNN's FLOPs per "
        f"window: even at the sustained rate it would reach {ceiling:.2f}x DGCNN's measured "
        f"throughput."
    )
    epoch_1 = train["M2S stage 1"] * np.ceil(500 / args.batch)
    session = session_epoch(device, args.mixed_precision)
    print(
        f"\nStage-1 pretraining of one SEED-IV subject-session (500 sequences, 200 epochs), "
        f"projected: {200 * epoch_1 / 60:.1f} min from the step above (batches of "
        f"{args.batch}); {200 * session / 60:.1f} min from measured epochs of the "
        f"authors' stage 1 (`reference_pretraining()`: Adam, batches of 512, "
        f"{session:.2f} s per epoch, median of epochs 2-4)\n"
    )

    # -- latency ----------------------------------------------------------------
    model = clf.module_.eval()
    one = torch.as_tensor(eeg[:1], device=device)
    one_window = windows[:1]
    dgcnn.eval()
    fns = {}
    with torch.inference_mode():
        fns["M2S eager"] = lambda: model(x=one)
        fns["DGCNN"] = lambda: dgcnn(one_window)
    if not args.no_compile:
        compiled = torch.compile(model)
        with torch.inference_mode():
            compiled(x=one)
        fns["M2S torch.compile"] = lambda: compiled(x=one)
    exported = torch.export.export(model, (one,)).module()
    fns["M2S torch.export"] = lambda: exported(one)
    if device == "cpu":
        quantized = quantize_feedforward(model)
        fns["M2S int8 feed-forward"] = lambda: quantized(x=one)
        prepacked = prepack_linears(model, rows=one.shape[2])
        if prepacked is not None:
            with torch.inference_mode():
                gap = (prepacked(x=one) - model(x=one)).abs().max().item()
            assert gap < 1e-4, f"prepacked forward differs from eager by {gap}"
            fns["M2S oneDNN-prepacked linears"] = lambda: prepacked(x=one)

    def run(fn):
        def wrapped():
            with torch.inference_mode():
                fn()

        return wrapped

    repeats = max(args.repeats * 20, 50)
    timed = {k: run(f) for k, f in fns.items()}
    warm = alternate(timed, max(repeats // WARM_BLOCK, 5), device, block=WARM_BLOCK)
    lat = alternate(timed, repeats, device)
    print("# Online latency, batch 1, EEG only, inference mode\n")
    print(
        f"warm: {WARM_BLOCK} calls in a row per turn (an online loop); interleaved: one "
        f"call per turn, each finding the caches filled by the others' weights\n"
    )
    print("| model | warm (ms) | vs DGCNN | interleaved (ms) | vs DGCNN |")
    print("|---|---:|---:|---:|---:|")
    for name in fns:
        print(
            f"| {name} | {1e3 * warm[name]:.2f} | {warm[name] / warm['DGCNN']:.1f}x | "
            f"{1e3 * lat[name]:.2f} | {lat[name] / lat['DGCNN']:.1f}x |"
        )
    floor = kernel_floor(model, one, max(repeats // WARM_BLOCK, 5), device)
    print(
        f"\nThe floor of M2S's batch-1 forward: its {floor['n_linear']} linear layers alone "
        f"(each timed on its own, warm, on the shapes of this forward) take "
        f"{1e3 * floor['linear']:.2f} ms, its {floor['n_softmax']} attention softmaxes "
        f"{1e3 * floor['softmax']:.2f} ms: together {1e3 * floor['total']:.2f} ms = "
        f"{floor['total'] / warm['DGCNN']:.1f}x DGCNN warm, before the attention products, "
        f"norms and the rest."
    )
    if "linear_prepacked" in floor:
        print(
            f"With oneDNN-prepacked weights the same linear layers take "
            f"{1e3 * floor['linear_prepacked']:.2f} ms "
            f"({floor['linear'] / floor['linear_prepacked']:.2f}x faster than `F.linear`): "
            f"with the softmaxes {1e3 * (floor['linear_prepacked'] + floor['softmax']):.2f} ms "
            f"= {(floor['linear_prepacked'] + floor['softmax']) / warm['DGCNN']:.1f}x DGCNN "
            f"warm."
        )
    if device == "cpu":
        effect = quantization_effect()
        diff = 100 * (effect["int8"] - effect["float"])
        print(
            f"\nThe int8 feed-forward variant (`quantize_feedforward`: PyTorch's dynamic "
            f"quantization of the feed-forward layers, weights int8, activations quantized "
            f"per call), on `M2SClassifier`'s defaults at these sizes (eeg->eeg, redundant "
            f"scenario, {effect['n']} seeds): balanced accuracy "
            f"{100 * effect['float'].mean():.1f} % float32, "
            f"{100 * effect['int8'].mean():.1f} % int8 (paired difference "
            f"{diff.mean():+.2f} points, per seed {', '.join(f'{d:+.1f}' for d in diff)}), "
            f"{100 * effect['agree']:.1f} % of predictions identical, largest probability "
            f"difference {effect['max_diff']:.4f}."
        )
    return 0


def quantize_feedforward(model):
    """A copy of ``model`` whose feed-forward layers (``*.ffn.*`` ``nn.Linear``) run
    through PyTorch's dynamic int8 quantization (``torch.ao.quantization``, CPU only):
    the layers that dominate a batch-1 forward by the bytes of their weights. The
    attention projections stay float32 (their per-head products are computed from the
    weights, see ``STSAttention._factorized``)."""
    from torch.ao.quantization import default_dynamic_qconfig, quantize_dynamic

    spec = {
        name: default_dynamic_qconfig
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) and ".ffn." in name
    }
    return quantize_dynamic(model, spec, dtype=torch.qint8)


#: Linear layers whose ``weight`` the forward reads directly (the STS attention's
#: per-head weight products, the head's ``n_outputs``): left as ``nn.Linear``.
_READ_WEIGHTS = ("to_q", "to_k", "to_v", "to_out", "final_layer")


def _onednn_available():
    ops = ("_reorder_linear_weight", "_linear_pointwise")
    return torch.backends.mkldnn.is_available() and all(
        hasattr(torch.ops.mkldnn, op) for op in ops
    )


class _PrepackedLinear(torch.nn.Module):
    """``nn.Linear`` for inference through oneDNN with its weight reordered once for
    ``rows`` input rows (the kernel PyTorch's inductor calls when it freezes weights;
    private operators, so benchmark-only)."""

    def __init__(self, linear, rows):
        super().__init__()
        weight = linear.weight.detach()
        self.register_buffer("packed", torch.ops.mkldnn._reorder_linear_weight(weight, rows))
        self.register_buffer("bias", None if linear.bias is None else linear.bias.detach())

    def forward(self, x):
        return torch.ops.mkldnn._linear_pointwise(x, self.packed, self.bias, "none", [], "")


def prepack_linears(model, rows):
    """A copy of ``model`` (CPU, inference only) whose linear layers run through oneDNN
    with prepacked weights, or None where this PyTorch build has no oneDNN: the same
    float32 arithmetic as ``F.linear`` without repacking the weight at every call."""
    import copy

    if not _onednn_available():
        return None
    model = copy.deepcopy(model)
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, torch.nn.Linear) and name not in _READ_WEIGHTS:
                setattr(parent, name, _PrepackedLinear(child, rows))
    return model


def quantization_effect(seeds=(0, 1, 2)):
    """Accuracy effect of :func:`quantize_feedforward`: ``M2SClassifier``'s defaults at
    the reference sizes (the model whose latency is timed), eeg->eeg, redundant
    scenario, SEED-IV split, one fit per seed; the same fitted model predicts with its
    float32 and its int8 feed-forward layers."""
    from sklearn.metrics import balanced_accuracy_score

    from braindecode_m2s import M2S, M2SClassifier, make_synthetic_emotion
    from braindecode_m2s.evaluation.protocols import split_by_trial

    rows = []
    for seed in seeds:
        X, y, metadata = make_synthetic_emotion(seed=seed, n_subjects=1, scenario="redundant")
        train, test = split_by_trial(metadata, "SEED-IV")
        clf = M2SClassifier(
            M2S, train_modalities=["x"], test_modalities=["x"], random_state=seed, verbose=0
        ).fit(X[train], y[train])
        proba = clf.predict_proba(X[test])
        clf.module_ = quantize_feedforward(clf.module_.eval())
        proba_int8 = clf.predict_proba(X[test])
        pred, pred_int8 = clf.classes_[proba.argmax(1)], clf.classes_[proba_int8.argmax(1)]
        rows.append(
            (
                balanced_accuracy_score(y[test], pred),
                balanced_accuracy_score(y[test], pred_int8),
                np.mean(pred == pred_int8),
                np.abs(proba - proba_int8).max(),
            )
        )
    rows = np.array(rows)
    return dict(
        n=len(seeds),
        float=rows[:, 0],
        int8=rows[:, 1],
        agree=rows[:, 2].mean(),
        max_diff=rows[:, 3].max(),
    )


def session_epoch(device, mixed_precision, n_sequences=500, epochs=4):
    """Median epoch time of the authors' stage 1 (:func:`reference_pretraining`) on
    ``n_sequences`` random five-window sequences (EEG + eye), epochs 2 onwards."""
    from bench_eeg_path import preset_options
    from skorch.helper import SliceDict

    from braindecode_m2s import M2S, M2MCPCPretrainer

    rng = np.random.default_rng(1)
    X = SliceDict(
        x=rng.standard_normal((n_sequences, N_CHANS, N_WINDOWS, N_BANDS)).astype("float32"),
        eye=rng.standard_normal((n_sequences, N_EYE, N_WINDOWS)).astype("float32"),
    )
    pre = M2MCPCPretrainer(
        M2S(n_chans=N_CHANS, n_outputs=4, modalities={"eye": N_EYE}),
        max_epochs=epochs,
        device=device,
        verbose=0,
        random_state=0,
        mixed_precision=mixed_precision,
        **preset_options(200),
    ).fit(X)
    return statistics.median(pre.history[1:, "dur"])


def kernel_floor(model, one, repeats, device):
    """The batch-1 forward's unavoidable kernels, each timed alone on its own shapes.

    Every ``nn.Linear`` the forward calls (recorded with hooks) as ``F.linear`` on a
    random input of the recorded shape, and the softmax of every STS layer's attention
    scores ``(batch x windows x heads, n_chans, n_chans)``: a lower bound on what any
    schedule of the same arithmetic costs with these kernels.
    """
    from torch.nn import functional as F

    from braindecode_m2s.modules import STSAttention

    calls, hooks = [], []
    for module in model.modules():
        if isinstance(module, torch.nn.Linear):
            hooks.append(
                module.register_forward_hook(
                    lambda m, inputs, out: calls.append((m, tuple(inputs[0].shape)))
                )
            )
    with torch.inference_mode():
        model(x=one)
    for hook in hooks:
        hook.remove()
    n_windows = one.shape[2]
    layers = [m for m in model.modules() if isinstance(m, STSAttention)]
    fns = {}
    for i, (m, shape) in enumerate(calls):
        x = torch.randn(shape, device=device)
        fns[f"linear {i}"] = lambda m=m, x=x: F.linear(x, m.weight, m.bias)
        if device == "cpu" and _onednn_available():
            packed = _PrepackedLinear(m, rows=int(np.prod(shape[:-1])))
            fns[f"prepacked {i}"] = lambda p=packed, x=x: p(x)
    for i, layer in enumerate(layers):
        scores = torch.randn(
            one.shape[0] * n_windows * layer.n_heads, one.shape[1], one.shape[1], device=device
        )
        fns[f"softmax {i}"] = lambda s=scores: s.softmax(-1)
    with torch.inference_mode():
        times = alternate(fns, repeats, device, block=WARM_BLOCK)
    linear = sum(t for k, t in times.items() if k.startswith("linear"))
    softmax = sum(t for k, t in times.items() if k.startswith("softmax"))
    floor = dict(
        linear=linear,
        softmax=softmax,
        total=linear + softmax,
        n_linear=len(calls),
        n_softmax=len(layers),
    )
    if any(k.startswith("prepacked") for k in times):
        floor["linear_prepacked"] = sum(t for k, t in times.items() if k.startswith("prepacked"))
    return floor


if __name__ == "__main__":
    raise SystemExit(main())
