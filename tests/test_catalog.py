"""The catalog is the one list of pages: navigation, home cards and warm-up all follow it.

Every catalog address is opened in Chromium by ``tests/test_browser_offline.py``.
"""

from pathlib import Path

from tests.apptest_helpers import open_page, texts
from tests.conftest import ROOT
from ui import warmup
from ui.catalog import CATALOG, lecture_pages


def test_every_entry_names_a_page_file_and_a_distinct_address():
    assert all((ROOT / lecture.page).is_file() for lecture in CATALOG)
    addresses = [lecture.url_path for lecture in CATALOG]
    assert len(set(addresses)) == len(addresses) and addresses.count("") == 1
    assert {Path(lecture.page).stem for lecture in lecture_pages()} == {
        path.stem for path in (ROOT / "pages").glob("*.py") if path.stem != "home"
    }


def test_the_home_page_has_one_card_per_lecture_in_catalog_order():
    app = open_page("home")
    shown = [element.value for element in app.header]
    # The class card first, for the teacher who opens the app on the projector.
    assert shown == ["Teach a class", *(lecture.title for lecture in lecture_pages())]
    assert all(lecture.blurb.split(":")[0] in texts(app.markdown) for lecture in lecture_pages())


def test_the_warm_up_computes_each_entry_s_default_run():
    jobs = warmup.default_jobs()
    expected = [lecture.default_run() for lecture in CATALOG if lecture.default_run is not None]
    assert [job[0] for job in jobs] == [job[0] for job in expected]
    assert jobs == expected


# The lecture's order, with the pages not built yet (open-world, inside HMC, VI) in place.
LECTURE_ORDER = ("open-world", "weather", "scale", "hmc", "shapes", "vi", "gmm", "causal")


def test_navigation_follows_the_lecture_s_order():
    addresses = [lecture.url_path for lecture in lecture_pages()]
    assert set(addresses) <= set(LECTURE_ORDER)
    assert addresses == sorted(addresses, key=LECTURE_ORDER.index)
