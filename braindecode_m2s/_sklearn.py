"""The one class of scikit-learn's that is not public API.

Reason: MOABB's within-session and cross-session splitters (``moabb>=1.1``)
forward ``groups`` to a ``cv_class`` only when it subclasses
``GroupsConsumerMixin``, which scikit-learn exports from its private
``sklearn.model_selection._split`` only (present in ``scikit-learn>=1.3``, the
range ``pyproject.toml`` allows; re-check on scikit-learn 2). The trial
splitters subclass it so that MOABB's evaluations keep whole trials together.
"""

from sklearn.model_selection._split import GroupsConsumerMixin

__all__ = ["GroupsConsumerMixin"]
