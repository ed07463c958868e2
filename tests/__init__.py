"""The test suite, a package so that tests import their helpers (``tests.fakes``, ``tests.documents``)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the checkout: corpus/, examples/, eval/, scripts/
