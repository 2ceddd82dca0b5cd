"""Pure computation for Pyro Model Explorer: models, exact answers, inference runners.

Nothing in this package imports Streamlit, so every piece can be tested, benchmarked
and reused outside the web app.
"""
