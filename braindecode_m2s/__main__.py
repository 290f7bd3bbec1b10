"""``python -m braindecode_m2s demo``."""

import sys

from .cli import main

sys.exit(main())
