"""Seeing, doing and imagining on the ice-cream model: three questions, one answer object.

1. Conditioning: sales given that the temperature *was observed* to be ``t``
   (``pyro.condition`` plus likelihood weighting over the unobserved weather).
2. Intervention: sales when the temperature is *set* to ``t`` (``pyro.do``), and sales
   when the weather is set (``do(cloudy = ...)``).
3. Counterfactual: on an observed day, what sales would have been had the temperature
   been ``t'`` (ChiRho's twin worlds, sharing the day's weather and sales noise).

Each answer comes with its exact value, so the page can show how close Pyro gets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ppl_models import weather
from ppl_models.engine.counterfactual import run_counterfactual
from ppl_models.engine.runtime.errors import InferenceError
from ppl_models.engine.sampling import WeightedDraws, run_likelihood_weighting
from ppl_models.weather import WeatherSettings, ice_cream_sales

WEATHERS = ("cloudy", "sunny", "unknown")


@dataclass(frozen=True)
class CausalSettings:
    temp: float = 85.0
    do_weather: str = "sunny"
    obs_weather: str = "sunny"
    obs_temp: float = 75.0
    obs_sales: float = 48.0
    cf_temp: float = 90.0

    def check(self) -> None:
        if self.do_weather not in ("cloudy", "sunny"):
            raise InferenceError("do(weather) must be cloudy or sunny.")
        if self.obs_weather not in WEATHERS:
            raise InferenceError(f"The observed weather must be one of {', '.join(WEATHERS)}.")
        if not all(np.isfinite([self.temp, self.obs_temp, self.obs_sales, self.cf_temp])):
            raise InferenceError("Every temperature and sales figure must be a finite number.")


@dataclass(frozen=True)
class Answer:
    """One question's draws of sales (weighted), their mean, and the exact mean."""

    draws: np.ndarray
    weights: np.ndarray
    mean: float
    exact: float
    ess: float
    notes: tuple[str, ...] = ()
    standard_error: float = 0.0  # of the weighted mean, from the draws themselves


# An estimate further than this many standard errors from the exact value gets a note:
# by chance that happens once in ~1.7 million runs, so a note means the draws missed something.
DISAGREEMENT_SE = 5.0


def disagreement_note(mean: float, exact: float, standard_error: float, ess: float) -> str:
    """A sentence when the estimate is further from the exact value than its own spread explains.

    The effective sample size cannot see a cause the draws never produced (a weather of prior
    1% in 100 draws that happened to be all sunny): every draw then weighs the same and the
    ESS looks healthy, but the estimate answers another question. Knowing the exact value,
    the page can say so.
    """
    # float64 rounding of sums over up to 10^5 draws of values up to 10^3: never a real miss.
    tolerance = DISAGREEMENT_SE * standard_error + 1e-9 * max(1.0, abs(exact))
    if abs(mean - exact) <= tolerance:
        return ""
    return (
        f"This estimate is {abs(mean - exact):.3g} from the exact value, more than its standard error "
        f"({standard_error:.2g}) allows: the {ess:,.0f} effective draws missed, or over-counted, a case that "
        "matters, such as a rare weather or a rare hot day. Use more draws, or make that case less rare."
    )


@dataclass(frozen=True)
class CausalAnswers:
    params: WeatherSettings
    question: CausalSettings
    conditioned: Answer
    intervened: Answer
    weather_intervened: Answer
    counterfactual: Answer
    factual_sales: np.ndarray
    p_sunny_given_temp: float  # what seeing t says about the weather
    wall_time_s: float
    # The four runs share one device choice (the same number of draws each).
    device: str = "cpu"
    device_note: str = ""


def _answer(draws: WeightedDraws, values: np.ndarray, exact: float, notes: list[str]) -> Answer:
    mean = float(np.sum(draws.weights * values))
    # The delta-method standard error of a self-normalised weighted mean; for equal weights
    # it is the plain sd / sqrt(n) (with n, not n - 1).
    standard_error = float(np.sqrt(np.sum((draws.weights * (values - mean)) ** 2)))
    collapse = draws.collapse_note()
    missed = "" if collapse else disagreement_note(mean, exact, standard_error, draws.ess)
    return Answer(
        draws=values,
        weights=draws.weights,
        mean=mean,
        exact=exact,
        ess=draws.ess,
        notes=tuple(n for n in [*notes, collapse, missed] if n),
        standard_error=standard_error,
    )


def answer(
    params: WeatherSettings, question: CausalSettings, num_draws: int, seed: int, device: str = "auto"
) -> CausalAnswers:
    """Answer the three questions with ``num_draws`` draws each."""
    params.check()
    question.check()
    # Refused before anything runs: no draw can explain a weather the prior rules out.
    impossible = weather.impossible_observation(params, question.obs_weather)
    if impossible:
        raise InferenceError(impossible)
    args = params.as_args()
    q = question
    seen = run_likelihood_weighting(
        ice_cream_sales, args, num_draws, seed, observations={"temp": q.temp}, device=device
    )
    conditioned = _answer(
        seen,
        seen.samples["ice_cream"],
        weather.exact_conditional_sales(params, q.temp),
        [weather.implausibility(params, temp=q.temp)],
    )
    done = run_likelihood_weighting(
        ice_cream_sales, args, num_draws, seed, interventions={"temp": q.temp}, device=device
    )
    intervened = _answer(done, done.samples["ice_cream"], weather.exact_interventional_sales(params, q.temp), [])
    forced_cloudy = q.do_weather == "cloudy"
    forced = run_likelihood_weighting(
        ice_cream_sales, args, num_draws, seed, interventions={"cloudy": float(forced_cloudy)}, device=device
    )
    weather_intervened = _answer(
        forced, forced.samples["ice_cream"], weather.exact_weather_intervention_sales(params, forced_cloudy), []
    )
    observed = {"temp": q.obs_temp, "ice_cream": q.obs_sales}
    if q.obs_weather != "unknown":
        observed["cloudy"] = float(q.obs_weather == "cloudy")
    imagined = run_counterfactual(
        ice_cream_sales, args, observed, {"temp": q.cf_temp}, num_draws, seed, ("ice_cream",), device=device
    )
    counterfactual = _answer(
        imagined.factual,
        imagined.counterfactual["ice_cream"],
        weather.exact_counterfactual_sales(params, q.obs_weather, q.obs_temp, q.obs_sales, q.cf_temp),
        [weather.implausibility(params, temp=q.obs_temp, sales=q.obs_sales, weather=q.obs_weather)],
    )
    return CausalAnswers(
        params=params,
        question=q,
        conditioned=conditioned,
        intervened=intervened,
        weather_intervened=weather_intervened,
        counterfactual=counterfactual,
        factual_sales=imagined.factual.samples["ice_cream"],
        p_sunny_given_temp=1 - weather.p_cloudy_given_temp(params, q.temp),
        wall_time_s=seen.wall_time_s + done.wall_time_s + forced.wall_time_s + imagined.factual.wall_time_s,
        device=seen.device,
        device_note=seen.device_note,
    )


def answer_code(params: WeatherSettings, question: CausalSettings, num_draws: int, seed: int) -> str:
    """The three questions as a script: the page's draws, weights and answers.

    Each question draws ``num_draws`` days at once from the same seed, as the page does;
    observations and interventions are float64 tensors, as the page's are.
    """
    q = question
    observed = {"temp": q.obs_temp, "ice_cream": q.obs_sales}
    if q.obs_weather != "unknown":
        observed["cloudy"] = float(q.obs_weather == "cloudy")
    day = ", ".join(f'"{name}": {value!r}' for name, value in observed.items())
    model = weather.simulate_code(params, num_draws, seed).split("pyro.set_rng_seed(")[0]
    return f"""{model}from chirho.counterfactual.handlers import MultiWorldCounterfactual
from chirho.indexed.ops import IndexSet, gather
from chirho.interventional.handlers import do
from chirho.observational.handlers import condition

N = {num_draws}
args = [torch.tensor(value, dtype=torch.float64) for value in {params.as_args()!r}]

def as_tensors(values):
    return {{name: torch.tensor(value, dtype=torch.float64) for name, value in values.items()}}

def weighted_draws(observed={{}}, done={{}}):
    \"\"\"Draw N days under pyro.do(done), weigh each by how well it explains `observed`: (sales, weights).\"\"\"
    pyro.set_rng_seed({seed})
    model = pyro.do(ice_cream_sales, data=as_tensors(done)) if done else ice_cream_sales
    model = pyro.condition(model, data=as_tensors(observed)) if observed else model
    with pyro.plate("draws", N):
        trace = pyro.poutine.trace(model).get_trace(*args)
    log_weights = torch.zeros(N, dtype=torch.float64)
    for name in observed:
        site = trace.nodes[name]
        log_weights = log_weights + site["fn"].log_prob(site["value"]).double().expand(N)
    return trace.nodes["ice_cream"]["value"].expand(N), torch.softmax(log_weights, 0)


def weighted_mean(observed={{}}, done={{}}):
    sales, weights = weighted_draws(observed, done)
    return (weights * sales).sum().item()

# 1. Seeing: condition on temp (likelihood weighting).
seeing = weighted_mean(observed={{"temp": {q.temp!r}}})
print("E[sales | temp = {q.temp:g}] =", round(seeing, 2))
# 2. Doing: set temp; the weather keeps its prior. And setting the weather instead.
doing = weighted_mean(done={{"temp": {q.temp!r}}})
print("E[sales | do(temp = {q.temp:g})] =", round(doing, 2))
doing_weather = weighted_mean(done={{"cloudy": {float(q.do_weather == "cloudy")!r}}})
print("E[sales | do(cloudy = {int(q.do_weather == "cloudy")})] =", round(doing_weather, 2))

# 3. Imagining: ChiRho runs a factual and a counterfactual world that share every noise
# (the weather, and the sales noise of the transformed ice_cream site); the factual world
# is conditioned on the day, the counterfactual one has temp set to {q.cf_temp:g}.
pyro.set_rng_seed({seed})
day = as_tensors({{{day}}})
with MultiWorldCounterfactual() as worlds, do(actions=as_tensors({{"temp": {q.cf_temp!r}}})), condition(data=day):
    with pyro.plate("draws", N):
        trace = pyro.poutine.trace(ice_cream_sales).get_trace(*args)
trace.compute_log_prob()
with worlds:
    factual, imagined = IndexSet(temp={{0}}), IndexSet(temp={{1}})
    log_weights = torch.zeros(N, dtype=torch.float64)
    for node in trace.nodes.values():
        if node["type"] == "sample" and node["is_observed"]:
            log_weights = log_weights + gather(node["log_prob"], factual).reshape(-1).double().expand(N)
    sales = gather(trace.nodes["ice_cream"]["value"], imagined).reshape(-1).expand(N)
    factual_sales = gather(trace.nodes["ice_cream"]["value"], factual).reshape(-1).expand(N)
weights = torch.softmax(log_weights, 0)
imagining = (weights * sales).sum().item()
print("E[sales had temp been {q.cf_temp:g} | the day] =", round(imagining, 2))
"""


def answer_notebook(params: WeatherSettings, question: CausalSettings, num_draws: int, seed: int):
    """:func:`answer_code` as a notebook: seeing, doing and imagining in steps, the page's four metrics beside
    their exact values, seeing against doing, and the observed day against its counterfactual."""
    from ppl_models import notebooks
    from ppl_models.notebooks import PACKAGES, Step

    q = question
    day = f"a {q.obs_weather} day" if q.obs_weather != "unknown" else "a day of unobserved weather"
    steps = [
        Step("import torch", "The libraries: Pyro, its distributions, and the affine transform the sales use."),
        Step(
            "def ice_cream_sales(",
            "**The model**: the lecture's weather and ice-cream sales, for a whole plate of days at once. The sales "
            "are written as a normal noise shifted by the expected sales, so ChiRho can keep a day's noise in its "
            "counterfactual world.",
        ),
        Step("from chirho", "ChiRho, the causal-inference library built on Pyro, for the counterfactual."),
        Step(
            "N = ",
            f"{num_draws:,} days per question, drawn at once from the seed {seed}, as the page draws them.",
        ),
        Step(
            "def weighted_draws(",
            "**Likelihood weighting**: draw the days under `pyro.do` (if anything is set), and weigh each by how "
            "likely it makes what was observed (`pyro.condition`). The weighted mean of sales is the answer.",
        ),
        Step(
            "# 1. Seeing",
            f"**1 · Seeing and 2 · Doing.** Seeing temp = {q.temp:g} is evidence about the weather; setting it with "
            "`pyro.do` is not, so the weather keeps its prior. Setting the weather instead lets the temperature follow "
            "it.",
        ),
        Step(
            "# 3. Imagining",
            f"**3 · Imagining**: {day} at {q.obs_temp:g}° that sold {q.obs_sales:g}. ChiRho's "
            f"`MultiWorldCounterfactual` runs a factual and a counterfactual world sharing the weather and the sales "
            f"noise: *abduction* weighs the explanations of the day, *action* sets temp = {q.cf_temp:g} in the "
            "counterfactual world, *prediction* reads its sales.",
        ),
    ]
    forced_weather = (
        "low_sales"
        if q.do_weather == "cloudy"
        else "p_hot_given_sunny * high_sales + (1 - p_hot_given_sunny) * low_sales"
    )
    if q.obs_weather == "unknown":
        counterfactual = """p_day = p_cloudy_given(obs_temp, obs_sales)
exact_imagining = p_day * had_it_been(True) + (1 - p_day) * had_it_been(False)"""
    else:
        counterfactual = f"exact_imagining = had_it_been({q.obs_weather == 'cloudy'})"
    numbers = (
        "The page's four metrics, each to one decimal beside its exact value: Bayes' rule over the two weathers for "
        "seeing; the weather's prior for doing; and for imagining, the day's own sales noise (its sales less what "
        "its weather and temperature make) added to what its weather would make at the new temperature.",
        f"""{weather._exact_code(params)}

t, obs_temp, obs_sales, cf_temp = {q.temp!r}, {q.obs_temp!r}, {q.obs_sales!r}, {q.cf_temp!r}
c = p_cloudy_given(t)
exact_seeing = c * low_sales + (1 - c) * regime(False, t)
exact_doing = p_cloudy * low_sales + (1 - p_cloudy) * regime(False, t)
exact_doing_weather = {forced_weather}


def had_it_been(cloudy):
    return obs_sales - regime(cloudy, obs_temp) + regime(cloudy, cf_temp)


{counterfactual}
for label, value, exact in (
    ("E[sales | temp = {q.temp:g}]", seeing, exact_seeing),
    ("E[sales | do(temp = {q.temp:g})]", doing, exact_doing),
    ("E[sales | do(weather = {q.do_weather})]", doing_weather, exact_doing_weather),
    ("E[counterfactual sales]", imagining, exact_imagining),
):
    print(f"{{label}}: {{value:.1f}} (exact {{exact:.1f}})")""",
    )
    histograms = '''def weighted_bars(fig, series, bins=60):
    """Overlaid histograms of weighted draws; probability per bin when a series is a point mass (no density)."""
    everything = np.concatenate([draws for draws, _ in series.values()])
    low, high = float(everything.min()), float(everything.max())
    if high - low < 1e-9 * (1 + abs(low)):
        low, high = low - 1.0, high + 1.0
    edges = np.histogram_bin_edges(everything, bins=bins, range=(low, high))
    width = edges[1] - edges[0]
    point_mass = any(np.ptp(draws[weights > 0]) <= 1e-9 * (1 + abs(draws[0])) for draws, weights in series.values())
    for (name, (draws, weights)), colour in zip(series.items(), ("#1f77b4", "#ff7f0e")):
        mass, _ = np.histogram(draws, bins=edges, weights=weights)
        fig.add_bar(x=(edges[:-1] + edges[1:]) / 2, y=mass if point_mass else mass / width, width=width, name=name,
                    marker_color=colour, opacity=0.55)
    fig.update_layout(barmode="overlay", bargap=0)
    return "probability per bin" if point_mass else "density"'''
    seeing_doing = (
        f"**Seeing against doing**: the sales of the days weighed by temp = {q.temp:g}, and of the days with temp "
        "set to it, each with its mean.",
        f"""{histograms}


series = {{
    "sales | temp = {q.temp:g}": weighted_draws(observed={{"temp": t}}),
    "sales | do(temp = {q.temp:g})": weighted_draws(done={{"temp": t}}),
}}
series = {{name: (draws.numpy(), weights.numpy()) for name, (draws, weights) in series.items()}}
fig = go.Figure()
y_title = weighted_bars(fig, series)
# (New names: the script's own `sales` and `weights` are the counterfactual's, drawn below.)
for (name, (drawn, weighing)), colour in zip(series.items(), ("#1f77b4", "#ff7f0e")):
    mean = float(np.sum(drawn * weighing))
    fig.add_vline(x=mean, line=dict(color=colour, dash="dot"), annotation_text=f"mean {{mean:.1f}}")
styled(fig, "Seeing vs doing", "ice_cream", y_title).show()""",
    )
    imagined = (
        "**The observed day and its counterfactual**: the factual world's sales (the observed day) and the "
        f"counterfactual world's, had it been {q.cf_temp:g}°, weighted by how well each draw explains the day.",
        f"""series = {{
    "factual sales": (factual_sales.numpy(), weights.numpy()),
    "had it been {q.cf_temp:g}°": (sales.numpy(), weights.numpy()),
}}
fig = go.Figure()
y_title = weighted_bars(fig, series)
styled(fig, "The observed day and its counterfactual", "ice_cream", y_title).show()""",
    )
    return notebooks.notebook(
        title="Interventions and counterfactuals",
        page="causal",
        about="It answers three questions about the lecture's ice-cream model: seeing a temperature "
        "(`pyro.condition`), setting it (`pyro.do`), and imagining another one for an observed day (ChiRho).",
        settings=(params, question, {"draws": num_draws, "seed": seed}),
        script=answer_code(params, question, num_draws, seed),
        steps=steps,
        numbers=numbers,
        charts=(seeing_doing, imagined),
        packages=(*PACKAGES, "chirho"),
    )
