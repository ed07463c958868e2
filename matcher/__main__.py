"""``python -m matcher`` is the ``matcher`` command."""

import sys

from .cli import main

sys.exit(main())
