"""Frequency-band tables, the one home shared by the readers, features and network.

Plain tuples, no imports: the scikit-learn feature transformers
(:mod:`braindecode_m2s.features`), the dataset readers and the network's
differentiable front end (:mod:`braindecode_m2s.modules.frontends`) read the
same table, and reading a file never imports PyTorch.
"""

__all__ = ["BAND_NAMES", "SEED_IV_BANDS", "PERIPHERAL_BANDS"]

#: Names of the five EEG bands of the SEED family's distributed features, in
#: the order of their band axis.
BAND_NAMES = ("delta", "theta", "alpha", "beta", "gamma")

#: Edges (Hz) of the five bands of SEED-IV's distributed features (SEED-IV
#: ``ReadMe.txt``): delta, theta, alpha, beta, gamma. The default bands of the
#: package's EEG features, computed or differentiable.
SEED_IV_BANDS = ((1.0, 4.0), (4.0, 8.0), (8.0, 14.0), (14.0, 31.0), (31.0, 50.0))

#: Edges (Hz) of the bands of the differential-entropy features of DEAP's and
#: DREAMER's peripheral channels: 0-1 Hz (a low-pass), 1-4 Hz, 4-30 Hz.
PERIPHERAL_BANDS = ((0.0, 1.0), (1.0, 4.0), (4.0, 30.0))
