"""AppTest: the tensor-shapes page, read back from what it shows."""

import pytest

from ppl_models.shapes_cost import MAX_BYTES
from tests.apptest_helpers import metric, open_page, texts
from tests.test_shapes_cost import ISSUE_MESSAGE
from ui.text import escape


def shapes_shown(app) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


@pytest.mark.parametrize(
    "preset, expected, site_value",
    [
        ("mvn_expand", {"batch_shape": "(5,)", "event_shape": "(3,)", "sample": "(5, 3)", "log_prob": "(5,)"}, None),
        ("mvn_plate", {"batch_shape": "()", "event_shape": "(3,)"}, "(5, 3)"),
        ("nested_plates", {"batch_shape": "()", "event_shape": "()"}, "(200, 320)"),
    ],
)
def test_presets_from_the_link(preset, expected, site_value):
    app = open_page("shapes", preset=preset)
    shown = shapes_shown(app)
    assert {key: shown[key] for key in expected} == expected
    if site_value:
        assert f"its value has shape `{site_value}`" in texts(app.markdown)


def test_changing_a_plate_size_changes_the_shapes():
    app = open_page("shapes", preset="nested_plates")
    app.number_input(key="plate1_size").set_value(100).run()
    assert "its value has shape `(200, 100)`" in texts(app.markdown)
    assert "x_axis dist" in app.code[0].value


def test_a_link_with_its_own_settings_wins_over_its_preset():
    app = open_page("shapes", preset="mvn_expand", family="Normal", param_shape="2, 4")
    assert metric(app, "batch_shape").value == "(2, 4)"


def test_a_plate_mismatch_shows_pyros_message_and_what_to_change():
    app = open_page("shapes", param_shape="5", plates="1", plate1_size="3")
    assert "Shape mismatch inside plate('x_axis') at site x dim -1, 3 vs 5" in app.code[0].value
    assert escape("Make the plate's size equal the batch dim") in texts(app.warning)
    assert not app.exception


def test_to_event_beyond_the_batch_dims_is_explained():
    app = open_page("shapes", param_shape="3", to_event="2")
    assert escape("has only 1") in texts(app.warning) and escape("Use .to_event(1) at most") in texts(app.warning)


def test_a_malformed_shape_gets_a_message():
    app = open_page("shapes", param_shape="five")
    assert escape("'five' is not a whole number; write a shape like 5, 3.") == texts(app.error)


def test_the_issues_link_is_refused_and_the_page_keeps_working():
    app = open_page("shapes", family="MultivariateNormal", param_shape="1000,1000")
    assert texts(app.error) == escape(ISSUE_MESSAGE)
    assert not app.metric and f"{MAX_BYTES // 1_000_000} MB" in ISSUE_MESSAGE
    app.text_input(key="param_shape").set_value("1, 1000").run()
    assert not app.error and not app.exception
    assert (metric(app, "batch_shape").value, metric(app, "event_shape").value) == ("(1,)", "(1000,)")


def test_a_hostile_shape_is_shown_as_plain_text():
    app = open_page("shapes", param_shape=":red[**boom**]")
    shown = texts(app.error)
    assert shown == escape("':red[**boom**]' is not a whole number; write a shape like 5, 3.")
    assert ":red[" not in shown and "**" not in shown


def test_the_page_opens_on_the_lecture_s_first_example():
    app = open_page("shapes")
    assert app.radio(key="preset").value == "mvn_expand"
    assert shapes_shown(app) == {
        "sample_shape": "()",
        "batch_shape": "(5,)",
        "event_shape": "(3,)",
        "sample": "(5, 3)",
        "log_prob": "(5,)",
    }
    assert "the one batch dim of the site" in texts(app.markdown)
    assert "independent variables" in metric(app, "batch_shape").help


def test_editing_after_a_preset_makes_the_setting_your_own():
    app = open_page("shapes")
    app.text_input(key="param_shape").set_value("4").run()
    assert app.radio(key="preset").value == "none"
    assert metric(app, "event_shape").value == "(4,)" and metric(app, "batch_shape").value == "(5,)"
    app.run()  # and it stays so
    assert app.radio(key="preset").value == "none" and metric(app, "event_shape").value == "(4,)"


def test_a_plate_mismatch_keeps_what_was_built_and_the_code_beside_pyros_error():
    app = open_page("shapes", param_shape="5", plates="1", plate1_size="3")
    assert "Before the plates" in texts(app.markdown)
    assert metric(app, "batch_shape").value == "(5,)"
    assert any('pyro.plate("x_axis", 3' in block.value for block in app.code)
