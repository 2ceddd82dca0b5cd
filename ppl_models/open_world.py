"""Open-world programs: the lecture's first idea, a program whose set of variables is random.

The lecture's two examples, as it writes them::

    branch:  X ~ Bernoulli(p);  if X == 1: Y ~ Normal(0, 1)
    walk:    X ~ Poisson(rate); Y[0] ~ Normal(0, 1); for i in 1 .. X-1: Y[i] ~ Normal(Y[i-1], 1)

A Bayes net has a fixed set of nodes; here whether Y exists, and how many Y's there are, is
decided by a draw. :func:`branch` and :func:`walk` are the programs with honest Python control
flow, one run per call: they make the traces the page lists and draws. Many runs at once are
one call of :func:`walk_plate` / :func:`branch_plate` inside ``pyro.plate``: the same programs,
with every run's sites masked beyond its own length, so that 10,000 runs cost one pass of tensor
work instead of 10,000 Python loops.

The walk's last value is its end, the site the page observes. :func:`walk_plate` names it
``end`` whatever the run's length (in :func:`walk` it is ``Y_{n-1}``), because observing "where
the walk ends" means a different site in each run. Inference is likelihood weighting
(importance sampling from the prior): HMC and NUTS need a fixed set of continuous sites and
no discrete ones, and this program has neither.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyro
import pyro.distributions as dist
import torch
from pyro import poutine

from ppl_models.engine.runtime.errors import InferenceError

MODELS = ("walk", "branch")
RATE_MAX = 50.0
MAX_DRAWS = 50_000
# A run of rate r makes about r sample sites, and the plate holds every run's longest walk:
# draws x longest walk is the work and the memory (README, Open-world programs),
# bounded here before anything is drawn.
MAX_SITE_VALUES = 2_000_000
LISTED_TRACES = 6
# Poisson mass beyond this is dropped from the exact sums: far below any shown digit.
TAIL = 1e-12


@dataclass(frozen=True)
class OpenWorldSettings:
    """The lecture's two programs; the observed end of the walk, or the observed Y of the branch."""

    model: str = "walk"
    rate: float = 3.0
    p: float = 0.5
    end: float = 2.0

    def check(self) -> None:
        if self.model not in MODELS:
            raise InferenceError(f"The model must be one of {', '.join(MODELS)}.")
        if not all(math.isfinite(v) for v in (self.rate, self.p, self.end)):
            raise InferenceError("Every number of the program must be finite.")
        if not 0 < self.rate <= RATE_MAX:
            raise InferenceError(
                f"The rate must lie above 0 and at most {RATE_MAX:g}: a run of rate r makes about r sample "
                "sites, so a larger rate makes traces too long for a shared server."
            )
        if not 0 <= self.p <= 1:
            raise InferenceError("p is a probability: it must lie between 0 and 1.")


def longest_walk(rate: float) -> int:
    """A length the walk exceeds with probability below ``TAIL``: where the exact sums stop."""
    k, mass, term = 0, 0.0, math.exp(-rate)
    while mass + term < 1 - TAIL:
        mass += term
        k += 1
        term *= rate / k
    return max(k, 1)


def check_draws(settings: OpenWorldSettings, num_draws: int) -> None:
    settings.check()
    if not 1 <= num_draws <= MAX_DRAWS:
        raise InferenceError(f"The number of draws must be between 1 and {MAX_DRAWS:,}.")
    values = num_draws * longest_walk(settings.rate)
    if settings.model == "walk" and values > MAX_SITE_VALUES:
        raise InferenceError(
            f"{num_draws:,} walks of rate {settings.rate:g} would hold up to {values:,} values, more than the "
            f"{MAX_SITE_VALUES:,} one run may take: use fewer draws or a smaller rate."
        )


# The programs, one run per call, with honest Python control flow.


def branch(p):
    x = pyro.sample("X", dist.Bernoulli(p))
    if x.item() == 1:
        pyro.sample("Y", dist.Normal(0.0, 1.0))
    return x


def walk(rate, end=None):
    """The lecture's walk; with ``end``, its last value is observed (whichever site that is)."""
    x = pyro.sample("X", dist.Poisson(rate))
    length = max(int(x.item()), 1)
    y = torch.zeros(())
    for i in range(length):
        observed = torch.as_tensor(end) if end is not None and i == length - 1 else None
        y = pyro.sample(f"Y_{i}", dist.Normal(y, 1.0), obs=observed)
    return y


# The same programs, many runs at once inside pyro.plate.


def walk_plate(rate):
    """Every run of the plate at once: Y_i exists in the runs longer than i + 1, then the end."""
    x = pyro.sample("X", dist.Poisson(rate))
    length = x.clamp(min=1)
    y = torch.zeros_like(x)
    for i in range(int(length.max().item()) - 1):
        exists = i < length - 1
        with poutine.mask(mask=exists):
            step = pyro.sample(f"Y_{i}", dist.Normal(y, 1.0))
        y = torch.where(exists, step, y)
    return pyro.sample("end", dist.Normal(y, 1.0))


def branch_plate(p):
    """Whether Y was made is a fact of the run, observable on its own: ``Y_exists`` is X itself."""
    x = pyro.sample("X", dist.Bernoulli(p))
    pyro.sample("Y_exists", dist.Delta(x))
    with poutine.mask(mask=x == 1):
        return pyro.sample("Y", dist.Normal(torch.zeros_like(x), 1.0))


# Exact answers.


def poisson_pmf(rate: float, upto: int) -> np.ndarray:
    k = np.arange(upto + 1)
    log_pmf = k * math.log(rate) - rate - np.array([math.lgamma(v + 1) for v in k])
    return np.exp(log_pmf)


def site_count_pmf(rate: float) -> np.ndarray:
    """P(the walk makes n values), n = 0, 1, ...: max(X, 1), so X = 0 and X = 1 both make one."""
    pmf = poisson_pmf(rate, longest_walk(rate))
    counts = pmf.copy()
    counts[1] += counts[0]
    counts[0] = 0.0
    return counts


def walk_posterior(rate: float, end: float) -> np.ndarray:
    """P(X = k | end), k = 0, 1, ...: Poisson(k; rate) x Normal(end; 0, sqrt(max(k, 1))), normalised.

    A far end moves the posterior past the prior's tail (rate 0.5, end 20: P(X > 10 | end) is
    0.7%), where the likelihood falls off only like exp(-end^2 / 2k): the sum runs to end^2 more.
    """
    upto = longest_walk(rate) + int(math.ceil(end * end)) + 50
    k = np.arange(upto + 1)
    spread = np.maximum(k, 1)
    log_post = np.log(poisson_pmf(rate, upto)) - 0.5 * np.log(2 * math.pi * spread) - end**2 / (2 * spread)
    post = np.exp(log_post - log_post.max())
    return post / post.sum()


def branch_exact(p: float, y: float) -> dict[str, float]:
    """P(X = 1 | what was seen) for the branch's three observations."""
    density = math.exp(-0.5 * y * y) / math.sqrt(2 * math.pi)
    ignored = p * density / (p * density + (1 - p)) if p * density + (1 - p) > 0 else 1.0
    return {
        "Y was made, = y": 1.0 if p > 0 else math.nan,
        "no Y was made": 0.0 if p < 1 else math.nan,
        "Y only": ignored,
    }


# What the page shows.


@dataclass(frozen=True)
class Estimate:
    """Pyro's weighted estimate of a probability or mean, beside its exact value."""

    value: float
    exact: float
    standard_error: float

    def within(self, standard_errors: float) -> bool:
        return abs(self.value - self.exact) <= standard_errors * max(self.standard_error, 1e-12)


@dataclass(frozen=True)
class WalkRuns:
    """Many runs of the walk: how many values each made, and a few of the walks themselves."""

    length_share: np.ndarray  # share of runs that made n values, n = 0, 1, ...
    exact_length: np.ndarray
    paths: tuple[np.ndarray, ...]
    ends: np.ndarray
    lengths: np.ndarray


@dataclass(frozen=True)
class WalkPosterior:
    """P(X = k | end) by likelihood weighting, and E[X | end], each beside the exact answer."""

    estimate: np.ndarray
    exact: np.ndarray
    standard_error: np.ndarray
    mean: Estimate
    ess: float
    draws: int
    note: str


@dataclass(frozen=True)
class BranchAnswers:
    """P(X = 1 | ...) for each way of seeing the branch run, estimate beside exact."""

    answers: dict[str, Estimate]
    ess: dict[str, float]
    share_with_y: float


@dataclass(frozen=True)
class OpenWorldResult:
    settings: OpenWorldSettings
    draws: int
    traces: tuple[dict[str, float], ...]
    trace_seeds: tuple[int, ...]
    walk_runs: WalkRuns | None
    walk_posterior: WalkPosterior | None
    branch: BranchAnswers | None
    wall_time_s: float
    device: str
    device_note: str = ""


def trace_seed(seed: int, index: int) -> int:
    """The seed of the page's index-th listed run: each run is the first of its own seed, so a
    graph drawn with that seed (``model_graph(..., seed=)``) is of that very run."""
    return seed * LISTED_TRACES + index


def listed_traces(settings: OpenWorldSettings, seed: int) -> tuple[dict[str, float], ...]:
    """A few runs of the program with Python control flow, each trace site by site."""
    from ppl_models.engine.prologue import run_context

    program, args = (walk, (settings.rate,)) if settings.model == "walk" else (branch, (settings.p,))
    traces = []
    for index in range(LISTED_TRACES):
        with run_context(program, seed=trace_seed(seed, index), device="cpu", model_args=args) as run:
            trace = poutine.trace(run.model).get_trace(*run.args)
        traces.append({name: float(site["value"]) for name, site in trace.nodes.items() if site["type"] == "sample"})
    return tuple(traces)


def _weighted(values: np.ndarray, weights: np.ndarray, exact: float) -> Estimate:
    mean = float(np.sum(weights * values))
    return Estimate(mean, exact, float(np.sqrt(np.sum(weights**2 * (values - mean) ** 2))))


def _walk_runs(settings: OpenWorldSettings, num_draws: int, seed: int, device: str) -> WalkRuns:
    from ppl_models.engine.sampling import run_likelihood_weighting

    drawn = run_likelihood_weighting(walk_plate, (settings.rate,), num_draws, seed, device=device)
    lengths = np.maximum(drawn.samples["X"], 1).astype(int)
    exact = site_count_pmf(settings.rate)
    share = np.bincount(lengths, minlength=len(exact)) / num_draws
    steps = [name for name in drawn.samples if name.startswith("Y_")]
    paths = []
    for run in range(min(30, num_draws)):
        path = [drawn.samples[name][run] for name in steps[: lengths[run] - 1]]
        paths.append(np.asarray([*path, drawn.samples["end"][run]]))
    return WalkRuns(share, exact, tuple(paths), drawn.samples["end"], lengths)


def _walk_posterior(settings: OpenWorldSettings, num_draws: int, seed: int, device: str) -> WalkPosterior:
    from ppl_models.engine.sampling import run_likelihood_weighting

    weighted = run_likelihood_weighting(
        walk_plate, (settings.rate,), num_draws, seed, observations={"end": settings.end}, sites=("X",), device=device
    )
    x, w = weighted.samples["X"].astype(int), weighted.weights
    exact = walk_posterior(settings.rate, settings.end)
    size = max(len(exact), int(x.max()) + 1)
    exact = np.pad(exact, (0, size - len(exact)))
    estimate = np.bincount(x, weights=w, minlength=size)
    indicator = x[None, :] == np.arange(size)[:, None]
    standard_error = np.sqrt(np.sum(w**2 * (indicator - estimate[:, None]) ** 2, axis=1))
    mean = _weighted(x.astype(float), w, float(np.sum(np.arange(size) * exact)))
    return WalkPosterior(estimate, exact, standard_error, mean, weighted.ess, num_draws, weighted.collapse_note())


def _branch(settings: OpenWorldSettings, num_draws: int, seed: int, device: str) -> BranchAnswers:
    from ppl_models.engine.sampling import run_likelihood_weighting

    exact = branch_exact(settings.p, settings.end)
    seen = {
        "Y was made, = y": {"Y_exists": 1.0, "Y": settings.end},
        "no Y was made": {"Y_exists": 0.0},
        "Y only": {"Y": settings.end},
    }
    answers, ess, share = {}, {}, 0.0
    for offset, (question, observations) in enumerate(seen.items()):
        try:
            weighted = run_likelihood_weighting(
                branch_plate, (settings.p,), num_draws, seed + offset, observations=observations, device=device
            )
        except InferenceError:
            continue  # impossible evidence (no run with a Y when p = 0): the page says so from the exact nan
        answers[question] = _weighted(weighted.samples["X"], weighted.weights, exact[question])
        ess[question] = weighted.ess
    plain = run_likelihood_weighting(branch_plate, (settings.p,), num_draws, seed, sites=("X",), device=device)
    share = float(plain.samples["X"].mean())
    return BranchAnswers(answers, ess, share)


def explore(settings: OpenWorldSettings, num_draws: int, seed: int, device: str = "auto") -> OpenWorldResult:
    """Run the program many times at once, list a few runs, and infer from the observation."""
    import time

    check_draws(settings, num_draws)
    started = time.perf_counter()
    traces = listed_traces(settings, seed)
    seeds = tuple(trace_seed(seed, i) for i in range(LISTED_TRACES))
    if settings.model == "walk":
        runs = _walk_runs(settings, num_draws, seed, device)
        posterior = _walk_posterior(settings, num_draws, seed, device)
        branch_answers = None
    else:
        runs = posterior = None
        branch_answers = _branch(settings, num_draws, seed, device)
    from ppl_models.engine.device import resolve_device

    choice = resolve_device(device, num_draws)
    return OpenWorldResult(
        settings,
        num_draws,
        traces,
        seeds,
        runs,
        posterior,
        branch_answers,
        time.perf_counter() - started,
        str(choice.device),
        choice.note,
    )


def explore_code(settings: OpenWorldSettings, num_draws: int, seed: int) -> str:
    """The page's inference as a script: the same seed, the same numbers, printed as the page shows them.

    The page runs many runs at once (the plated program) and weighs them by the observation;
    the lecture's one-run-per-call program is given first, for reading.
    """
    if settings.model == "walk":
        return f"""import torch
import pyro
import pyro.distributions as dist
from pyro import poutine


def walk(rate, end=None):
    # The lecture's program, one run per call: how many Y's there are is itself a draw.
    x = pyro.sample("X", dist.Poisson(rate))
    length = max(int(x.item()), 1)
    y = torch.zeros(())
    for i in range(length):
        y = pyro.sample(f"Y_{{i}}", dist.Normal(y, 1.0), obs=end if i == length - 1 else None)
    return y


def walk_plate(rate):
    # The same program for a whole plate of runs: Y_i exists only in runs longer than i + 1
    # (masked elsewhere), and the last value of every run is the site "end".
    x = pyro.sample("X", dist.Poisson(rate))
    length = x.clamp(min=1)
    y = torch.zeros_like(x)
    for i in range(int(length.max().item()) - 1):
        exists = i < length - 1
        with poutine.mask(mask=exists):
            step = pyro.sample(f"Y_{{i}}", dist.Normal(y, 1.0))
        y = torch.where(exists, step, y)
    return pyro.sample("end", dist.Normal(y, 1.0))


# Likelihood weighting: run the program forward from the prior, weigh each run by how likely
# it makes the observed end. HMC and NUTS cannot run here: X is discrete and the number of
# continuous sites changes from run to run.
pyro.set_rng_seed({seed})
rate = torch.tensor({settings.rate!r}, dtype=torch.float64)
conditioned = pyro.condition(walk_plate, data={{"end": torch.tensor({settings.end!r}, dtype=torch.float64)}})
with pyro.plate("draws", {num_draws}):
    trace = poutine.trace(conditioned).get_trace(rate)
end = trace.nodes["end"]
log_w = end["fn"].log_prob(end["value"]).expand({num_draws})
w = torch.exp(log_w - torch.logsumexp(log_w, 0))
x = trace.nodes["X"]["value"]
mean = (w * x).sum()
print("E[X | end = {settings.end:g}] =", round(mean.item(), 3))
print("effective sample size =", round((1 / (w ** 2).sum()).item()))
for k in range(int(x.max().item()) + 1):
    share = w[x == k].sum().item()
    if share >= 0.001:
        print(f"P(X = {{k}} | end) = {{share:.3f}}")
"""
    return f"""import torch
import pyro
import pyro.distributions as dist
from pyro import poutine


def branch(p):
    # The lecture's program, one run per call: Y exists only when X == 1.
    x = pyro.sample("X", dist.Bernoulli(p))
    if x.item() == 1:
        pyro.sample("Y", dist.Normal(0.0, 1.0))
    return x


def branch_plate(p):
    # The same program for a plate of runs. Whether a Y was made is a fact of the run, and can
    # be observed on its own: Y_exists is X itself. Y is masked out where it was never made.
    x = pyro.sample("X", dist.Bernoulli(p))
    pyro.sample("Y_exists", dist.Delta(x))
    with poutine.mask(mask=x == 1):
        return pyro.sample("Y", dist.Normal(torch.zeros_like(x), 1.0))


def p_x_is_1(observed, seed):
    # Likelihood weighting; a masked site counts only in the runs where it exists.
    pyro.set_rng_seed(seed)
    data = {{name: torch.tensor(value, dtype=torch.float64) for name, value in observed.items()}}
    with pyro.plate("draws", {num_draws}):
        trace = poutine.trace(pyro.condition(branch_plate, data=data)).get_trace(
            torch.tensor({settings.p!r}, dtype=torch.float64))
    log_w = torch.zeros({num_draws}, dtype=torch.float64)
    for name in observed:
        site = trace.nodes[name]
        log_p = site["fn"].log_prob(site["value"])
        log_w = log_w + (log_p if site["mask"] is None else torch.where(site["mask"], log_p, 0.0))
    w = torch.exp(log_w - torch.logsumexp(log_w, 0))
    return (w * trace.nodes["X"]["value"]).sum().item()


y = {settings.end!r}
answers = {{
    "a Y was made, Y = y": p_x_is_1({{"Y_exists": 1.0, "Y": y}}, {seed}),
    "no Y was made": p_x_is_1({{"Y_exists": 0.0}}, {seed + 1}),
    "Y = y, its existence ignored": p_x_is_1({{"Y": y}}, {seed + 2}),
}}
for seen, answer in answers.items():
    print(f"P(X = 1 | {{seen}}) =", round(answer, 3))
"""


def explore_notebook(settings: OpenWorldSettings, num_draws: int, seed: int):
    """:func:`explore_code` as a notebook: the lecture's program and its plated twin in steps, likelihood weighting,
    the page's metrics beside their exact values, and its charts."""
    from ppl_models import notebooks
    from ppl_models.notebooks import Step

    if settings.model == "walk":
        return _walk_notebook(settings, num_draws, seed)
    steps = [
        Step("import torch", "The libraries: Pyro, its distributions and its effect handlers (`poutine`)."),
        Step(
            "def branch(",
            "**The lecture's program**, one run per call: Y exists only when X == 1, so a run's set of sample sites is "
            "itself random.",
        ),
        Step(
            "def branch_plate(",
            "**The same program for a plate of runs.** Whether a Y was made is a fact of the run, observed as a site "
            "of its own, `Y_exists`; Y is masked out in the runs that never made one.",
        ),
        Step(
            "def p_x_is_1(",
            f"**Likelihood weighting**: {num_draws:,} runs from the prior at once, each weighed by how likely it makes "
            "what was seen; a masked site counts only in the runs where it exists.",
        ),
        Step(
            "y = ",
            f"**Three ways of seeing a run** with p = {settings.p:g}: a Y was made (of value {settings.end:g}), no Y "
            "was made, and `pyro.condition` on Y alone, which leaves every run without a Y unweighted.",
        ),
    ]
    numbers = (
        "The page's three metrics, each beside its exact value: seeing a Y at all means X = 1, seeing none means "
        "X = 0, and Y alone gives p N(y) / (p N(y) + 1 − p). Where p rules a way of seeing out, the page says "
        "*impossible*.",
        f"""import math

p = {settings.p!r}
density = math.exp(-0.5 * y * y) / math.sqrt(2 * math.pi)
exact = {{
    "a Y was made, Y = y": 1.0 if p > 0 else None,
    "no Y was made": 0.0 if p < 1 else None,
    "Y = y, its existence ignored": p * density / (p * density + (1 - p)) if p * density + (1 - p) > 0 else 1.0,
}}
labels = {{
    "a Y was made, Y = y": "P(X = 1 | a Y was made, Y = {settings.end:g})",
    "no Y was made": "P(X = 1 | no Y was made)",
    "Y = y, its existence ignored": "P(X = 1 | Y = {settings.end:g}, existence ignored)",
}}
for seen, label in labels.items():
    if exact[seen] is None:
        print(f"{{label}}: impossible")
    else:
        print(f"{{label}}: {{answers[seen]:.3f}} (vs exact {{exact[seen]:.3f}})")""",
    )
    chart = (
        "**The three answers** beside their exact values.",
        """shown = [seen for seen in labels if exact[seen] is not None]
fig = go.Figure()
fig.add_bar(x=shown, y=[answers[seen] for seen in shown], name="Pyro's estimate", marker_color=DRAWN, opacity=0.75)
fig.add_scatter(x=shown, y=[exact[seen] for seen in shown], mode="markers", name="exact",
                marker=dict(symbol="diamond", size=12, color=EXACT))
styled(fig, "P(X = 1 | what was seen)", "what was seen", "probability").show()""",
    )
    return notebooks.notebook(
        title="Open-world programs: the branch",
        page="open-world",
        about="It runs the lecture's branch, whose Y exists only in some runs, and infers X from what was seen.",
        settings=(settings, {"draws": num_draws, "seed": seed}),
        script=explore_code(settings, num_draws, seed),
        steps=steps,
        numbers=numbers,
        charts=(chart,),
    )


def _walk_notebook(settings: OpenWorldSettings, num_draws: int, seed: int):
    from ppl_models import notebooks
    from ppl_models.notebooks import Step

    steps = [
        Step("import torch", "The libraries: Pyro, its distributions and its effect handlers (`poutine`)."),
        Step(
            "def walk(",
            "**The lecture's program**, one run per call: X ~ Poisson(rate), then a walk of max(X, 1) Gaussian steps, "
            "so how many sample sites a run makes is itself a draw.",
        ),
        Step(
            "def walk_plate(",
            "**The same program for a plate of runs**: Y_i exists only in the runs longer than i + 1 (masked "
            "elsewhere), and every run's last value is the site `end`, whichever step it is.",
        ),
        Step(
            "# Likelihood weighting",
            f"**Likelihood weighting**: {num_draws:,} runs from the prior at once (rate {settings.rate:g}, seed "
            f"{seed}), each weighed by how likely it makes the observed end {settings.end:g}. HMC and NUTS cannot run "
            "here: X is discrete and the number of continuous sites changes from run to run.",
        ),
    ]
    numbers = (
        "The page's two metrics: E[X | end] beside the exact answer, which sums Poisson(k; rate) x Normal(end; 0, "
        "sqrt(max(k, 1))) over k until the prior's tail and the likelihood's are far below any shown digit; and the "
        "effective sample size of the weighted runs.",
        f"""import math

rate_value, end_value = {settings.rate!r}, {settings.end!r}
longest, mass, term = 0, 0.0, math.exp(-rate_value)  # where the Poisson's tail drops below 1e-12
while mass + term < 1 - 1e-12:
    mass, longest = mass + term, longest + 1
    term *= rate_value / longest
upto = max(longest, 1) + math.ceil(end_value**2) + 50  # a far end moves the posterior past the prior's tail
log_post = [k * math.log(rate_value) - rate_value - math.lgamma(k + 1) - 0.5 * math.log(2 * math.pi * max(k, 1))
            - end_value**2 / (2 * max(k, 1)) for k in range(upto + 1)]
top = max(log_post)
exact_post = [math.exp(v - top) for v in log_post]
exact_post = [v / sum(exact_post) for v in exact_post]
exact_mean = sum(k * v for k, v in enumerate(exact_post))
ess = (1 / (w**2).sum()).item()
print(f"E[X | end = {settings.end:g}]: {{mean.item():.3f}} (vs exact {{exact_mean:.3f}})")
print(f"Effective sample size: {{ess:,.0f}} (of {num_draws:,} runs)")""",
    )
    posterior = (
        "**Where did the walk end?** P(X = k | end) from the weighted runs, beside the exact answer.",
        f"""x_values = x.long().numpy()
size = max(len(exact_post), int(x_values.max()) + 1)
estimate = np.bincount(x_values, weights=w.numpy(), minlength=size)
exact_k = np.pad(np.array(exact_post), (0, size - len(exact_post)))
ks = np.arange(size)
shown = ks[(exact_k > 1e-4) | (estimate > 0)]
upto_k = int(shown.max()) + 1 if len(shown) else 1
fig = go.Figure()
fig.add_bar(x=ks[:upto_k], y=estimate[:upto_k], name="Pyro's estimate", marker_color=DRAWN, opacity=0.75)
fig.add_scatter(x=ks[:upto_k], y=exact_k[:upto_k], mode="lines+markers", name="exact",
                line=dict(color=EXACT, width=2, dash="dot"), marker=dict(symbol="diamond", size=9, color=EXACT))
styled(fig, "P(X = k | end = {settings.end:g})", "X", "probability").show()""",
    )
    lengths = (
        "**How many values each run made**, max(X, 1), before any weighing, beside the exact share: X = 0 and "
        "X = 1 both make one.",
        """length = np.maximum(x_values, 1)
prior_k = np.array([math.exp(k * math.log(rate_value) - rate_value - math.lgamma(k + 1)) for k in range(upto + 1)])
exact_length = prior_k.copy()
exact_length[1] += exact_length[0]
exact_length[0] = 0.0
n_values = np.arange(1, int(max(np.flatnonzero(exact_length > 1e-4).max(), length.max())) + 1)
share = np.bincount(length, minlength=n_values[-1] + 1)[n_values] / len(length)
fig = go.Figure()
fig.add_bar(x=n_values, y=share, name="share of runs", marker_color=DRAWN, opacity=0.75)
fig.add_scatter(x=n_values, y=exact_length[n_values], mode="lines+markers", name="exact",
                line=dict(color=EXACT, width=2, dash="dot"), marker=dict(symbol="diamond", size=9, color=EXACT))
styled(fig, "How many values each run made", "values in the run", "share of runs").show()""",
    )
    return notebooks.notebook(
        title="Open-world programs: the walk",
        page="open-world",
        about="It runs the lecture's walk, whose number of variables is a Poisson draw, many times at once and "
        "infers X from where the walk ended.",
        settings=(settings, {"draws": num_draws, "seed": seed}),
        script=explore_code(settings, num_draws, seed),
        steps=steps,
        numbers=numbers,
        charts=(posterior, lengths),
    )
