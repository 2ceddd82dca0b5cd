"""Shared page pieces that compute something: the samples download, the tables' column rule."""

import io

import numpy as np
import pandas as pd

from ui.numbers import decimal_text
from ui.panels import GLOSSARY, samples_csv, table_columns


def test_samples_csv_has_a_row_per_chain_and_draw():
    draws = {"weight": np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), "locs[0]": np.zeros((2, 3))}
    frame = pd.read_csv(io.BytesIO(samples_csv(draws)))
    assert list(frame.columns) == ["chain", "draw", "weight", "locs[0]"]
    assert list(frame["chain"]) == [1, 1, 1, 2, 2, 2]
    assert list(frame["draw"]) == [0, 1, 2, 0, 1, 2]
    np.testing.assert_array_equal(frame["weight"], [1, 2, 3, 4, 5, 6])


def test_every_fractional_column_gets_the_one_format_and_whole_numbers_stay_whole():
    frame = pd.DataFrame({"component": [1, 2], "weight": [0.375, 0.625], "ESS": [120, 98], "fit": ["a", "b"]})
    config = table_columns(frame)
    assert config["weight"]["type_config"]["format"] == "%.3f"
    assert "component" not in config and "fit" not in config
    # A glossary word keeps its tooltip, whether or not the rule formats it.
    assert config["ESS"]["help"] == GLOSSARY["ESS"] and "type_config" not in config["ESS"]
    mean = table_columns(pd.DataFrame({"mean": [0.5]}))["mean"]
    assert mean["help"] == GLOSSARY["mean"] and mean["type_config"]["format"] == "%.3f"


def test_numbers_in_text_cells_use_the_same_places():
    assert [decimal_text(x) for x in (0.5, 10.98453, -3.0)] == ["0.500", "10.985", "-3.000"]
