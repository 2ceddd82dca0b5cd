"""A pin's text (ui/compare.py) without a page: written, read back strictly, the settings that differ."""

import pytest

from ppl_models import gmm
from ui.catalog import CATALOG
from ui.compare import NOT_USED, decode, differences, encode, encoded
from ui.compare_views import CAUSAL, GMM, SCALE
from ui.controls import Slider
from ui.text import literal

SPECS = {"scale": SCALE, "causal": CAUSAL, "gmm": GMM}


def defaults(spec) -> dict:
    return {control.key: control.default for control in spec.every}


def test_the_scale_page_s_default_pin_is_every_control_it_uses_in_the_page_s_order():
    assert encode(SCALE, defaults(SCALE)) == (
        "measurement:14,guess:10,prior_sd:1,noise_sd:0.75,algo:hmc,samples:1000,warmup:50,chains:1,"
        "step_size:0.9,num_steps:4,adapt:true,hold_steps:false,hmc_impl:batched,seed:0"
    )
    svi = {**defaults(SCALE), "algo": "svi", "lr": 0.02}
    assert encode(SCALE, svi) == (
        "measurement:14,guess:10,prior_sd:1,noise_sd:0.75,algo:svi,svi_steps:1000,lr:0.02,particles:8,elbo:meanfield,seed:0"
    )


@pytest.mark.parametrize("page", sorted(SPECS))
def test_a_pin_of_the_defaults_makes_the_very_run_the_page_and_the_warm_up_make(page):
    """The catalog's default run is "exactly as the page builds it": A shares its cache key."""
    spec = SPECS[page]
    values, problem = decode(spec, encode(spec, defaults(spec)))
    assert problem == ""
    (lecture,) = [lecture for lecture in CATALOG if lecture.url_path == page]
    assert spec.run(values, "auto") == lecture.default_run()


def test_a_value_comes_back_exactly_as_the_widget_held_it():
    values = {
        **defaults(SCALE),
        "measurement": 0.1 + 0.2,
        "guess": 8.5,
        "algo": "nuts",
        "samples": 300,
        "adapt": False,
        "seed": 7,
    }
    pin = encode(SCALE, values)
    assert "measurement:0.30000000000000004" in pin and "samples:300" in pin and "adapt:false" in pin
    back, problem = decode(SCALE, pin)
    assert problem == "" and back == values
    assert isinstance(back["samples"], int) and isinstance(back["measurement"], float)


def test_a_key_left_out_takes_its_default_as_in_any_link():
    values, problem = decode(SCALE, "measurement:9.5")
    assert problem == ""
    assert values == {**defaults(SCALE), "measurement": 9.5}


def test_the_mixture_s_numbers_travel_with_spaces_and_fit_the_same_data():
    values = {**defaults(GMM), "data": "0, 1,10 ,11, 12"}
    pin = encode(GMM, values)
    assert pin.startswith("source:numbers,data:0 1 10 11 12,k:2,")
    back, problem = decode(GMM, pin)
    assert problem == ""
    assert GMM.run(back, "auto")[1] == gmm.LECTURE_DATA == GMM.run(values, "auto")[1]
    synthetic, problem = decode(GMM, "source:synthetic,true_locs:-5 5,true_n:500")
    assert problem == "" and GMM.run(synthetic, "auto")[1].locs == (-5.0, 5.0)


HOSTILE = "x`\n# Session expired\n[Log in again](http://evil.example)` :red[a] :material/warning: $x$"


@pytest.mark.parametrize(
    "page, pin, problem",
    [
        ("scale", "", "is empty"),
        ("scale", "measurement", "is not a list of name:value pairs such as `pin=measurement:14,guess:10`"),
        ("scale", "measurement:14,", "is not a list of name:value pairs"),
        ("scale", ":14", "is not a list of name:value pairs"),
        ("scale", "measurement:abc", "sets `measurement` to `abc`, which is not a number"),
        ("scale", "measurement:nan", "sets `measurement` to `nan`, which is not a finite number"),
        ("scale", "measurement:99", "sets `measurement` to `99`, which is outside 0 to 30"),
        ("scale", "samples:10.5", "sets `samples` to `10.5`, which is not a whole number"),
        ("scale", "algo:NUTS", "sets `algo` to `NUTS`, which is not one of hmc, nuts, svi"),
        ("scale", "adapt:yes", "sets `adapt` to `yes`, which is not true or false"),
        ("scale", "measurement:12,guess:9,measurement:13", "sets `measurement` twice"),
        ("scale", "Measurement:12", "names `Measurement`, which is no setting of this page"),
        ("scale", "temp:80", "names `temp`, which is no setting of this page"),
        ("scale", "9" * 5000, "is longer than"),
        ("causal", "obs_weather:rainy", "sets `obs_weather` to `rainy`, which is not one of cloudy, sunny, unknown"),
        ("gmm", "source:csv", "pins a setting that cannot be compared: the data of a table or an uploaded file"),
        ("gmm", "data:1 2 [x](http://evil.example)", "holds a setting the page cannot run: Entry 3,"),
        ("gmm", "source:synthetic,true_locs:", "holds a setting the page cannot run: Give at least one true"),
    ],
)
def test_a_bad_pin_is_refused_whole_with_what_is_wrong(page, pin, problem):
    values, said = decode(SPECS[page], pin)
    assert values is None
    assert problem in said, said


def test_a_pin_longer_than_every_control_allows_is_refused_and_the_bound_is_said():
    longest = SCALE.max_chars
    assert decode(SCALE, "measurement:" + "1" * (longest - 12))[1] != f"is longer than {longest:,} characters"
    assert decode(SCALE, "measurement:" + "1" * (longest - 11))[1] == f"is longer than {longest:,} characters"
    assert GMM.max_chars > 2 * 5000  # two lists of numbers of up to 5,000 characters fit


def test_hostile_text_in_a_pin_reaches_the_problem_only_quoted():
    _, said = decode(SCALE, f"measurement:{HOSTILE}")
    assert said == f"sets `measurement` to {literal(HOSTILE)}, which is not a number"
    _, said = decode(SCALE, f"{HOSTILE}:1")
    rest = said.replace(literal(HOSTILE.partition(":")[0]), "")
    for fragment in ("Session expired", "evil.example"):
        assert fragment not in rest


def test_the_settings_that_differ_and_only_those_with_a_setting_one_side_does_not_use():
    a = {**defaults(SCALE), "measurement": 14.0}
    b = {**defaults(SCALE), "measurement": 9.5, "algo": "svi", "seed": 0}
    rows = differences(SCALE, a, b)
    assert rows[:2] == [("Observed measurement", "14", "9.5"), ("Inference algorithm", "hmc", "svi")]
    assert ("Samples per chain", "1000", NOT_USED) in rows and ("SVI steps", NOT_USED, "1000") in rows
    assert ("Adapt step size during warmup", "on", NOT_USED) in rows
    assert not [row for row in rows if row[0] == "Random seed"]  # both use seed 0
    assert differences(SCALE, a, dict(a)) == []


def test_a_whole_number_is_written_without_its_point_and_a_fraction_exactly():
    slider = Slider("x", "x", 0.0, 10.0, 1.0, 0.1, "")
    assert [encoded(slider, v) for v in (14.0, 9.5, 1 / 3, 1e-05)] == ["14", "9.5", "0.3333333333333333", "1e-05"]
