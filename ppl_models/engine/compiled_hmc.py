"""Pyro's HMC with each leapfrog step compiled into one TorchScript call.

Pyro's ``HMC`` integrates a trajectory in Python: every leapfrog step runs about twenty
tiny tensor operations one by one, and computes the potential's gradient through
autograd, and on the lecture's tiny scale model that overhead is nearly all of a run
(README, Performance, has the measured figures). Here one step (half kick, drift, potential and gradient, half kick)
is a single traced graph: the gradient is derived ahead of time with ``torch.func``
and ``make_fx``, so no autograd tape is built at run time. The result is the same
arithmetic in the same order, and so, as ``tests/test_compiled_hmc.py`` checks, the
same draws bit for bit as Pyro's own ``HMC``, in a fraction of the time. Once warmup
has settled the number of steps, the whole trajectory is traced as one call.

Everything else stays Pyro's: initialisation, the potential for the step-size search,
step-size and mass-matrix adaptation, the Metropolis correction, divergence counting
and the ``MCMC`` driver. Models the compiler cannot handle (no latent sites, several
mass-matrix blocks, an operation ``make_fx`` cannot trace) fall back to Pyro's own
integrator for the rest of the run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pyro
import pyro.distributions as dist
import torch
from pyro.distributions.util import scalar_like
from pyro.infer import HMC
from pyro.infer.mcmc.adaptation import _matvecmul
from pyro.ops.integrator import potential_grad, velocity_verlet
from pyro.util import optional, torch_isnan
from torch.fx.experimental.proxy_tensor import make_fx

log = logging.getLogger(__name__)

Tensors = dict[str, torch.Tensor]

# One per chain is the most a run needs (each chain settles on its own step size); the
# cap keeps a pathological run from tracing without end.
MAX_WHOLE_TRAJECTORIES = 8
# A traced trajectory holds its unrolled graph: about 0.65 MB a leapfrog step (100 steps
# took a worker 65 MB past its 200 MB budget). Longer trajectories, and traces past the
# total, run the one-step graph in a loop: the same arithmetic, a little slower.
MAX_UNROLLED_STEPS = 32
MAX_UNROLLED_STEPS_TOTAL = 64


class CompiledLeapfrog:
    """One velocity-Verlet step of ``potential_fn`` as a single traced graph.

    :param potential_fn: Pyro's potential energy, a function of a dict of unconstrained
        values; it must not depend on the values through Python control flow (the same
        condition as Pyro's own ``jit_compile``).
    :param site_names: the sites in the mass-matrix block's order.
    :param prototype: values of the right shapes and dtype to trace with.
    """

    def __init__(
        self, potential_fn: Callable[[Tensors], torch.Tensor], site_names: tuple[str, ...], prototype: Tensors
    ):
        self.names = site_names
        shapes = [prototype[name].shape for name in site_names]
        sizes = [prototype[name].numel() for name in site_names]
        count = len(site_names)

        def gradient_and_value(*values):
            as_dict = lambda vs: potential_fn(dict(zip(site_names, vs, strict=True)))  # noqa: E731
            gradients, value = torch.func.grad_and_value(as_dict)(values)
            return (*gradients, value)

        values = tuple(prototype[name].detach() for name in site_names)
        with pyro.validation_enabled(False):
            gradient_graph = make_fx(gradient_and_value)(*values)

        def step(half_step, step_size, inverse_mass, *state):
            # The same operations, in the same order, as pyro.ops.integrator's
            # _single_step_verlet with BlockMassMatrix.kinetic_grad: that is what makes
            # the draws identical, so keep it so.
            z, r, z_grads = state[:count], state[count : 2 * count], state[2 * count :]
            r = [r_i + half_step * (-g_i) for r_i, g_i in zip(r, z_grads, strict=True)]
            velocity = _matvecmul(inverse_mass, torch.cat([r_i.reshape(-1) for r_i in r]))
            z_next, start = [], 0
            for z_i, size, shape in zip(z, sizes, shapes, strict=True):
                z_next.append(z_i + step_size * velocity[start : start + size].reshape(shape))
                start += size
            *grads_next, potential = gradient_graph(*z_next)
            r = [r_i + half_step * (-g_i) for r_i, g_i in zip(r, grads_next, strict=True)]
            return (*z_next, *r, *grads_next, potential)

        self._step = step
        self._traced = None
        self._whole_trajectories: dict[int, Callable] = {}
        self._count = count

    def _unrolled(self, num_steps: int) -> Callable:
        step = self._step

        def steps(half_step, step_size, inverse_mass, *state):
            for _ in range(num_steps):
                *state, potential = step(half_step, step_size, inverse_mass, *state)
            return (*state, potential)

        return steps

    def _may_unroll(self, num_steps: int) -> bool:
        unrolled = sum(self._whole_trajectories)
        return (
            len(self._whole_trajectories) < MAX_WHOLE_TRAJECTORIES
            and num_steps <= MAX_UNROLLED_STEPS
            and unrolled + num_steps <= MAX_UNROLLED_STEPS_TOTAL
        )

    def trajectory(
        self,
        z: Tensors,
        r: Tensors,
        z_grads: Tensors,
        step_size: float,
        num_steps: int,
        inverse_mass,
        settled: bool = False,
    ):
        """``num_steps`` leapfrog steps from ``(z, r)``: ``(z, r, z_grads, potential)``.

        :param settled: whether adaptation has ended, so that every later trajectory has
            this ``num_steps``: the whole trajectory is then traced as one call. That
            saves a quarter of the integrator's time (each call of a traced graph costs
            about 25 us before its first operation) at the price of one longer trace,
            which only pays off over the hundreds of draws after warmup.
        """
        dtype = z[self.names[0]].dtype
        # Pyro multiplies by Python floats, which torch applies in the tensors' dtype.
        half_step = torch.tensor(0.5 * step_size, dtype=dtype)
        full_step = torch.tensor(step_size, dtype=dtype)
        state = tuple(d[name] for d in (z, r, z_grads) for name in self.names)
        constants = (half_step, full_step, inverse_mass)
        with torch.no_grad():
            whole = self._whole_trajectories.get(num_steps)
            if whole is None and settled and self._may_unroll(num_steps):
                whole = torch.jit.trace(self._unrolled(num_steps), (*constants, *state), check_trace=False)
                self._whole_trajectories[num_steps] = whole
            if whole is not None:
                *state, potential = whole(*constants, *state)
            else:
                if self._traced is None:
                    self._traced = torch.jit.trace(self._step, (*constants, *state), check_trace=False)
                for _ in range(num_steps):
                    *state, potential = self._traced(*constants, *state)
        parts = [state[i * self._count : (i + 1) * self._count] for i in range(3)]
        z_next, r_next, grads = (dict(zip(self.names, part, strict=True)) for part in parts)
        return z_next, r_next, grads, potential


class CompiledTrajectoryHMC(HMC):
    """Pyro's :class:`~pyro.infer.HMC`, integrating with :class:`CompiledLeapfrog`.

    Construct it with ``jit_compile=False``: the compiled step replaces Pyro's JIT, and
    Pyro's plain potential is what it compiles.

    :ivar compiled: whether trajectories ran compiled (False after a fallback).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._leapfrog: CompiledLeapfrog | None = None
        self.compiled = True

    def _trajectory(self, z: Tensors, r: Tensors, z_grads: Tensors):
        if self.compiled and self._leapfrog is None:
            self._leapfrog = self._compile(z)
            self.compiled = self._leapfrog is not None
        if not self.compiled:
            return velocity_verlet(
                z, r, self.potential_fn, self.mass_matrix_adapter.kinetic_grad, self.step_size, self.num_steps, z_grads
            )
        ((_, inverse_mass),) = self.mass_matrix_adapter.inverse_mass_matrix.items()
        settled = self._t >= self._warmup_steps
        return self._leapfrog.trajectory(z, r, z_grads, self.step_size, self.num_steps, inverse_mass, settled)

    def _compile(self, z: Tensors) -> CompiledLeapfrog | None:
        blocks = self.mass_matrix_adapter.inverse_mass_matrix
        if len(blocks) != 1:
            return None
        ((site_names, _),) = blocks.items()
        try:
            return CompiledLeapfrog(self.potential_fn, tuple(site_names), z)
        except Exception as error:  # noqa: BLE001 - any tracing failure means: run uncompiled
            log.info("Leapfrog not compiled (%s: %s); using Pyro's integrator", type(error).__name__, error)
            return None

    def sample(self, params: Tensors) -> Tensors:
        # Pyro 1.9.2's HMC.sample with one change: the trajectory comes from
        # self._trajectory instead of pyro.ops.integrator.velocity_verlet.
        z, potential_energy, z_grads = self._fetch_from_cache()
        if z is None:
            z = params
            z_grads, potential_energy = potential_grad(self.potential_fn, z)
            self._cache(z, potential_energy, z_grads)
        elif len(z) == 0:
            self._t += 1
            self._mean_accept_prob = 1.0
            if self._t > self._warmup_steps:
                self._accept_cnt += 1
            return params
        r, r_unscaled = self._sample_r(name=f"r_t={self._t}")
        energy_current = self._kinetic_energy(r_unscaled) + potential_energy

        # NaNs are expected while the step size adapts.
        with optional(pyro.validation_enabled(False), self._t < self._warmup_steps):
            z_new, r_new, z_grads_new, potential_energy_new = self._trajectory(z, r, z_grads)
            r_new_unscaled = self.mass_matrix_adapter.unscale(r_new)
            energy_proposal = self._kinetic_energy(r_new_unscaled) + potential_energy_new
        delta_energy = energy_proposal - energy_current
        if torch_isnan(delta_energy):
            delta_energy = scalar_like(delta_energy, float("inf"))
        if delta_energy > self._max_sliced_energy and self._t >= self._warmup_steps:
            self._divergences.append(self._t - self._warmup_steps)

        accept_prob = (-delta_energy).exp().clamp(max=1.0)
        rand = pyro.sample(
            f"rand_t={self._t}", dist.Uniform(scalar_like(accept_prob, 0.0), scalar_like(accept_prob, 1.0))
        )
        accepted = False
        if rand < accept_prob:
            accepted = True
            z = z_new
            z_grads = z_grads_new
            self._cache(z, potential_energy_new, z_grads)

        self._t += 1
        if self._t > self._warmup_steps:
            n = self._t - self._warmup_steps
            if accepted:
                self._accept_cnt += 1
        else:
            n = self._t
            self._adapter.step(self._t, z, accept_prob, z_grads)

        self._mean_accept_prob += (accept_prob.item() - self._mean_accept_prob) / n
        return z.copy()
