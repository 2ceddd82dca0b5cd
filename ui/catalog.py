"""The catalog: one entry per lecture page, the one place a new page is listed.

The navigation (``app.py``), the home page's cards and the start-up warm-up are all built
from :data:`CATALOG`, so adding a lecture is its model module in ``ppl_models/``, its page
file in ``pages/`` and one :class:`Lecture` line here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ppl_models import causal, gmm, hmc, open_world, scale, vi, weather
from ppl_models.engine import mcmc
from ppl_models.scale import ScaleSettings


@dataclass(frozen=True)
class Lecture:
    """One page of the app.

    :ivar url_path: the page's address (``/weather``); empty for the home page.
    :ivar blurb: the home page's card for it; empty for the home page itself.
    :ivar default_run: ``(function, *args)`` of the run the page makes with its default
        setting, exactly as the page builds it (the device too: ``auto``, the sidebar's
        until a student changes it), for the start-up warm-up; None when the page has
        nothing worth computing ahead (it is instant).
    """

    page: str
    title: str
    icon: str
    url_path: str
    blurb: str = ""
    default_run: Callable[[], tuple] | None = None

    @property
    def module(self) -> str:
        """The lecture module the page presents: it shares the page file's name (``tests/test_vocabulary.py``)."""
        return f"ppl_models.{Path(self.page).stem}"


# In the lecture's order: open-world programs, stochastic functions, conditioning and HMC,
# inside HMC, tensor shapes, variational inference, the Gaussian mixture, and then
# interventions and counterfactuals, which build on all of them (tests/test_catalog.py).
CATALOG: tuple[Lecture, ...] = (
    Lecture("pages/home.py", "Home", ":material/home:", ""),
    Lecture(
        "pages/open_world.py",
        "Open-world programs",
        ":material/alt_route:",
        "open-world",
        "More than a Bayes net: programs whose variables exist only in some runs, a walk whose length is a "
        "Poisson draw, and inference on where it ended, against the exact answer.",
        lambda: (open_world.explore, open_world.OpenWorldSettings(), 10_000, 0, "auto"),
    ),
    Lecture(
        "pages/weather.py",
        "Stochastic functions",
        ":material/sunny:",
        "weather",
        "The lecture's weather and ice-cream models: draw up to 100,000 days at once and compare "
        "what they show with the exact probabilities.",
        lambda: (weather.simulate, weather.WeatherSettings(), 10_000, 0, "auto"),
    ),
    Lecture(
        "pages/scale.py",
        "Conditioning & HMC",
        ":material/balance:",
        "scale",
        "The scale model: condition on a measurement with `pyro.condition`, infer the weight with "
        "HMC, NUTS or SVI, and check every answer against the exact posterior.",
        lambda: (scale.infer_weight, scale.ScaleSettings(), mcmc.McmcSettings()),
    ),
    Lecture(
        "pages/hmc.py",
        "Inside HMC",
        ":material/animation:",
        "hmc",
        "Why HMC works and when it fails: Pyro's leapfrog step by step over the exact contours of the energy, "
        "the stability limit, resonance with the posterior's period, a short chain and one NUTS tree.",
        lambda: (hmc.explore, ScaleSettings(), hmc.HmcSettings()),
    ),
    Lecture(
        "pages/shapes.py",
        "Tensor shapes",
        ":material/view_in_ar:",
        "shapes",
        "sample_shape + batch_shape + event_shape, .expand, .to_event and nested pyro.plates: build a "
        "distribution, watch the shapes, and read Pyro's own explanation when they do not fit.",
    ),
    Lecture(
        "pages/vi.py",
        "Variational inference",
        ":material/trending_up:",
        "vi",
        "The ELBO, the KL and the evidence, all exact on the scale model: watch SVI climb towards log p(x) with "
        "three guide families, Adam or SGD with a Robbins-Monro schedule, particles and mini-batches.",
        lambda: (vi.fit, ScaleSettings(), vi.ViSettings()),
    ),
    Lecture(
        "pages/gmm.py",
        "Gaussian mixture",
        ":material/scatter_plot:",
        "gmm",
        "MAP by SVI with enumeration on the lecture's data, or on yours: the best of many initialisations, "
        "the loss converging live, each point's cluster, and the full posterior by NUTS.",
        lambda: (gmm.fit_map, gmm.LECTURE_DATA, gmm.GmmPrior(), gmm.GmmSettings()),
    ),
    Lecture(
        "pages/causal.py",
        "Interventions & counterfactuals",
        ":material/call_split:",
        "causal",
        "Seeing, doing and imagining: E[sales | temp = t] against E[sales | do(temp = t)], and what "
        "an observed day would have sold at another temperature.",
        lambda: (causal.answer, weather.WeatherSettings(), causal.CausalSettings(), 20_000, 0, "auto"),
    ),
)


def lecture_pages() -> tuple[Lecture, ...]:
    """Every page but the home page, in the navigation's order."""
    return tuple(lecture for lecture in CATALOG if lecture.url_path)
