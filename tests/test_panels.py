"""Shared page pieces that compute something: the samples download."""

import io

import numpy as np
import pandas as pd

from ui.panels import samples_csv


def test_samples_csv_has_a_row_per_chain_and_draw():
    draws = {"weight": np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), "locs[0]": np.zeros((2, 3))}
    frame = pd.read_csv(io.BytesIO(samples_csv(draws)))
    assert list(frame.columns) == ["chain", "draw", "weight", "locs[0]"]
    assert list(frame["chain"]) == [1, 1, 1, 2, 2, 2]
    assert list(frame["draw"]) == [0, 1, 2, 0, 1, 2]
    np.testing.assert_array_equal(frame["weight"], [1, 2, 3, 4, 5, 6])
