"""CLIP-style cross-modal alignment only: M2S with every other self-supervised term off.

The ablation baseline of the M2S evaluation: the two-stage training of
:class:`~braindecode_m2s.M2SClassifier` (self-supervised pretraining on all
modalities, then a classifier on one modality's frozen embedding), with the
pretraining loss reduced to the symmetric CLIP-style contrast between the
modalities' global embeddings (Radford et al., 2021, as used by Liu et al.,
2025): no M2M CPC, no reconstruction, no CLUB. Cross-modal by construction
(the contrast puts the modalities' embeddings in one space).

References
----------
.. [1] Radford, A. et al. (2021). Learning transferable visual models from
   natural language supervision. ICML, PMLR 139, 8748-8763.
.. [2] Liu, Y.-K., Cai, J., Lu, B.-L., & Zheng, W.-L. (2025). Multi-to-Single:
   Reducing multimodal dependency in emotion recognition through
   contrastive learning. AAAI 39(2), 1438-1446.
"""

from __future__ import annotations

from ..models import M2S
from ..training import M2SClassifier

__all__ = ["clip_only"]


def clip_only(max_epochs=50, random_state=None, verbose=0, **kwargs):
    """An :class:`~braindecode_m2s.M2SClassifier` trained with the CLIP-style term alone.

    Parameters
    ----------
    max_epochs : int
        Epochs of each stage (pretraining and classifier).
    random_state : int | None
        Seed.
    verbose : int
        skorch verbosity.
    **kwargs
        Further :class:`~braindecode_m2s.M2SClassifier` parameters
        (``train_modalities``, ``module__*``, ...).

    Returns
    -------
    M2SClassifier
        With ``clip_weight=1`` and ``cpc_weight = recon_weight = club_weight = 0``;
        the signal parameters of M2S are inferred from X at ``fit``.
    """
    params = dict(
        pretrain_epochs=max_epochs,
        max_epochs=max_epochs,
        clip_weight=1.0,
        cpc_weight=0.0,
        recon_weight=0.0,
        club_weight=0.0,
        random_state=random_state,
        verbose=verbose,
    )
    params.update(kwargs)
    return M2SClassifier(M2S, **params)
