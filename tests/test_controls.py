"""Controls start at their settings dataclass's defaults and fill its fields by name."""

import dataclasses

import pytest

from ppl_models import causal, gmm, gmm_data, shapes_settings, weather
from ppl_models.engine.mcmc import McmcSettings
from ppl_models.engine.svi import SviSettings
from tests.conftest import ROOT
from ui import controls, gmm_controls, inference_controls, shapes_controls, weather_controls
from ui.controls import SEED, Slider, build, default_of

FILLED = [
    (McmcSettings, inference_controls.MCMC_CONTROLS),
    (SviSettings, inference_controls.SVI_CONTROLS),
    (McmcSettings, [inference_controls.ALGO]),
    (weather.WeatherSettings, weather_controls.WEATHER_CONTROLS),
    (causal.CausalSettings, [weather_controls.TEMP, weather_controls.DO_WEATHER, *weather_controls.DAY]),
    (gmm.GmmPrior, gmm_controls.PRIOR),
    (gmm.GmmSettings, [*gmm_controls.MODEL, *gmm_controls.FIT]),
    (gmm_data.SyntheticData, gmm_controls.SYNTHETIC_NUMBERS),
]


@pytest.mark.parametrize(("settings", "specs"), FILLED, ids=lambda x: getattr(x, "__name__", ""))
def test_each_control_starts_at_its_dataclass_default(settings, specs):
    for control in specs:
        assert control.default == default_of(settings, control.fills), control.key


@pytest.mark.parametrize(("settings", "specs"), FILLED[:2] + FILLED[3:], ids=lambda x: getattr(x, "__name__", ""))
def test_the_controls_defaults_build_the_dataclass_default(settings, specs):
    """Every field the controls fill, filled with their defaults, is the bare Settings()."""
    built = build(settings, specs, {c.key: c.default for c in specs})
    assert built == settings()


def test_the_old_url_keys_still_name_the_same_fields():
    """A link from before the controls knew their fields fills the same settings."""
    keys = {c.key: c.fills for c in inference_controls.MCMC_CONTROLS}
    assert keys == {
        "samples": "num_samples",
        "warmup": "warmup_steps",
        "chains": "num_chains",
        "step_size": "step_size",
        "num_steps": "num_steps",
        "adapt": "adapt_step_size",
        "hold_steps": "hold_num_steps",
        "hmc_impl": "sampler",
        "seed": "seed",
    }
    assert {c.key: c.fills for c in inference_controls.SVI_CONTROLS} == {
        "svi_steps": "num_steps",
        "lr": "lr",
        "particles": "num_particles",
        "elbo": "elbo",
        "seed": "seed",
    }
    assert [c.key for c in gmm_controls.SYNTHETIC_NUMBERS] == ["true_scale", "true_n", "data_seed"]


def test_a_changed_dataclass_default_changes_the_control():
    @dataclasses.dataclass(frozen=True)
    class Settings:
        draws: int = 7

    control = Slider.for_field(Settings, "draws", key="n", label="n", min=1, max=10, step=1, help="")
    assert (control.key, control.default, control.fills) == ("n", 7, "draws")
    assert build(Settings, [control], {"n": 3}) == Settings(draws=3)


def test_one_seed_serves_every_page_and_every_runner_starts_at_it():
    assert SEED in inference_controls.MCMC_CONTROLS and SEED in inference_controls.SVI_CONTROLS
    assert SEED in gmm_controls.FIT
    for settings in (McmcSettings, SviSettings, gmm.GmmSettings):
        assert default_of(settings, "seed") == SEED.default
    # The weather and causal pages take the seed as an argument: the warm-up's is SEED's too.
    from ui.catalog import CATALOG

    runs = {lecture.url_path: lecture.default_run() for lecture in CATALOG if lecture.default_run}
    assert runs["weather"][3] == runs["causal"][4] == SEED.default
    for page in ("weather", "causal"):
        assert "SEED]" in (ROOT / "pages" / f"{page}.py").read_text()


def test_the_shapes_controls_start_at_an_empty_spec():
    values = {c.key: c.default for c in shapes_controls.DISTRIBUTION}
    assert values["family"] == shapes_settings.ShapesSettings().family
    assert values["param_shape"] == values["expand"] == values["sample_shape"] == ""
    assert values["to_event"] == values["plates"] == 0


def test_a_field_without_a_plain_default_is_refused():
    with pytest.raises(AttributeError):
        default_of(McmcSettings, "no_such_field")
    with pytest.raises(TypeError):
        default_of(shapes_settings.PlateSpec, "size")
    assert controls.Text("k", "l", "", "").fills == "k"
