"""The lecture's first stochastic functions: the weather, and ice-cream sales built on it.

::

    cloudy ──────────────┐
      │                  v
      └──> temp ──> ice_cream

    cloudy    ~ Bernoulli(p_cloudy)                      (0.3)
    temp      ~ Normal(55, 10) if cloudy else Normal(75, 15)
    expected  = 200 if sunny and temp > 80 else 50
    ice_cream ~ Normal(expected, 10)

From the Pyro lecture of the causal-ML course (``weather()`` and
``ice_cream_sales()``), with every number adjustable. The model is written with
``torch.where`` instead of Python ``if`` so that one call draws a whole
``pyro.plate`` of days at once. The weather confounds temperature and sales, which is
what makes conditioning on ``temp`` and intervening on it (``pyro.do``) differ.

``ice_cream`` is written as its noise ``Normal(0, sales_sd)`` shifted by the expected
sales (an ``AffineTransform``), the same distribution as ``Normal(expected, sales_sd)``.
Written this way, ChiRho can share the day's noise between a factual and a
counterfactual world.
"""

from __future__ import annotations

import math
from dataclasses import astuple, dataclass, fields

import numpy as np
import pyro
import pyro.distributions as dist
import torch
from pyro.distributions.transforms import AffineTransform

from ppl_models.engine.runtime.errors import InferenceError
from ppl_models.exact import Normal


@dataclass(frozen=True)
class WeatherSettings:
    """Every number of the model; the lecture's by default."""

    p_cloudy: float = 0.3
    cloudy_mean: float = 55.0
    cloudy_sd: float = 10.0
    sunny_mean: float = 75.0
    sunny_sd: float = 15.0
    threshold: float = 80.0
    high_sales: float = 200.0
    low_sales: float = 50.0
    sales_sd: float = 10.0

    def check(self) -> None:
        if not all(math.isfinite(v) for v in astuple(self)):
            raise InferenceError("Every number of the model must be finite.")
        if not 0 <= self.p_cloudy <= 1:
            raise InferenceError("P(cloudy) must lie between 0 and 1.")
        if min(self.cloudy_sd, self.sunny_sd, self.sales_sd) <= 0:
            raise InferenceError("Standard deviations must be positive.")

    def as_args(self) -> tuple[float, ...]:
        return tuple(float(v) for v in astuple(self))


def ice_cream_sales(
    p_cloudy, cloudy_mean, cloudy_sd, sunny_mean, sunny_sd, threshold, high_sales, low_sales, sales_sd
) -> torch.Tensor:
    """One day (or a plate of days): the weather, the temperature, the sales."""
    cloudy = pyro.sample("cloudy", dist.Bernoulli(p_cloudy))
    is_cloudy = cloudy == 1
    temp = pyro.sample(
        "temp",
        dist.Normal(torch.where(is_cloudy, cloudy_mean, sunny_mean), torch.where(is_cloudy, cloudy_sd, sunny_sd)),
    )
    expected = torch.where(~is_cloudy & (temp > threshold), high_sales, low_sales)
    noise = dist.Normal(torch.zeros_like(expected), sales_sd)
    return pyro.sample("ice_cream", dist.TransformedDistribution(noise, [AffineTransform(expected, 1.0)]))


# ---- exact answers -------------------------------------------------------------------


def p_hot_given_sunny(params: WeatherSettings, threshold: float | None = None) -> float:
    """P(temp > threshold | sunny)."""
    threshold = params.threshold if threshold is None else threshold
    return 0.5 * math.erfc((threshold - params.sunny_mean) / (params.sunny_sd * math.sqrt(2)))


def p_high_regime(params: WeatherSettings) -> float:
    """P(sunny and temp > threshold): the chance of a high-sales day."""
    return (1 - params.p_cloudy) * p_hot_given_sunny(params)


def expected_sales(params: WeatherSettings) -> float:
    high = p_high_regime(params)
    return high * params.high_sales + (1 - high) * params.low_sales


def _log(p: float) -> float:
    """log p, with log 0 = -inf: a weather the prior rules out stays ruled out."""
    return math.log(p) if p > 0 else -math.inf


def _log_normal(x: float, mean: float, sd: float) -> float:
    """log Normal(mean, sd).pdf(x) up to the constant both weathers share."""
    return -0.5 * ((x - mean) / sd) ** 2 - math.log(sd)


def _share(log_a: float, log_b: float) -> float:
    """a / (a + b) from log a and log b: the logistic of their difference, exp only of numbers <= 0.

    At the extremes the controls allow (temp = 220, sd = 0.5) the log densities reach -10^5
    and their difference +-10^4, where exp overflows and the densities themselves underflow
    to 0/0. One of the two is finite, since P(cloudy) and 1 - P(cloudy) are not both 0.
    """
    if log_a == log_b:  # both -inf cannot occur; equal finite logs share evenly
        return 0.5
    if log_a > log_b:
        return 1 / (1 + math.exp(log_b - log_a))
    e = math.exp(log_a - log_b)
    return e / (1 + e)


def _weather_logs(params: WeatherSettings, temp: float) -> dict[bool, float]:
    """log P(weather) + log p(temp | weather), for cloudy (True) and sunny (False)."""
    return {
        True: _log(params.p_cloudy) + _log_normal(temp, params.cloudy_mean, params.cloudy_sd),
        False: _log(1 - params.p_cloudy) + _log_normal(temp, params.sunny_mean, params.sunny_sd),
    }


def p_cloudy_given_temp(params: WeatherSettings, temp: float) -> float:
    """Bayes' rule over the two weathers, on the log scale: right where both densities underflow."""
    logs = _weather_logs(params, temp)
    return _share(logs[True], logs[False])


def sales_regime(params: WeatherSettings, cloudy: bool, temp: float) -> float:
    return params.high_sales if (not cloudy and temp > params.threshold) else params.low_sales


def exact_conditional_sales(params: WeatherSettings, temp: float) -> float:
    """E[sales | temp = t]: seeing a hot day also says the day was probably sunny."""
    p_cloudy = p_cloudy_given_temp(params, temp)
    return p_cloudy * params.low_sales + (1 - p_cloudy) * sales_regime(params, False, temp)


def exact_interventional_sales(params: WeatherSettings, temp: float) -> float:
    """E[sales | do(temp = t)]: setting the temperature leaves the weather at its prior."""
    return params.p_cloudy * params.low_sales + (1 - params.p_cloudy) * sales_regime(params, False, temp)


def exact_weather_intervention_sales(params: WeatherSettings, cloudy: bool) -> float:
    """E[sales | do(cloudy = c)]: the temperature follows the forced weather."""
    if cloudy:
        return params.low_sales
    hot = p_hot_given_sunny(params)
    return hot * params.high_sales + (1 - hot) * params.low_sales


def p_cloudy_given_day(params: WeatherSettings, temp: float, sales: float) -> float:
    """P(cloudy | temp, sales) for a day whose weather was not observed, on the log scale."""
    logs = _weather_logs(params, temp)
    for cloudy in (True, False):
        logs[cloudy] += _log_normal(sales, sales_regime(params, cloudy, temp), params.sales_sd)
    return _share(logs[True], logs[False])


def impossible_observation(params: WeatherSettings, weather: str) -> str:
    """A sentence when the observed weather is one the prior rules out (P = 0): no answer exists."""
    if weather == "cloudy" and params.p_cloudy == 0:
        return (
            "The day is observed cloudy, but with P(cloudy) = 0 the model never makes a cloudy day, so "
            "there is nothing to imagine from. Raise P(cloudy) above 0, or observe the day as sunny or "
            "not observed."
        )
    if weather == "sunny" and params.p_cloudy == 1:
        return (
            "The day is observed sunny, but with P(cloudy) = 1 the model never makes a sunny day, so "
            "there is nothing to imagine from. Lower P(cloudy) below 1, or observe the day as cloudy or "
            "not observed."
        )
    return ""


def exact_counterfactual_sales(
    params: WeatherSettings, weather: str, temp: float, sales: float, cf_temp: float
) -> float:
    """E[sales had the temperature been cf_temp | the observed day].

    Abduction: the day's sales noise is ``sales - expected(weather, temp)``, and the
    weather is what was observed, or its posterior given the day. Action: set the
    temperature. Prediction: ``expected(weather, cf_temp) + noise``.
    """

    def had_it_been(cloudy: bool) -> float:
        return sales - sales_regime(params, cloudy, temp) + sales_regime(params, cloudy, cf_temp)

    impossible = impossible_observation(params, weather)
    if impossible:
        raise InferenceError(impossible)
    if weather == "cloudy":
        return had_it_been(True)
    if weather == "sunny":
        return had_it_been(False)
    p_cloudy = p_cloudy_given_day(params, temp, sales)
    return p_cloudy * had_it_been(True) + (1 - p_cloudy) * had_it_been(False)


def implausibility(
    params: WeatherSettings, temp: float | None = None, sales: float | None = None, weather: str = "unknown"
) -> str:
    """A sentence when evidence lies more than 5 sd from every way the model can make it."""
    z_limit = 5.0
    problems = []
    weathers = {"cloudy": [True], "sunny": [False]}.get(weather, [True, False])
    # A weather the prior rules out explains nothing: measure only against the possible ones.
    weathers = [c for c in weathers if (params.p_cloudy if c else 1 - params.p_cloudy) > 0] or weathers
    if temp is not None:
        zs = [
            abs(temp - (params.cloudy_mean if c else params.sunny_mean)) / (params.cloudy_sd if c else params.sunny_sd)
            for c in weathers
        ]
        if min(zs) > z_limit:
            problems.append(f"temp = {temp:g} is {min(zs):.1f} standard deviations from the nearest weather's mean")
    if sales is not None and temp is not None:
        zs = [abs(sales - sales_regime(params, c, temp)) / params.sales_sd for c in weathers]
        if min(zs) > z_limit:
            problems.append(f"sales = {sales:g} is {min(zs):.1f} standard deviations from what such a day sells")
    if not problems:
        return ""
    return (
        "The model finds this evidence practically impossible: " + "; ".join(problems) + ". "
        "Pyro still weighs the explanations against each other, so the numbers show the least "
        "impossible one, but no real day under this model looks like this."
    )


@dataclass(frozen=True)
class Estimate:
    """A Monte Carlo estimate from simulated days, its standard error, and the exact value."""

    label: str
    estimate: float
    standard_error: float
    exact: float
    note: str = ""  # set when the estimate is further from the exact value than its spread explains


# Further than this many standard errors from the exact value: once in ~1.7 million by chance.
MISS_SE = 5.0


def _checked(label: str, estimate: float, standard_error: float, exact: float, n: int) -> Estimate:
    # A rare event never drawn has a sample standard error of 0: the estimate is then
    # "exactly" 0 and only the exact value can tell that the draws were too few.
    if abs(estimate - exact) <= MISS_SE * standard_error + 1e-9 * max(1.0, abs(exact)):
        return Estimate(label, estimate, standard_error, exact)
    note = (
        f"{label} from {n:,} draws is {abs(estimate - exact):.3g} from the exact value, more than its "
        f"standard error ({standard_error:.2g}) allows: the draws are too few to see how often a rare case "
        "happens. Use more draws."
    )
    return Estimate(label, estimate, standard_error, exact, note)


def exact_values(params: WeatherSettings) -> dict[str, float]:
    """P(cloudy), P(high-sales day) and E[sales], exactly: what :func:`estimates` estimates."""
    return {
        "P(cloudy)": params.p_cloudy,
        "P(high-sales day)": p_high_regime(params),
        "E[sales]": expected_sales(params),
    }


def estimates(params: WeatherSettings, cloudy: np.ndarray, temp: np.ndarray, sales: np.ndarray) -> list[Estimate]:
    """P(cloudy), P(high-sales day) and E[sales] from draws, beside their exact values."""
    n = len(sales)
    is_cloudy = cloudy == 1
    high = ~is_cloudy & (temp > params.threshold)
    drawn = {"P(cloudy)": is_cloudy, "P(high-sales day)": high, "E[sales]": sales}
    return [
        _checked(label, float(drawn[label].mean()), float(drawn[label].std()) / math.sqrt(n), exact, n)
        for label, exact in exact_values(params).items()
    ]


def temperature_densities(params: WeatherSettings, grid: np.ndarray) -> dict[str, np.ndarray]:
    """Each weather's share of the temperature density: the two parts sum to the whole."""
    return {
        "cloudy": params.p_cloudy * Normal(params.cloudy_mean, params.cloudy_sd).pdf(grid),
        "sunny": (1 - params.p_cloudy) * Normal(params.sunny_mean, params.sunny_sd).pdf(grid),
    }


def sales_density(params: WeatherSettings, grid: np.ndarray) -> np.ndarray:
    """Sales are a two-part mixture: the high regime with probability P(high-sales day)."""
    high = p_high_regime(params)
    return high * Normal(params.high_sales, params.sales_sd).pdf(grid) + (1 - high) * Normal(
        params.low_sales, params.sales_sd
    ).pdf(grid)


def simulate(params: WeatherSettings, num_draws: int, seed: int, device: str = "auto"):
    """Draw ``num_draws`` days at once (one ``pyro.plate``), as the lecture's loop would one by one."""
    from ppl_models.engine.sampling import run_likelihood_weighting

    params.check()
    return run_likelihood_weighting(ice_cream_sales, params.as_args(), num_draws, seed, device=device)


def simulate_code(params: WeatherSettings, num_draws: int, seed: int) -> str:
    """The page's simulation as a script: the same draws, the same numbers.

    The lecture's loop draws one day per call; the page draws all days at once inside
    ``pyro.plate``, so the model is written with ``torch.where`` instead of ``if``, and the
    arguments are float64 tensors as the page's are, so the seed gives the page's draws.
    """
    names = ", ".join(f.name for f in fields(params))
    values = ", ".join(repr(v) for v in params.as_args())
    return f"""import torch
import pyro
import pyro.distributions as dist
from pyro.distributions.transforms import AffineTransform

def ice_cream_sales({names}):
    # The lecture's weather() and ice_cream_sales(), for a whole plate of days at once.
    cloudy = pyro.sample("cloudy", dist.Bernoulli(p_cloudy))
    is_cloudy = cloudy == 1
    temp = pyro.sample("temp", dist.Normal(torch.where(is_cloudy, cloudy_mean, sunny_mean),
                                           torch.where(is_cloudy, cloudy_sd, sunny_sd)))
    expected = torch.where(~is_cloudy & (temp > threshold), high_sales, low_sales)
    # Normal(expected, sd) written as a transformed noise, so a counterfactual can reuse the noise.
    noise = dist.Normal(torch.zeros_like(expected), sales_sd)
    return pyro.sample("ice_cream", dist.TransformedDistribution(noise, [AffineTransform(expected, 1.0)]))

pyro.set_rng_seed({seed})
args = [torch.tensor(value, dtype=torch.float64) for value in ({values},)]
with pyro.plate("draws", {num_draws}):
    trace = pyro.poutine.trace(ice_cream_sales).get_trace(*args)
cloudy, temp, sales = (trace.nodes[name]["value"] for name in ("cloudy", "temp", "ice_cream"))

for c, t, s in zip(cloudy[:8], temp[:8], sales[:8]):
    print(("cloudy" if c == 1 else "sunny", round(t.item(), 2)), round(s.item(), 2))
high = (cloudy == 0) & (temp > {params.threshold!r})
print("P(cloudy) =", round(cloudy.mean().item(), 3))
print("P(high-sales day) =", round(high.double().mean().item(), 3))
print("E[sales] =", round(sales.mean().item(), 3))
"""


def _exact_code(params: WeatherSettings) -> str:
    """The model's exact answers as notebook code: the numbers, Bayes' rule over the two weathers, the regimes.

    The same formulas as this module's, written for a notebook that has nothing of the app.
    """
    names = ", ".join(f.name for f in fields(params))
    values = ", ".join(repr(v) for v in params.as_args())
    return f'''import math

{names} = {values}


def log_normal(x, mean, sd):
    """log Normal(mean, sd).pdf(x), less the constant every weather shares."""
    return -0.5 * ((x - mean) / sd) ** 2 - math.log(sd)


def share(log_a, log_b):
    """a / (a + b) from log a and log b, without overflow where the densities themselves underflow."""
    if log_a == log_b:
        return 0.5
    if log_a > log_b:
        return 1 / (1 + math.exp(log_b - log_a))
    e = math.exp(log_a - log_b)
    return e / (1 + e)


def regime(cloudy, temp):
    """Expected sales: high on a sunny day above the threshold, low otherwise."""
    return high_sales if (not cloudy and temp > threshold) else low_sales


def p_cloudy_given(temp, sales=None):
    """P(cloudy | temp), or P(cloudy | temp, sales): Bayes' rule over the two weathers, on the log scale."""
    logs = {{}}
    weathers = ((True, p_cloudy, cloudy_mean, cloudy_sd), (False, 1 - p_cloudy, sunny_mean, sunny_sd))
    for cloudy, prior, mean, sd in weathers:
        logs[cloudy] = (math.log(prior) if prior > 0 else -math.inf) + log_normal(temp, mean, sd)
        if sales is not None:
            logs[cloudy] += log_normal(sales, regime(cloudy, temp), sales_sd)
    return share(logs[True], logs[False])


p_hot_given_sunny = 0.5 * math.erfc((threshold - sunny_mean) / (sunny_sd * math.sqrt(2)))
p_high = (1 - p_cloudy) * p_hot_given_sunny  # a sunny day above the threshold: a high-sales day'''


def simulate_notebook(params: WeatherSettings, num_draws: int, seed: int):
    """:func:`simulate_code` as a notebook: the model and the draws in steps, the page's three estimates beside
    their exact values, the temperature split by weather and the sales, each against its exact density."""
    from ppl_models import notebooks
    from ppl_models.notebooks import Step

    steps = [
        Step("import torch", "The libraries: Pyro, its distributions, and the affine transform the sales use."),
        Step(
            "def ice_cream_sales(",
            "**The model**: the lecture's `weather()` and `ice_cream_sales()` in one function. A day is cloudy with "
            "probability p_cloudy, its temperature is normal around the weather's mean, and a sunny day above the "
            "threshold sells high. Written with `torch.where`, so one call draws a whole plate of days.",
        ),
        Step(
            "pyro.set_rng_seed(",
            f"**{num_draws:,} days at once**: one call inside `pyro.plate`, from float64 numbers and seed {seed}, as "
            "the page draws them; `poutine.trace` keeps every site's values.",
        ),
        Step("for c, t, s in zip(", "**The first draws**, printed as the lecture prints them."),
        Step("high = (cloudy == 0)", "**The estimates**: each a share or a mean over the days drawn."),
    ]
    numbers = (
        "The page's three metrics, each beside its exact value: P(cloudy) is the model's own number, P(high-sales "
        "day) = (1 − P(cloudy)) · P(temp > threshold | sunny), and E[sales] weighs the two sales levels by it.",
        f"""{_exact_code(params)}

drawn = {{"P(cloudy)": (cloudy == 1).double().mean().item(), "P(high-sales day)": high.double().mean().item(),
         "E[sales]": sales.double().mean().item()}}
exact = {{"P(cloudy)": p_cloudy, "P(high-sales day)": p_high,
         "E[sales]": p_high * high_sales + (1 - p_high) * low_sales}}
for label, estimate in drawn.items():
    print(f"{{label}}: {{estimate:.3f}} (exact {{exact[label]:.3f}})")""",
    )
    temperature = (
        "**Temperature, split by weather**: each weather's share of all the days as stacked bars, and its exact "
        "share of the density as a curve.",
        """t, is_cloudy = temp.numpy(), (cloudy == 1).numpy()
edges = np.histogram_bin_edges(t, bins=60)
width = edges[1] - edges[0]
grid = np.linspace(t.min(), t.max(), 300)
fig = go.Figure()
for name, chosen, share_of_days, mean, sd, colour in (
    ("cloudy", is_cloudy, p_cloudy, cloudy_mean, cloudy_sd, "#1f77b4"),
    ("sunny", ~is_cloudy, 1 - p_cloudy, sunny_mean, sunny_sd, "#ff7f0e"),
):
    counts, _ = np.histogram(t[chosen], bins=edges)
    fig.add_bar(x=(edges[:-1] + edges[1:]) / 2, y=counts / len(t) / width, width=width, name=name,
                marker_color=colour, opacity=0.6)
    fig.add_scatter(x=grid, y=share_of_days * normal_pdf(grid, mean, sd), mode="lines", name=f"exact, {name} share",
                    line=dict(color=colour, width=2))
fig.update_layout(barmode="stack", bargap=0)
styled(fig, "Temperature, split by weather", "temp (°F)", "density").show()""",
    )
    sales_chart = (
        "**Ice-cream sales**: a histogram of the days' sales, and the exact density, a mixture of the two sales "
        "levels in the shares above.",
        """s = sales.numpy()
grid = np.linspace(s.min(), s.max(), 400)
exact_density = p_high * normal_pdf(grid, high_sales, sales_sd) + (1 - p_high) * normal_pdf(grid, low_sales, sales_sd)
fig = go.Figure()
fig.add_histogram(x=s, histnorm="probability density", nbinsx=80, name="samples", marker_color=DRAWN, opacity=0.65)
fig.add_scatter(x=grid, y=exact_density, mode="lines", name="exact density", line=dict(color=EXACT, width=2))
styled(fig, "Ice-cream sales", "ice_cream", "density").show()""",
    )
    return notebooks.notebook(
        title="Stochastic functions: weather and ice cream",
        page="weather",
        about="It draws days from the lecture's weather and ice-cream model and compares what they show with the "
        "exact probabilities.",
        settings=(params, {"draws": num_draws, "seed": seed}),
        script=simulate_code(params, num_draws, seed),
        steps=steps,
        numbers=numbers,
        charts=(temperature, sales_chart),
    )
