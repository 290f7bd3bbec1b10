"""Stage-1 pretraining step: ours against the authors' own code, same batch, same weights.

The authors' ``M2S_demo_code`` (GitHub ``Arcee-LYK/Multi-to-Single``, MIT) is read from a
checkout given by ``--reference`` (never vendored here; the benchmark says so and exits
when it is absent). Both sides get the same random batch (``--batch`` five-window samples:
EEG 62 x 5 bands, 33 eye features), the reference sizes (4 layers, 4 heads x 64, FFN 1024,
128 / 32, CPC LSTM 2 x 64), Adam (lr 1e-4, weight decay 1e-4) and CLUB with three own
steps per batch, and **the same weights** (ours are copied from theirs), so the first-step
losses must agree. Our model runs without its input standardiser (the reference
standardises outside the model).

Printed: median step time of each side (alternated in one process, ``--repeats`` each),
the ratio, the losses of the first step (eval mode, mean over draws of CPC's context end
and CLUB's negatives), FLOPs per step (``torch.utils.flop_counter.FlopCounterMode``),
achieved FLOP/s, and the machine's sustained matrix-product FLOP/s measured in the same
run (float32 1024 x 1024 products).

Usage::

    python benchmarks/bench_vs_reference.py --reference PATH/TO/Multi-to-Single \
        [--batch 128] [--repeats 5] [--threads 2] [--device cpu] [--compile]
        [--mixed-precision bf16]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

N_CHANS, N_BANDS, N_WINDOWS, N_EYE = 62, 5, 5, 33


def _load_reference(path):
    code = Path(path) / "M2S_demo_code"
    if not (code / "M2S.py").is_file():
        return None
    sys.path.insert(0, str(code))
    import CLUB as ref_club  # noqa: N813
    import M2S as ref_m2s  # noqa: N813

    return ref_m2s, ref_club


def _copy(dst, src):
    with torch.no_grad():
        dst.copy_(src)


def copy_reference_weights(ours, objective, ref, clubs):
    """Our M2S and stage-1 objective take the authors' model's weights (module by module)."""
    eeg, eye = ours.er_encoders["x"], ours.er_encoders["eye"]
    for mine, theirs in zip(eeg.layers, ref.EEG_ER_encoder.encoder.layers):
        att = theirs.self_attn
        for name in ("to_q", "to_k", "to_v"):
            _copy(getattr(mine, name).weight, getattr(att, name).weight)
        mine.to_out.load_state_dict(att.to_out[0].state_dict())
        mine.ffn[0].load_state_dict(theirs.layers[0].state_dict())
        mine.ffn[3].load_state_dict(theirs.layers[3].state_dict())
        mine.norm1.load_state_dict(theirs.norm1.state_dict())
        mine.norm2.load_state_dict(theirs.norm2.state_dict())
    eeg.affine.load_state_dict(ref.EEG_ER_encoder.affine_matrix.state_dict())
    eye.affine.load_state_dict(ref.Eye_ER_encoder.affine_matrix.state_dict())
    for mine, theirs in zip(eye.layers, ref.Eye_ER_encoder.encoder.layers):
        _copy(mine.qkv.weight, theirs.self_attn.in_proj_weight)
        _copy(mine.qkv.bias, theirs.self_attn.in_proj_bias)
        mine.out.load_state_dict(theirs.self_attn.out_proj.state_dict())
        mine.ffn[0].load_state_dict(theirs.layers[0].state_dict())
        mine.ffn[3].load_state_dict(theirs.layers[3].state_dict())
        mine.norm1.load_state_dict(theirs.norm1.state_dict())
        mine.norm2.load_state_dict(theirs.norm2.state_dict())
    objective.ei_encoders["x"][0].load_state_dict(ref.EEG_EI_encoder.eeg_linear.state_dict())
    objective.ei_encoders["eye"][0].load_state_dict(ref.Eye_EI_encoder.eye_linear.state_dict())
    for m, dec in (("x", ref.eeg_decoder), ("eye", ref.eye_decoder)):
        lin, rec = (dec.eeg_linear, dec.eeg_rec) if m == "x" else (dec.eye_linear, dec.eye_rec)
        objective.decoders[m].er_map.load_state_dict(lin.state_dict())
        objective.decoders[m].reconstruct.load_state_dict(rec.state_dict())
    _copy(objective.alignment.logit_scale, ref.logit_scale)
    ours.projections["x"][0].load_state_dict(ref.eeg_transform[0].state_dict())
    ours.projections["eye"][0].load_state_dict(ref.eye_transform[0].state_dict())
    objective.cpc.contexts["x"].load_state_dict(ref.cpc.eeg_ar_lstm.state_dict())
    objective.cpc.contexts["eye"].load_state_dict(ref.cpc.eye_ar_lstm.state_dict())
    for k in range(objective.cpc.n_steps):
        objective.cpc.predictors["x"][k].load_state_dict(ref.cpc.eeg_predictors[k].state_dict())
        objective.cpc.predictors["eye"][k].load_state_dict(ref.cpc.eye_predictors[k].state_dict())
    for m, club in zip(("x", "eye"), clubs):
        objective.club[m].p_mu.load_state_dict(club.p_mu.state_dict())
        objective.club[m].p_logvar.load_state_dict(club.p_logvar.state_dict())


class ReferenceStep:
    """One pretraining step as the authors' ``pretrain.py`` ``train_epoch`` runs it."""

    def __init__(self, ref_m2s, ref_club, device, lr=1e-4, weight_decay=1e-4):
        self.model = ref_m2s.Multi_to_Single(
            eeg_dim=N_CHANS * N_BANDS,
            eye_dim=N_EYE,
            eeg_output_dim=128,
            eye_output_dim=128,
            embedding_dim=128,
        ).to(device)
        self.clubs = [ref_club.CLUBSample_group(128, 128, 64).to(device) for _ in range(2)]
        self.opt = torch.optim.Adam(self.model.parameters(), lr=lr, weight_decay=weight_decay)
        self.club_opts = [
            torch.optim.Adam(c.parameters(), lr=lr, weight_decay=weight_decay) for c in self.clubs
        ]

    def losses(self, eeg, eye):
        out = self.model(eeg, eye)
        cpc, recon, logits_eeg, logits_eye, er_eeg, er_eye, ei_eeg, ei_eye = out
        target = torch.arange(eeg.shape[0], device=eeg.device)
        contra = (
            torch.nn.functional.cross_entropy(logits_eeg, target)
            + torch.nn.functional.cross_entropy(logits_eye, target)
        ) / 2
        mi = 0.3 * (self.clubs[0].mi_est(er_eeg, ei_eeg) + self.clubs[1].mi_est(er_eye, ei_eye))
        return contra + cpc + recon + mi

    def __call__(self, eeg, eye):
        self.model.train()
        for _ in range(3):  # mi_first_forward: the whole model again, every time
            for opt in self.club_opts:
                opt.zero_grad()
            out = self.model(eeg, eye)
            pairs = ((out[4], out[6]), (out[5], out[7]))
            for club, opt, (er, ei) in zip(self.clubs, self.club_opts, pairs):
                (-club.loglikeli(er.detach(), ei.detach())).backward()
                opt.step()
        self.opt.zero_grad()
        loss = self.losses(eeg, eye)
        loss.backward()
        self.opt.step()
        return float(loss)


def ours_pretrainer(device, batch, compile_=False, mixed_precision="no"):
    from braindecode_m2s import M2S, M2MCPCPretrainer

    module = M2S(n_chans=N_CHANS, n_outputs=4, modalities={"eye": N_EYE}, standardize=False)
    net = M2MCPCPretrainer(
        module,
        optimizer=torch.optim.Adam,
        lr=1e-4,
        optimizer__weight_decay=1e-4,
        club_steps=3,
        batch_size=batch,
        max_epochs=1,
        device=device,
        verbose=0,
        random_state=0,
        compile=compile_,
        mixed_precision=mixed_precision,
    )
    net.initialize()
    net.history.new_epoch()
    return net


def sustained_matmul_flops(device, seconds=2.0):
    a = torch.randn(1024, 1024, device=device)
    b = torch.randn(1024, 1024, device=device)
    for _ in range(3):
        a @ b
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        n += 1
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return 2 * 1024**3 * n / (time.perf_counter() - start)


def count_flops(fn):
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--reference", default=None, help="path of a checkout of GitHub Arcee-LYK/Multi-to-Single"
    )
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--compile", action="store_true", help="torch.compile our module")
    parser.add_argument(
        "--mixed-precision",
        choices=["no", "bf16"],
        default="no",
        help="bf16 autocast on both sides (ours: mixed_precision='bf16')",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    ref = _load_reference(args.reference) if args.reference else None
    if ref is None:
        print(
            "skipped: give --reference PATH, a checkout of GitHub "
            "Arcee-LYK/Multi-to-Single (its M2S_demo_code/ folder is what runs)."
        )
        return 0
    device = args.device
    torch.manual_seed(0)
    theirs = ReferenceStep(*ref, device)
    ours = ours_pretrainer(device, args.batch, args.compile, args.mixed_precision)
    if args.mixed_precision == "bf16":
        autocast = partial(torch.autocast, torch.device(device).type, dtype=torch.bfloat16)
    else:
        autocast = contextlib.nullcontext
    copy_reference_weights(ours.module_, ours.criterion_, theirs.model, theirs.clubs)

    rng = np.random.default_rng(0)
    eeg = torch.as_tensor(
        rng.standard_normal((args.batch, N_CHANS, N_WINDOWS, N_BANDS)),
        dtype=torch.float32,
        device=device,
    )
    eye = torch.as_tensor(
        rng.standard_normal((args.batch, N_EYE, N_WINDOWS)), dtype=torch.float32, device=device
    )
    eeg_ref = eeg.transpose(1, 2).reshape(args.batch, N_WINDOWS, N_CHANS * N_BANDS)
    eye_ref = eye.transpose(1, 2).contiguous()
    batch = ({"x": eeg, "eye": eye}, None)

    # first-step losses, same weights, eval mode (no dropout), mean over random draws;
    # ours without CLUB's likelihood term (what q's own optimiser minimises: the
    # reference computes it apart)
    draws = 8
    theirs.model.eval()
    ours.module_.eval()

    def loss_of_ours():
        out = ours.criterion_(
            ours.module_(x=eeg, eye=eye, return_features=True), generator=ours.generator_
        )
        return float(out["loss"] - out["terms"]["club_nll"])

    with torch.no_grad():
        loss_theirs = np.mean([float(theirs.losses(eeg_ref, eye_ref)) for _ in range(draws)])
        loss_ours = np.mean([loss_of_ours() for _ in range(draws)])

    def step_ours():
        ours.history.new_batch()
        ours.train_step(batch)

    def step_theirs():
        with autocast():
            theirs(eeg_ref, eye_ref)

    step_ours()  # warm-up (and compilation)
    step_theirs()
    times = {"ours": [], "theirs": []}
    for _ in range(args.repeats):
        for name, fn in (("ours", step_ours), ("theirs", step_theirs)):
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            start = time.perf_counter()
            fn()
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            times[name].append(time.perf_counter() - start)
    flops = {"ours": count_flops(step_ours), "theirs": count_flops(step_theirs)}
    peak = sustained_matmul_flops(device)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(
        f"# Stage-1 step, batch {args.batch}, device {device}, {args.threads} threads, "
        f"{args.repeats} alternated repeats{' (ours compiled)' if args.compile else ''}, "
        f"mixed precision {args.mixed_precision}\n"
    )
    print("| | ours | authors' code | ratio |")
    print("|---|---:|---:|---:|")
    print(
        f"| step time, median (s) | {med['ours']:.3f} | {med['theirs']:.3f} | "
        f"**{med['theirs'] / med['ours']:.1f}x** faster |"
    )
    print(
        f"| step time, min (s) | {min(times['ours']):.3f} | {min(times['theirs']):.3f} | "
        f"{min(times['theirs']) / min(times['ours']):.1f}x |"
    )
    print(
        f"| first-step loss (same weights, eval, mean of {draws} draws) | {loss_ours:.4f} | "
        f"{loss_theirs:.4f} | {100 * abs(loss_ours / loss_theirs - 1):.2f} % apart |"
    )
    print(
        f"| GFLOP per step | {flops['ours'] / 1e9:.2f} | {flops['theirs'] / 1e9:.2f} | "
        f"{flops['theirs'] / flops['ours']:.1f}x fewer |"
    )
    for name in ("ours", "theirs"):
        achieved = flops[name] / med[name]
        print(
            f"| achieved GFLOP/s ({name}) | {achieved / 1e9:.1f} | | "
            f"{100 * achieved / peak:.0f} % of sustained |"
        )
    eff = flops["theirs"] / med["ours"]
    print(
        f"| reference-equivalent GFLOP/s (their FLOPs / our time) | {eff / 1e9:.1f} | | "
        f"{100 * eff / peak:.0f} % of sustained |"
    )
    print(f"| sustained matmul GFLOP/s (1024^3, this run) | {peak / 1e9:.1f} | | |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
