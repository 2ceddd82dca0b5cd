"""AppTest: the presenter view's larger text, its closed sidebar, and that it lasts across pages."""

from tests.apptest_helpers import figures, open_page, switch_to
from ui.charts import TEXT_PX
from ui.presenter import CHART_TEXT_PX


def chart_text_sizes(figure: dict) -> set:
    layout = figure["layout"]
    return {layout["font"]["size"], layout["xaxis"]["tickfont"]["size"], layout["yaxis"]["tickfont"]["size"]}


def test_present_1_enlarges_every_chart_s_text_and_closes_the_sidebar():
    app = open_page("scale", present="1")
    assert all(chart_text_sizes(figure) == {CHART_TEXT_PX} for figure in figures(app))
    assert "stMetricValue" in " ".join(m.value for m in app.markdown)  # the presenter's style rules
    plain = open_page("scale")
    assert all(chart_text_sizes(figure) == {TEXT_PX} for figure in figures(plain))


def test_the_presenter_view_lasts_across_pages_until_present_0():
    app = open_page("scale", present="1")
    switch_to(app, "pages/weather.py")
    app.query_params.pop("present", None)
    app.run()
    assert all(chart_text_sizes(figure) == {CHART_TEXT_PX} for figure in figures(app))
    app.query_params["present"] = "0"
    app.run()
    assert all(chart_text_sizes(figure) == {TEXT_PX} for figure in figures(app))
