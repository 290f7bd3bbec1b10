"""Paper-style summaries and paired tests of evaluation results.

Tables report the mean ± standard deviation over subjects and seeds, the
usual form of the SEED-family literature's tables. M2S is compared with each
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


def mean_std(table, keys, column, scale=1.0):
    """Mean and standard deviation of ``column`` per group of ``keys``.

    The one place the package averages scores: the standard deviation has
    ``ddof=1`` and is 0 for a single value.

    Parameters
    ----------
    table : pandas.DataFrame
        One score per row.
    keys : str | list of str
        Grouping columns (groups keep their first-seen order).
    column : str
        The score.
    scale : float
        Multiplies both (100 for %).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``keys``, columns ``<column>_mean`` and ``<column>_std``.
    """
    g = table.groupby(keys, sort=False)[column]
    return pd.DataFrame(
        {
            f"{column}_mean": g.mean() * scale,
            f"{column}_std": g.std(ddof=1).fillna(0.0) * scale,
        }
    )


def summarize(results, scores=_SCORES, percent=True):
    """Mean ± std over subjects and seeds, per dataset, pipeline and setting.

    Parameters
    ----------
    results : pandas.DataFrame
        From :func:`~braindecode_m2s.evaluation.evaluate`.
    scores : sequence of str
        Columns to summarize (``score`` is accuracy).
    percent : bool
        Report every score in %: accuracy and balanced accuracy in %,
        kappa times 100 (the package's one convention for reports; the
        results table of :func:`~braindecode_m2s.evaluation.evaluate` keeps
        fractions).

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
        scale = 100.0 if percent else 1.0
        per = subject_scores(results, score).rename(columns={"score": score})
        parts.append(mean_std(per, keys, score, scale))
    per = subject_scores(results)
    g = per.groupby(keys, sort=False)
    counts = pd.DataFrame({"n_subjects": g["subject"].nunique(), "n_seeds": g["seed"].nunique()})
    mods = results.groupby(keys, sort=False)[["train_modalities", "test_modalities"]].first()
    return pd.concat([mods, *parts, counts], axis=1).reset_index()


def _paired_row(a, b):
    """Wilcoxon signed-rank test and effect sizes of paired scores ``a`` vs ``b``."""
    diff = a - b
    row = dict(n_pairs=len(diff), mean_diff=float(diff.mean()) if len(diff) else np.nan)
    if len(diff) == 0:
        return row | dict(p_value=np.nan, p_one_sided=np.nan, smd=np.nan, effect_size_r=np.nan)
    p_two = 1.0 if (diff == 0).all() else float(stats.wilcoxon(a, b).pvalue)
    nonzero = diff[diff != 0]
    ranks = stats.rankdata(np.abs(nonzero))
    r = float((ranks * np.sign(nonzero)).sum() / ranks.sum()) if len(ranks) else 0.0
    pair = pd.DataFrame({"ref": np.asarray(a), "base": np.asarray(b)})
    # the standardized mean difference is undefined when the differences do not vary
    # (one pair, or identical differences): NaN rather than +-inf or 1e15
    spread = float(np.std(np.asarray(diff, dtype=float), ddof=1)) if len(diff) > 1 else 0.0
    scale = max(float(np.abs(np.asarray(diff, dtype=float)).max()), 1.0)
    smd = float(compute_effect(pair, ["ref", "base"])[0, 1]) if spread > 1e-9 * scale else np.nan
    return row | dict(
        p_value=p_two,
        p_one_sided=float(compute_pvals_wilcoxon(pair, ["ref", "base"])[0, 1]),
        smd=smd if np.isfinite(smd) else np.nan,
        effect_size_r=r,
    )


def paired_tests(results, reference, score="score", against=("same", "multimodal")):
    """Paired Wilcoxon signed-rank tests of ``reference`` against every other pipeline.

    Pairs are the (subject, seed) scores of one dataset. Each setting of the
    reference (M2S in ``eeg2eeg``...) is compared with every other pipeline
    in the same setting (``"same"``) and in the settings listed in
    ``against`` (by default ``"multimodal"``: does M2S tested on one modality
    keep up with the multimodal models?).

    Parameters
    ----------
    results : pandas.DataFrame
        From :func:`~braindecode_m2s.evaluation.evaluate`.
    reference : str
        Pipeline name of the method under test (e.g. ``"M2S"``).
    score : str
        Score column.
    against : sequence of str
        ``"same"`` and/or names of baseline settings to compare with.

    Returns
    -------
    pandas.DataFrame
        One row per comparison: ``dataset``, ``reference``,
        ``reference_setting``, ``baseline``, ``baseline_setting``,
        ``n_pairs``, ``mean_diff`` (reference − baseline, in the score's
        units), ``p_value`` (two-sided, :func:`scipy.stats.wilcoxon`; 1.0 when
        every difference is 0), ``p_one_sided`` (reference better, MOABB's
        ``compute_pvals_wilcoxon``), ``smd`` (standardized mean difference,
        MOABB's ``compute_effect``) and ``effect_size_r`` (matched-pairs
        rank-biserial correlation).
    """
    per = subject_scores(results, score)
    columns = [
        "dataset",
        "reference",
        "reference_setting",
        "baseline",
        "baseline_setting",
        "n_pairs",
        "mean_diff",
        "p_value",
        "p_one_sided",
        "smd",
        "effect_size_r",
    ]
    if reference not in set(per["pipeline"]):
        raise ValueError(
            f"`reference` {reference!r} is not a pipeline of the results; expected one of "
            f"{sorted(set(per['pipeline']))}."
        )
    rows = []
    for dataset, block in per.groupby("dataset", sort=False):
        table = block.pivot_table(
            index=["subject", "seed"], columns=["pipeline", "setting"], values="score"
        )
        ref_cols = [c for c in table.columns if c[0] == reference]
        for ref in ref_cols:
            wanted = {ref[1] if a == "same" else a for a in against}
            for other in table.columns:
                if other[0] == reference or other[1] not in wanted:
                    continue
                pair = table[[ref, other]].dropna()
                rows.append(
                    dict(
                        dataset=dataset,
                        reference=reference,
                        reference_setting=ref[1],
                        baseline=other[0],
                        baseline_setting=other[1],
                    )
                    | _paired_row(pair[ref], pair[other])
                )
    return pd.DataFrame(rows, columns=columns)


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines) + "\n"


def _summary_rows(summary, scores, digits):
    for _, row in summary.iterrows():
        cells = [
            str(row[c])
            for c in ("dataset", "pipeline", "setting", "train_modalities", "test_modalities")
        ]
        for s in scores:
            cells.append(f"{row[f'{s}_mean']:.{digits}f} ± {row[f'{s}_std']:.{digits}f}")
        yield cells


def _paired_rows(tests, digits):
    for _, r in tests.iterrows():
        yield [
            str(r["reference"]),
            str(r["reference_setting"]),
            str(r["baseline"]),
            str(r["baseline_setting"]),
            str(r["n_pairs"]),
            f"{100 * r['mean_diff']:+.{digits}f}",
            f"{r['p_value']:.3g}",
            f"{r['smd']:.2f}",
        ]


def to_markdown(summary, scores=("score",), digits=1):
    """A markdown table of :func:`summarize` or :func:`paired_tests` output.

    A summary shows ``mean ± std`` per score as in the summary (accuracies
    in %, kappa times 100, by default), so the table, the screen and the
    CSV share units. Paired tests show the pairs, the mean difference in % points
    (scores are fractions there), the two-sided p-value and the
    standardized mean difference; with no comparison (a single pipeline)
    the table is a one-line note.

    Parameters
    ----------
    summary : pandas.DataFrame
        From :func:`summarize` or :func:`paired_tests`.
    scores : sequence of str
        Scores to show of a summary (``"score"`` is printed as ``accuracy (%)``).
    digits : int
        Decimals of the scores (of the differences, for paired tests).

    Returns
    -------
    str
    """
    if isinstance(summary, pd.DataFrame) and "baseline" in summary.columns:
        _check_results(summary, ["reference", "baseline", "mean_diff", "p_value", "smd"])
        if summary.empty:
            return "(no paired comparison: a single pipeline)\n"
        header = ["reference", "setting", "baseline", "setting", "pairs"]
        header += ["diff (% points)", "p (Wilcoxon)", "SMD"]
        return _table(header, _paired_rows(summary, digits))
    _check_results(summary, ["pipeline", "setting"] + [f"{s}_mean" for s in scores])
    names = {
        "score": "accuracy (%)",
        "balanced_accuracy": "balanced accuracy (%)",
        "kappa": "kappa (x100)",
    }
    header = ["dataset", "pipeline", "setting", "train", "test"] + [
        names.get(s, s) for s in scores
    ]
    return _table(header, _summary_rows(summary, scores, digits))
