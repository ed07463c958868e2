"""O*NET as a user runs it: the whole database imported, indexed and its example scorer trained
with the real model, then one-line descriptions of work from eleven major occupation groups.

The catalog is built as `matcher catalog import-onet` + `matcher train` would, into the checkout's
index folder (as test_quality_learned.py uses the default catalog's), so only the first run pays
the build (about seven minutes on 2 cores); later runs load it in seconds. Skipped only when the
O*NET data in ../shared is missing.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from matcher import Matcher
from matcher.catalog.onet import import_onet
from matcher.nearest import ExampleScorer
from matcher.settings import Settings
from tests import ROOT

ONET = ROOT.parent / "shared" / "data" / "onet-29.3"
pytestmark = [pytest.mark.model, pytest.mark.skipif(not ONET.is_dir(), reason=f"O*NET data not found at {ONET}")]

# (what a person might write, O*NET-SOC code prefixes of the right family). Written for this test,
# not taken from O*NET's task statements. Misses are kept, marked strict xfail: they are reported,
# and the mark fails the run the day they start passing, so it gets removed.
MISS = pytest.mark.xfail(strict=True, reason="known miss, see the README's Known limitations")
NURSE = "Registered nurse on a cardiac step-down unit; administer medications and monitor telemetry."
NURSING = ("29-1141", "29-1151", "29-1161", "29-1171", "29-2061")  # RNs and their specialties, APRNs, LPNs
SENTENCES = [
    (NURSE, NURSING),
    ("I write backend services in Java and Python, review pull requests and fix bugs in production.", ("15-12",)),
    # A miss until the word head ("logbook" read as logging; truck drivers came second).
    ("I drive an eighteen-wheeler cross-country, keep my logbook current and strap down the load before every haul.",
     ("53-3032",)),
    ("I work the grill and fryer line at a busy diner, prep vegetables before service and plate orders fast.",
     ("35-201",)),
    ("I pull wire through conduit, install breaker panels and troubleshoot circuits in new office buildings.",
     ("47-2111",)),
    ("I teach a third-grade class: reading, maths and science lessons, marking homework and meeting parents.",
     ("25-20",)),
    ("I prepare the monthly financial statements, reconcile the general ledger and get the books ready for "
     "the auditors.", ("13-2011", "43-3031")),
    # Known miss: the dentist the hygienist works for is taken for the writer (mention, not identity);
    # Dental Hygienists come third.
    pytest.param("I clean patients' teeth, take x-rays and show people how to floss before the dentist comes in.",
                 ("29-1292",), marks=MISS, id="29-1292"),
    ("I patrol my district in a squad car, answer 911 calls, make arrests and write incident reports.",
     ("33-3051",)),
    ("I cut, colour and style clients' hair at a salon and recommend products for them to take home.",
     ("39-5012",)),
    ("I milk the cows twice a day, feed the herd and mend the fences on our dairy farm.", ("45-2093", "11-9013")),
    ("I drive a forklift in a distribution centre, loading pallets onto trucks and putting stock away in the "
     "racks.", ("53-7051", "53-7062")),
]
NO_WORK = ["asdf jkl; qwerty zxcv",
           # Known miss: "none" gets 0.38 (< 0.5); the roles share the rest, kitchen occupations on top.
           pytest.param("Milk, eggs, bread, two lemons and a bag of rice.", marks=MISS),
           "Happy birthday Grandma! Hope the sun shines for your picnic."]


@pytest.fixture(scope="module")
def onet(tmp_path_factory) -> Matcher:
    folder = tmp_path_factory.mktemp("onet") / "onet"
    import_onet(ONET, folder)
    settings = replace(Settings.from_env(), scorer="learned", auto_rebuild=True).validated()
    return Matcher.load(settings, catalog=str(folder))


def test_onet_is_scored_by_its_example_scorer(onet):
    assert isinstance(onet.scorer, ExampleScorer) and len(onet.catalog.roles) > 1000


@pytest.mark.parametrize(("text", "family"), SENTENCES,
                         ids=[s.id if hasattr(s, "id") else s[1][0] for s in SENTENCES])
def test_one_line_of_work_ranks_its_occupation_family_first(onet, text, family):
    res = onet.match(text, top_k=5)
    top = res.results[0]
    assert top.role_id.startswith(family), f"{text!r} → {[(r.role_id, r.title) for r in res.results]}"
    assert res.best_fit is not None  # a clear description of work is a fit, not "no good fit"


def test_the_nurse_is_not_a_personal_care_aide(onet):
    """The issue's example: "under the direction of registered nurses" is an aide's task, a mention."""
    ranked = [r.role_id for r in onet.match(NURSE, top_k=20).results]
    nursing = min(i for i, code in enumerate(ranked) if code.startswith(NURSING))
    aide = ranked.index("31-1122.00") if "31-1122.00" in ranked else len(ranked)
    assert nursing == 0 and aide > nursing


@pytest.mark.parametrize("text", NO_WORK)
def test_text_that_describes_no_work_gets_no_good_fit(onet, text):
    res = onet.match(text)
    assert res.best_fit is None, [(r.title, r.score) for r in res.results[:3]]
