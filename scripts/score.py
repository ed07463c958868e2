#!/usr/bin/env python
"""Batch scoring: ``python scripts/score.py INPUT -o OUTPUT [options]`` (the same as ``matcher score``).

A thin wrapper: everything lives in :mod:`matcher.batch`. ``--help`` lists the options.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from matcher.batch import main

if __name__ == "__main__":
    sys.exit(main())
