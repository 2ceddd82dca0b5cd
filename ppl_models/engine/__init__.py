"""The generic inference engine: runners that take any model, diagnostics, devices.

Nothing here knows a lecture: a runner takes the model as an argument (NumPyro's
``run_inference`` pattern), so one runner serves every page. Imports go one way:
lectures (``ppl_models``) -> ``engine`` -> ``engine.runtime``, never back.
"""
