"""Small helpers shared across the package: file safety and input checks.

Nothing here imports PyTorch, braindecode, MNE or MOABB, so the file readers
and the command line can use it at no import cost.
"""
