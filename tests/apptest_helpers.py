"""Reading what a page shows from an AppTest run: metrics, warnings, plotly figures."""

import base64
import json

import numpy as np
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT


def open_page(page: str, **query: str) -> AppTest:
    """Run ``pages/<page>.py`` through ``app.py`` (navigation and sidebar included)."""
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for key, value in query.items():
        app.query_params[key] = value
    app.switch_page(f"pages/{page}.py")
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


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


def expander_text(app: AppTest, label: str) -> str:
    """The markdown inside the expander labelled ``label`` (the first one, if several)."""
    matches = [e for e in app.expander if e.label == label]
    assert matches, f"no expander {label!r}; have {[e.label for e in app.expander]}"
    return texts(matches[0].markdown)


def screen_reader_texts(app: AppTest) -> str:
    """The visually hidden text the page writes beside its charts (``ui/chart_view.py``)."""
    return texts(m for m in app.markdown if "pme-sr-only" in str(m.value))
