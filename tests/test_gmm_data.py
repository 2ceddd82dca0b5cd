"""The mixture's data checks: CSV edge cases and the range the fit can handle."""

import numpy as np
import pytest

from ppl_models import gmm, gmm_data
from ppl_models.gmm import GmmPrior, GmmSettings
from ppl_models.gmm_data import DataError, SyntheticData

NUL = "The file holds NUL bytes, so it is not a text file; upload a CSV file of numbers."
TWO_CELLS = (
    "The CSV has 2 columns; upload one column of numbers. A decimal comma needs quotes, or semicolons between cells."
)


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"x\n0\n1\n10\n", (0.0, 1.0, 10.0)),
        (b"1\r\n2\r\n\r\n3\r\n", (1.0, 2.0, 3.0)),
        (b"1\r2\r3", (1.0, 2.0, 3.0)),
        (b"\n\nx\n1\n2", (1.0, 2.0)),
        (b"\xef\xbb\xbfx\n1\n2\n", (1.0, 2.0)),
        ("x\n1\n2\n".encode("utf-16"), (1.0, 2.0)),
        ("x\n1\n2\n".encode("utf-16-le"), (1.0, 2.0)),
        ("x\n1\n2\n".encode("utf-16-be"), (1.0, 2.0)),
        ("temp\xe9rature\n1\n2\n".encode("latin-1"), (1.0, 2.0)),
        (b'"1,5"\n"2,5"\n', (1.5, 2.5)),
        (b"1,5;\n2,5;\n", (1.5, 2.5)),
        (b"1,5\t\n-2,25\t\n", (1.5, -2.25)),
        (b'"1"\n" 2 "\n', (1.0, 2.0)),
        (b"1,\n2,\n", (1.0, 2.0)),
        (b"1e5\n-2\n", (100000.0, -2.0)),
    ],
)
def test_csv_files_that_parse(content, expected):
    assert gmm_data.parse_csv(content) == expected


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "The CSV file is empty."),
        (b" \n\n", "The CSV file is empty."),
        (b"x\n", "The CSV file holds no numbers."),
        (b"1,5\n2,5\n", TWO_CELLS),
        (b"1,000\n", TWO_CELLS),
        (b"1,5;2,5\n", "The CSV has 2 columns; upload one column of numbers."),
        (b"x\n1\n2;3\n", "The CSV has 2 columns (row 3); upload one column of numbers."),
        (
            b'x\n"1,000"\n',
            "Row 2 holds '1,000': a decimal comma or a thousands separator? "
            "Write it with a decimal point, or without the separator.",
        ),
        (b"x\n1\nhello\n", "Row 3 holds 'hello', which is not a number."),
        (b"1\n2\x00\n", NUL),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", NUL),
        (bytes(range(256)) * 4, NUL),
        (b"\xff\xfe\x00", "The file looks like UTF-16 text but cannot be read as such; save it as UTF-8 CSV."),
        (b'"1\n2\n3\n', "Line 3 cannot be read as CSV: a quote is left open or out of place."),
        (b'1\n"2"x\n', "Line 2 cannot be read as CSV: a quote is left open or out of place."),
        (
            b"1\n" + b"9" * 200_000 + b"\n",
            "Line 2 is 200,001 characters long, starting '99999999999999999999...'; each line should hold one number.",
        ),
        (
            b'"' + b"9" * 200_000,
            "Line 1 is 200,001 characters long, starting '\"9999999999999999999...'; each line should hold one number.",
        ),
        (
            b"1\n" + b"a" * 150 + b"\n",
            "Row 2 holds a cell of 150 characters, starting 'aaaaaaaaaaaaaaaaaaaa...'; "
            "each row should hold one number.",
        ),
        (b"1\n" * 100_001, "The file has more than 100,000 numbers; at most 100,000 can be fit."),
        (b"1\n" * 5_000_000, "The file is 10.0 MB; at most 8 MB (100,000 points) can be uploaded."),
    ],
)
def test_csv_files_that_are_refused_say_why(content, message):
    with pytest.raises(DataError) as refused:
        gmm_data.parse_csv(content)
    assert str(refused.value) == message


def test_random_bytes_never_raise_anything_but_a_data_error():
    rng = np.random.default_rng(0)
    for size in (1, 2, 3, 10, 1000, 100_000):
        for _ in range(20):
            content = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
            try:
                gmm_data.parse_csv(content)
            except DataError as error:
                assert len(str(error)) < 250


@pytest.mark.parametrize(
    "data, message",
    [
        (
            (0.0, 1e20),
            "The points span 0 to 1e+20; the fit can only work for data within about ±1e+06 of 0, because it "
            "computes in 32-bit floats and the locations' prior has a standard deviation of at most 100. "
            "Rescale the data (e.g. divide by 1e+18) or subtract a value near its middle.",
        ),
        ((1e308, 1.1e308), "The points span 1e+308 to 1.1e+308; the fit can only work for data within about ±1e+06"),
        ((-1e308, 1e308), "The points span -1e+308 to 1e+308; the fit can only work"),
        ((0.0, 1e300), "divide by 1e+298"),
        ((1e6, 1e6 + 1), "The points span 1000000 to 1000001; the fit can only work"),
        (
            (1e-300, 2e-300, 3e-300),
            "The points span 1e-300 to 3e-300; the fit needs a spread of at least 0.01, because each step moves a "
            "location by about one learning rate, and that goes no lower than 0.001. Rescale the data (e.g. "
            "multiply by 1e+300).",
        ),
        ((0.0, 5e-324), "The points span 0 to 4.94e-324; the fit needs a spread of at least 0.01"),
        (
            (1e5, 1e5 + 0.5),
            "The points span 100000 to 100000.5: they differ by less than 1e-05 of their size, too little for the "
            "32-bit floats the fit computes in to tell apart. Subtract a value near their middle (e.g. 100000).",
        ),
    ],
)
def test_data_beyond_the_fits_range_is_refused_before_it_runs(data, message):
    with pytest.raises(DataError) as refused:
        gmm.fit_map(data, GmmPrior(), GmmSettings(k=2))
    assert message in str(refused.value)
    assert "Error" not in str(refused.value) and "tensor" not in str(refused.value)


def _relative_error(fit, truth_locs, spread):
    return np.abs(fit.locs - np.asarray(truth_locs)).max() / spread


@pytest.mark.parametrize("side", [-1, 1])
def test_two_clusters_a_million_from_zero_are_found_with_the_widest_prior(side):
    """The stated magnitude limit holds: with the farthest point at ±1e6 the fit finds both clusters."""
    data = SyntheticData(locs=(0.0, 10.0), scale=1.0, n=1000, seed=0).draw()
    offset = 1e6 - data.max() if side > 0 else -1e6 - data.min()
    data = data + offset
    assert np.abs(data).max() == pytest.approx(1e6, abs=1e-6)
    gmm_data.check_data(data, 2)
    fit = gmm.fit_map(tuple(data), GmmPrior(locs_sd=100.0), GmmSettings())
    assert _relative_error(fit, (offset, offset + 10.0), 10.0) < 0.05
    assert fit.scale == pytest.approx(1.0, rel=0.05)


def test_a_spread_of_a_hundredth_is_fit_at_the_smallest_learning_rate():
    """The stated spread limit holds: the lecture's data shrunk to a spread just over 0.01 is fit."""
    shrink = 0.0101 / 12
    data = tuple(v * shrink for v in gmm.LECTURE_DATA)
    fit = gmm.fit_map(data, GmmPrior(scale_sd=10.0), GmmSettings(lr=0.001, steps=gmm.MAX_STEPS))
    np.testing.assert_allclose(fit.locs / shrink, [0.50, 10.98], atol=0.05 * 12)
    np.testing.assert_allclose(fit.weights, [0.375, 0.625], atol=0.05)
