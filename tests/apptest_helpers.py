"""Reading what a page shows from an AppTest run: metrics, warnings, plotly figures."""

import base64
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from ui.numbers import NUMBER_FORMAT, TABLE_DECIMALS

# A number written with a decimal point, in a text cell ("[0.312, 1.250]", "0.375 / 0.625").
_DECIMAL = re.compile(r"\d\.(\d+)")


def open_page(page: str, **query: str) -> AppTest:
    """Run ``pages/<page>.py`` through ``app.py`` (navigation and sidebar included)."""
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for key, value in query.items():
        app.query_params[key] = value
    switch_to(app, f"pages/{page}.py")
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def switch_to(app: AppTest, page_file: str) -> None:
    """Make ``page_file`` the page the next run shows.

    st.Page keys a page by its address (``open-world``), not its file (``open_world.py``);
    AppTest maps a file to that key only once a run has registered the navigation.
    """
    from ui.catalog import CATALOG

    address = {lecture.page: lecture.url_path for lecture in CATALOG}.get(page_file)
    if address and address != Path(page_file).stem:
        app.run()
    app.switch_page(page_file)


def metric(app: AppTest, label: str):
    matches = [m for m in app.metric if m.label == label]
    assert matches, f"no metric labelled {label!r}; have {[m.label for m in app.metric]}"
    return matches[0]


def figures(app: AppTest) -> list[dict]:
    """Every plotly chart on the page as its figure JSON."""
    return [json.loads(element.proto.spec) for element in app.get("plotly_chart")]


def trace(figure: dict, name: str) -> dict:
    matches = [t for t in figure["data"] if t.get("name") == name]
    assert matches, f"no trace {name!r}; have {[t.get('name') for t in figure['data']]}"
    return matches[0]


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def array(value) -> np.ndarray:
    """A figure's data array, whether plain JSON or plotly's base64 typed-array form."""
    if isinstance(value, dict) and "bdata" in value:
        data = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        return data.reshape(value["shape"]) if "shape" in value and isinstance(value["shape"], list) else data
    return np.asarray(value)


def assert_tables_use_the_decimal_rule(app: AppTest) -> int:
    """Every table the page shows (not a data editor) shows its numbers to ``TABLE_DECIMALS`` places.

    A column of fractional numbers must carry the rule's display format (its values stay
    numbers); a number written into a text cell must have exactly that many decimals.
    Returns how many tables were checked, so a test can say it saw the ones it expected.
    """
    checked = 0
    for frame in app.dataframe:
        if frame.editing_mode != "read_only":
            continue
        checked += 1
        config = json.loads(frame.proto.columns or "{}")
        values = frame.value
        for name in values.columns:
            column = values[name]
            if pd.api.types.is_float_dtype(column):
                shown = config.get(name, {}).get("type_config", {}).get("format")
                assert shown == NUMBER_FORMAT, f"column {name!r} is shown as {shown!r}, not {NUMBER_FORMAT!r}"
            elif not pd.api.types.is_numeric_dtype(column):
                for cell in column.dropna().astype(str):
                    places = {len(match) for match in _DECIMAL.findall(cell)}
                    assert places <= {TABLE_DECIMALS}, f"column {name!r}: {cell!r} is not at {TABLE_DECIMALS} places"
    return checked


def expander_text(app: AppTest, label: str) -> str:
    """The markdown inside the expander labelled ``label`` (the first one, if several)."""
    matches = [e for e in app.expander if e.label == label]
    assert matches, f"no expander {label!r}; have {[e.label for e in app.expander]}"
    return texts(matches[0].markdown)


def screen_reader_texts(app: AppTest) -> str:
    """The visually hidden text the page writes beside its charts (``ui/chart_view.py``)."""
    return texts(m for m in app.markdown if "pme-sr-only" in str(m.value))
