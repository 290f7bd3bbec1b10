"""Evaluation of multimodal emotion models: protocols, modality settings,
runners, statistics (Liu et al., AAAI 2025, Section "Experiments")."""

from .transformers import ModalitySelect, as_modality_dict

__all__ = ["ModalitySelect", "as_modality_dict"]
