"""Variational inference, seen whole: the ELBO, the KL and the evidence on the scale model."""

import numpy as np
import streamlit as st

from ppl_models import vi, vi_exact
from ppl_models.engine.svi import MAX_STEPS
from ppl_models.exact import Normal
from ppl_models.scale import ScaleSettings
from ui import charts, panels, style
from ui.chart_view import chart
from ui.controls import SEED, Choice, Slider, build, render
from ui.notebook_button import notebook_button
from ui.runs import LiveSlot, cached_run, show_provenance, show_unfinished
from ui.scale_controls import MODEL_CONTROLS
from ui.text import escape

VI_CONTROLS = [
    Choice(
        "guide",
        "Guide family",
        vi.GUIDES,
        (
            "Normal(loc, scale): both learned; it can reach the posterior",
            "Normal(loc, prior sd): only loc learned; the KL stops at a floor",
            "AutoDelta: a point (MAP); no entropy term",
        ),
        "normal",
        "The family q is searched in: SVI finds the member closest to the posterior in KL(q || posterior).",
        field="guide",
    ),
    Choice(
        "optim",
        "Optimizer",
        ("adam", "sgd"),
        ("Adam: steps of about lr, scaled per parameter", "plain stochastic gradient descent"),
        "adam",
        "How each noisy gradient becomes a step.",
        field="optim",
    ),
    Slider.for_field(
        vi.ViSettings,
        "lr",
        label="Learning rate",
        min=0.0001,
        max=vi.MAX_LR,
        step=0.0001,
        help="The step size rho at the start. Above 0; at most 10, past which one step overshoots by far.",
        number_box=True,
        bound_reason="a step of 0 never moves, and past 10 one step overshoots the posterior by far",
    ),
    Choice(
        "schedule",
        "Step-size schedule",
        ("constant", "robbins_monro"),
        ("rho_t = lr", "rho_t = lr / (1 + t)^kappa"),
        "robbins_monro",
        "Robbins and Monro: noisy but unbiased gradients converge when the steps sum to infinity and their "
        "squares do not, which rho_t = lr / (1 + t)^kappa does for 0.5 < kappa <= 1.",
        field="schedule",
    ),
    Slider.for_field(
        vi.ViSettings,
        "kappa",
        label="Schedule exponent kappa",
        min=0.51,
        max=1.0,
        step=0.01,
        help="rho_t = lr / (1 + t)^kappa; Robbins-Monro's conditions hold for 0.5 < kappa <= 1.",
    ),
    Slider.for_field(
        vi.ViSettings,
        "particles",
        label="Particles",
        min=1,
        max=100,
        step=1,
        help="Draws from q per step for the ELBO estimate: more particles, less gradient noise (1 / particles).",
    ),
    Slider.for_field(
        vi.ViSettings, "steps", label="Steps", min=10, max=MAX_STEPS, step=10, help="SVI steps.", number_box=True
    ),
    Slider.for_field(
        vi.ViSettings,
        "n",
        label="Measurements n",
        min=1,
        max=vi.MAX_MEASUREMENTS,
        step=1,
        help="1: the lecture's single weighing. More: the object weighed n times, its weight and the readings "
        "drawn from the model with the seed.",
        number_box=True,
    ),
    Slider.for_field(
        vi.ViSettings,
        "batch",
        label="Mini-batch size",
        min=0,
        max=vi.MAX_MEASUREMENTS,
        step=1,
        help="Measurements per step, with pyro.plate(..., subsample_size=batch); 0 uses all n.",
        number_box=True,
    ),
]

style.title("Variational inference, seen whole")
st.markdown(
    "SVI turns inference into optimisation: it climbs the ELBO of a guide q. On the scale model every term of "
    "the lecture's identity **log p(x) = ELBO(q) + KL(q || p(weight | x))** is exact, so each step can be "
    "checked: the ELBO climbs towards the log evidence, and the KL is what is left between them."
)

with st.sidebar:
    st.header("Model and evidence")
    query = build(ScaleSettings, MODEL_CONTROLS, render(MODEL_CONTROLS, "vi"))
    st.header("SVI")
    values = render([*VI_CONTROLS, SEED], "vi")
    settings = build(vi.ViSettings, VI_CONTROLS, values, seed=values["seed"])

prior = vi.prior_of(query)
objective = "log p(x, weight)" if settings.guide == "delta" else "ELBO"
key_numbers = st.container()
curves, kl_slot, guide_slot = LiveSlot("vi-elbo"), LiveSlot("vi-kl"), LiveSlot("vi-guide")
data = vi_exact.Measurements.of(vi.measurements(query, settings))
post_mean, post_sd = vi_exact.posterior(prior, data)
evidence = vi_exact.log_evidence(prior, data)
posterior = Normal(post_mean, post_sd)


def draw_guide(loc: float, scale: float | None) -> None:
    width = 5 * max(post_sd, scale or 0.0)
    grid = np.linspace(min(post_mean, loc) - width, max(post_mean, loc) + width, 400)
    guide_pdf = Normal(loc, scale).pdf(grid) if scale is not None else None
    guide_slot.show(charts.guide_over_posterior(grid, posterior.pdf(grid), guide_pdf, loc))


def draw_partial(progress):
    params = progress.partial.get("params")
    if not params or "loss" not in progress.partial:
        return
    path = vi.exact_path(query, settings, data, params)
    curves.show(charts.elbo_curves(-progress.partial["loss"], path.elbo, evidence, f"{objective} so far", objective))
    if path.kl is not None:
        kl_slot.show(charts.kl_curve(path.kl))
    draw_guide(float(path.loc[-1]), None if path.scale is None else float(path.scale[-1]))


outcome = cached_run(vi.fit, query, settings, label="Running SVI", live=draw_partial)
if not outcome.ok:
    for slot in (curves, kl_slot, guide_slot):
        slot.clear()
    show_unfinished(outcome)
    st.stop()
result = outcome.result
path = result.path
estimate = float(-np.mean(result.losses[-min(50, len(result.losses)) :]))

with key_numbers:
    evidence_col, elbo_col, kl_col = st.columns(3)
    evidence_col.metric(
        "log evidence",
        f"{result.log_evidence:.3f}",
        "exact",
        delta_color="off",
        delta_arrow="off",
        help="log p(x): the log probability of the measurements with the weight integrated out.",
    )
    elbo_col.metric(
        "ELBO" if settings.guide != "delta" else "log p(x, weight) at the MAP",
        f"{path.elbo[-1]:.3f}",
        f"estimated {estimate:.3f}",
        delta_color="off",
        delta_arrow="off",
        help="Exact, of the final guide; below it, SVI's own Monte Carlo estimate (the mean of the last steps' "
        "negative losses).",
    )
    if path.kl is not None:
        kl_col.metric(
            "KL(q || posterior)",
            f"{path.kl[-1]:.4f}",
            f"log p - ELBO estimate: {result.log_evidence - estimate:.4f}",
            delta_color="off",
            delta_arrow="off",
            help="Exact: what the guide still misses of the posterior.",
        )
        st.markdown(
            f"**The identity, in numbers:** log p(x) = ELBO + KL: {result.log_evidence:.3f} = "
            f"{path.elbo[-1]:.3f} + {path.kl[-1]:.4f}."
        )
    else:
        kl_col.metric(
            "KL(q || posterior)", "infinite", help="A point has no density: its KL to any density is infinite."
        )
    if settings.guide == "normal" and path.kl[-1] > 0.01:
        st.warning(
            f"The guide has not reached the posterior: KL {path.kl[-1]:.3f} nats remain. Give SVI more steps, more "
            "particles, or a step size that can settle (Robbins-Monro)."
        )
    if settings.guide == "fixed_scale":
        st.info(
            f"A guide whose scale is held at the prior sd ({query.prior_sd:g}) cannot narrow to the posterior sd "
            f"({result.posterior_sd:.3f}): its KL stops at an exact floor of **{result.kl_floor:.4f}** nats, "
            f"here {path.kl[-1] - result.kl_floor:.4f} above it."
        )
    if settings.guide == "delta":
        gap = path.elbo[-1] - result.log_evidence
        st.info(
            "AutoDelta fits a point: without q's entropy term the objective is log p(x, weight) at that point, the "
            f"MAP. It is not a bound on log p(x): here it is {abs(gap):.3f} nats {'above' if gap > 0 else 'below'} it."
        )
show_provenance(outcome)

noisy = -result.losses
curves.show(charts.elbo_curves(noisy, path.elbo, result.log_evidence, f"{objective} at each step", objective))
if path.kl is not None:
    kl_slot.show(charts.kl_curve(path.kl, result.kl_floor))
draw_guide(float(path.loc[-1]), None if path.scale is None else float(path.scale[-1]))
if settings.optim == "sgd" or settings.schedule == "robbins_monro":
    st.caption(
        "Robbins and Monro: with noisy but unbiased gradients, steps rho_t converge when their sum is infinite "
        "(the guide can get anywhere) and the sum of their squares is finite (the noise dies out); "
        "rho_t = lr / (1 + t)^kappa meets both for 0.5 < kappa <= 1. A constant step meets only the first."
    )

st.header("Gradient noise")
noise = cached_run(vi.noise_profile, query, settings, label="Measuring the gradient's noise")
if noise.ok:
    particles_col, batch_col = st.columns(2)
    with particles_col:
        chart(
            charts.noise_plot(noise.result.particles, noise.result.by_particles, "particles", "Against the particles")
        )
    if noise.result.batches:
        with batch_col:
            chart(
                charts.noise_plot(noise.result.batches, noise.result.by_batch, "batch size", "Against the mini-batch")
            )
    st.caption(
        "The variance of one step's gradient estimate with respect to q's location, measured over "
        f"{vi.NOISE_REPEATS} repeats where the guide is best: there the mean gradient is zero and a step sees only "
        "noise. The estimate is unbiased at every setting; particles and mini-batches trade its noise against time."
    )
else:
    st.warning("The gradient's noise could not be measured: " + escape(noise.error))

panels.model_section(
    vi.fit_code(query, settings),
    vi.weighings,
    (query.guess, query.prior_sd, query.noise_sd, vi.measurements(query, settings)[:1], 0),
    (("measurement", query.measurement),),
)
notebook_button("vi", vi.fit_notebook, query, settings)
