"""Paper-style summaries and paired tests of evaluation results.

Tables report the mean ± standard deviation over subjects and seeds (Liu et
al., AAAI 2025, report mean ± std over subjects). M2S is compared with each
baseline by a paired Wilcoxon signed-rank test over subjects and a
standardized mean difference, as MOABB's meta-analysis does
(:func:`moabb.analysis.meta_analysis.compute_pvals_wilcoxon`,
:func:`moabb.analysis.meta_analysis.compute_effect`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from moabb.analysis.meta_analysis import compute_effect, compute_pvals_wilcoxon
from scipy import stats

__all__ = ["summarize", "subject_scores", "paired_tests", "to_markdown"]

_SCORES = ("score", "balanced_accuracy", "kappa")


def _check_results(results, columns):
    if not isinstance(results, pd.DataFrame):
        raise ValueError(
            f"`results` is a {type(results).__name__}; expected the DataFrame returned by "
            f"evaluate()."
        )
    missing = [c for c in columns if c not in results.columns]
    if missing:
        raise ValueError(
            f"`results` lacks the columns {missing}; expected the DataFrame returned by "
            f"evaluate()."
        )


def subject_scores(results, score="score"):
    """One score per dataset, pipeline, setting, seed and subject.

    Folds and sessions of a subject are averaged first (weighted equally), as
    MOABB's ``collapse_session_scores`` does with sessions.

    Parameters
    ----------
    results : pandas.DataFrame
        From :func:`~braindecode_m2s.evaluation.evaluate`.
    score : str
        Column to average.

    Returns
    -------
    pandas.DataFrame
        ``dataset, pipeline, setting, seed, subject`` and ``score``.
    """
    keys = ["dataset", "pipeline", "setting", "seed", "subject"]
    _check_results(results, keys + [score])
    return results.groupby(keys, sort=False)[score].mean().rename("score").reset_index()


def summarize(results, scores=_SCORES, percent=True):
    """Mean ± std over subjects and seeds, per dataset, pipeline and setting.

    Parameters
    ----------
    results : pandas.DataFrame
        From :func:`~braindecode_m2s.evaluation.evaluate`.
    scores : sequence of str
        Columns to summarize (``score`` is accuracy).
    percent : bool
        Report accuracy and balanced accuracy in % (kappa stays a fraction).

    Returns
    -------
    pandas.DataFrame
        ``dataset, pipeline, setting, train_modalities, test_modalities``,
        then ``<score>_mean`` and ``<score>_std`` for each score, ``n_subjects``
        and ``n_seeds``. The standard deviation is over the (subject, seed)
        scores (ddof=1; 0 for a single one).
    """
    keys = ["dataset", "pipeline", "setting"]
    _check_results(results, keys + ["train_modalities", "test_modalities", *scores])
    parts = []
    for score in scores:
        per = subject_scores(results, score)
        scale = 100.0 if percent and score != "kappa" else 1.0
        g = per.groupby(keys, sort=False)["score"]
        parts.append(pd.DataFrame({
            f"{score}_mean": g.mean() * scale,
            f"{score}_std": g.std(ddof=1).fillna(0.0) * scale,
        }))
    per = subject_scores(results)
    g = per.groupby(keys, sort=False)
    counts = pd.DataFrame({"n_subjects": g["subject"].nunique(), "n_seeds": g["seed"].nunique()})
    mods = results.groupby(keys, sort=False)[["train_modalities", "test_modalities"]].first()
    return pd.concat([mods, *parts, counts], axis=1).reset_index()


def paired_tests(results, reference, score="score"):
    """Paired Wilcoxon signed-rank tests of ``reference`` against every other pipeline.

    Pairs are (subject, seed) scores of the same dataset and modality
    setting: M2S in ``eeg2eeg`` against each baseline in ``eeg2eeg``, etc.

    Parameters
    ----------
    results : pandas.DataFrame
        From :func:`~braindecode_m2s.evaluation.evaluate`.
    reference : str
        Pipeline name of the method under test (e.g. ``"M2S"``).
    score : str
        Score column.

    Returns
    -------
    pandas.DataFrame
        One row per (dataset, setting, baseline): ``reference``,
        ``baseline``, ``n_pairs``, ``mean_diff`` (reference − baseline, in the
        score's units), ``p_value`` (two-sided, :func:`scipy.stats.wilcoxon`;
        1.0 when every difference is 0), ``p_one_sided`` (reference better,
        MOABB's ``compute_pvals_wilcoxon``), ``smd`` (standardized mean
        difference, MOABB's ``compute_effect``) and ``effect_size_r``
        (matched-pairs rank-biserial correlation).
    """
    per = subject_scores(results, score)
    if reference not in set(per["pipeline"]):
        raise ValueError(
            f"`reference` {reference!r} is not a pipeline of the results; expected one of "
            f"{sorted(set(per['pipeline']))}."
        )
    rows = []
    for (dataset, setting), block in per.groupby(["dataset", "setting"], sort=False):
        table = block.pivot_table(index=["subject", "seed"], columns="pipeline",
                                  values="score")
        if reference not in table.columns:
            continue
        for other in table.columns:
            if other == reference:
                continue
            pair = table[[reference, other]].dropna()
            row = dict(dataset=dataset, setting=setting, reference=reference,
                       baseline=other, n_pairs=len(pair))
            diff = pair[reference] - pair[other]
            row["mean_diff"] = diff.mean()
            if len(pair) == 0:
                rows.append(row | dict(p_value=np.nan, p_one_sided=np.nan, smd=np.nan,
                                       effect_size_r=np.nan))
                continue
            if (diff == 0).all():
                p_two = 1.0
            else:
                p_two = float(stats.wilcoxon(pair[reference], pair[other]).pvalue)
            ranks = stats.rankdata(np.abs(diff[diff != 0]))
            sign = np.sign(diff[diff != 0])
            total = ranks.sum()
            r = float((ranks * sign).sum() / total) if total else 0.0
            pair.columns = [reference, other]
            row.update(
                p_value=p_two,
                p_one_sided=float(compute_pvals_wilcoxon(pair, [reference, other])[0, 1]),
                smd=float(compute_effect(pair, [reference, other])[0, 1]),
                effect_size_r=r,
            )
            rows.append(row)
    columns = ["dataset", "setting", "reference", "baseline", "n_pairs", "mean_diff",
               "p_value", "p_one_sided", "smd", "effect_size_r"]
    return pd.DataFrame(rows, columns=columns)


def to_markdown(summary, scores=("score",), digits=1):
    """A markdown table of :func:`summarize` output, ``mean ± std`` per score.

    Accuracy is shown as in the summary (% by default), so the table, the
    screen and the CSV share units.

    Parameters
    ----------
    summary : pandas.DataFrame
        From :func:`summarize`.
    scores : sequence of str
        Scores to show (``"score"`` is printed as ``accuracy (%)``).
    digits : int
        Decimals.

    Returns
    -------
    str
    """
    _check_results(summary, ["pipeline", "setting"] + [f"{s}_mean" for s in scores])
    names = {"score": "accuracy (%)", "balanced_accuracy": "balanced accuracy (%)",
             "kappa": "kappa"}
    header = ["dataset", "pipeline", "setting", "train", "test"] + [names.get(s, s) for s in scores]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, row in summary.iterrows():
        cells = [str(row["dataset"]), str(row["pipeline"]), str(row["setting"]),
                 str(row["train_modalities"]), str(row["test_modalities"])]
        for s in scores:
            dd = 3 if s == "kappa" else digits
            cells.append(f"{row[f'{s}_mean']:.{dd}f} ± {row[f'{s}_std']:.{dd}f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
