"""The figures of a training run: mosaics put together right, grids sized to the data, PNGs of the right size."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("matplotlib")

from tinygrad_edu.training import plots  # noqa: E402
from tinygrad_edu.training.plots import prediction_indices, tile_mosaic  # noqa: E402


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) in pixels, from the PNG's IHDR chunk (bytes 16 to 24)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def red_pixels(path: Path) -> int:
    """How many pixels of the PNG are clearly red (the colour of a wrong prediction)."""
    from matplotlib.image import imread

    rgb = imread(path)[..., :3]
    return int(((rgb[..., 0] > 0.8) & (rgb[..., 1] < 0.3) & (rgb[..., 2] < 0.3)).sum())


def digits(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n)


@settings(max_examples=40, deadline=None)
@given(count=st.integers(1, 12), columns=st.integers(1, 5), gap=st.tuples(st.integers(0, 3), st.integers(0, 3)))
def test_each_tile_lands_in_its_cell(count, columns, gap):
    tiles = np.arange(count * 2 * 3, dtype=np.float32).reshape(count, 2, 3)
    mosaic = tile_mosaic(tiles, columns, gap=gap, fill=-1)
    rows = -(-count // columns)
    assert mosaic.shape == (rows * (2 + gap[0]), columns * (3 + gap[1]) - gap[1])
    for i in range(count):
        top, left = (i // columns) * (2 + gap[0]) + gap[0], (i % columns) * (3 + gap[1])
        np.testing.assert_array_equal(mosaic[top : top + 2, left : left + 3], tiles[i])
    assert (mosaic == -1).sum() == mosaic.size - tiles.size  # everything else is the fill


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 80), wrong=st.sets(st.integers(0, 79)), columns=st.integers(1, 10), rows=st.integers(1, 5))
def test_the_digit_grid_shows_what_fits_and_its_mistakes(n, wrong, columns, rows):
    labels = np.zeros(n, dtype=np.int64)
    predictions = labels.copy()
    predictions[[i for i in wrong if i < n]] = 1
    capacity = columns * rows
    shown = prediction_indices(labels, predictions, capacity, columns)
    assert len(shown) == len(set(shown)) == min(n, capacity)  # never an image twice
    assert all(0 <= i < n for i in shown)
    if n > capacity:
        first_rows = list(range(capacity - columns))
        assert shown[: len(first_rows)] == first_rows  # the first test images, in order
        missed = sorted(i for i in wrong if capacity - columns <= i < n)
        shown_wrong = [i for i in shown[len(first_rows):] if predictions[i] != labels[i]]
        assert shown_wrong == missed[:columns]  # the last row gives room to the mistakes not shown above


def test_the_digit_grid_is_as_wide_as_ten_digits_and_as_tall_as_its_rows(tmp_path):
    images, labels = digits(100)
    full = plots.plot_predictions(images, labels, labels, tmp_path / "full.png")
    one_row = plots.plot_predictions(images[:10], labels[:10], labels[:10], tmp_path / "row.png")
    (width, height), (row_width, row_height) = png_size(full), png_size(one_row)
    assert width == row_width and 10 * 28 * 3 < width < 10 * 28 * 5  # each digit 3-5 screen pixels a pixel
    assert 3.3 * row_height < height + 2.3 * plots.TITLE_INCHES * plots.DPI < 4.7 * row_height  # four rows vs one


@pytest.mark.parametrize("n", [1, 7, 39])
def test_a_test_set_smaller_than_the_grid_is_shown_whole(tmp_path, n):
    images, labels = digits(n)
    predictions = labels.copy()
    path = plots.plot_predictions(images, labels, predictions, tmp_path / "predictions.png")
    width, height = png_size(path)
    assert width >= min(n, 10) * 28 * 3 and height > 28 * 3  # every digit drawn at its size or more
    assert red_pixels(path) == 0  # no mistake, no red


def test_mistakes_are_framed_in_red(tmp_path):
    images, labels = digits(3)
    right = plots.plot_predictions(images, labels, labels, tmp_path / "right.png")
    one_wrong = plots.plot_predictions(images, labels, (labels + np.array([0, 1, 0])) % 10, tmp_path / "wrong.png")
    frame = 4 * 28 * 3 * 1.5  # a frame's four sides, about 3 screen pixels a digit pixel, at least 1.5 wide
    assert red_pixels(right) == 0 and red_pixels(one_wrong) > frame


def test_the_weight_grid_is_square_for_64_units_and_shows_each_unit_on_its_own_scale(tmp_path):
    from matplotlib.image import imread

    W1 = np.random.default_rng(0).normal(0, 1, (784, 128)).astype(np.float32)
    path = plots.plot_first_layer_weights(W1, tmp_path / "weights.png")
    width, height = png_size(path)
    assert 8 * 28 * 3 < width < 8 * 28 * 5 and 0.9 < width / (height - plots.TITLE_INCHES * plots.DPI) < 1.1
    W1[:, 1] *= 1e-4  # a unit with tiny weights is drawn as strongly as the others: the picture is the same
    tiny = plots.plot_first_layer_weights(W1, tmp_path / "tiny.png")
    np.testing.assert_allclose(imread(tiny), imread(path), atol=2 / 255)
    strong = np.ptp(imread(path)[..., :3], axis=2) > 0.5  # clearly red or clearly blue pixels
    assert strong.mean() > 0.02  # not a blank picture


def test_fewer_units_than_the_grid_and_a_unit_of_zeros(tmp_path):
    W1 = np.zeros((784, 3), dtype=np.float32)
    W1[:, 0] = 1.0
    path = plots.plot_first_layer_weights(W1, tmp_path / "weights.png")
    width, height = png_size(path)
    assert width >= 2 * 28 * 3 and height > 28 * 3


def test_curves_and_confusion_matrix_keep_their_sizes(tmp_path):
    history = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1.1 / e, "train_accuracy": 1 - 0.1 / e,
                "val_accuracy": 1 - 0.12 / e} for e in range(1, 4)]
    curves = plots.plot_training_curves(history, tmp_path / "curves.png")
    confusion = plots.plot_confusion_matrix(np.diag([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]),
                                            tmp_path / "confusion.png")
    assert png_size(curves) == (10 * plots.DPI, 4 * plots.DPI)
    assert png_size(confusion) == (round(6.5 * plots.DPI), round(5.5 * plots.DPI))


# --- the figures' child processes (training/figure_workers.py) --------------------------------------------------
def test_figure_workers_draw_in_children_and_report_each_failure(tmp_path):
    from tinygrad_edu.training.figure_workers import FigureJob, FigureWorkers

    confusion = np.diag([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
    history = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1.1 / e, "train_accuracy": 1 - 0.1 / e,
                "val_accuracy": 1 - 0.11 / e} for e in (1, 2, 3)]
    jobs = {
        "confusion": FigureJob("confusion_matrix", tmp_path / "confusion.png", {"confusion": confusion}),
        "curves": FigureJob("training_curves", tmp_path / "curves.png", values={"history": history}),
        "weights": FigureJob("first_layer_weights", tmp_path / "weights.png", {"W1": np.ones((784, 3))}),
        # images of 10 pixels cannot be 28x28 digits: this figure fails, in its child
        "predictions": FigureJob("predictions", tmp_path / "predictions.png",
                                 {"images": np.zeros((3, 10)), "labels": np.arange(3), "predictions": np.arange(3)}),
    }
    with FigureWorkers(count=2) as workers:
        children = list(workers._children)
        assert len(children) == 2 and all(child.poll() is None for child in children)
        errors = workers.draw(jobs, tmp_path)
    assert all(child.returncode is not None for child in children)  # ended with the block
    assert errors["confusion"] is None and errors["curves"] is None and errors["weights"] is None
    assert errors["predictions"].startswith("ValueError: ") and "reshape" in errors["predictions"]
    assert png_size(tmp_path / "confusion.png") == (round(6.5 * plots.DPI), round(5.5 * plots.DPI))
    assert png_size(tmp_path / "curves.png") == (10 * plots.DPI, 4 * plots.DPI)  # the same figures as in-process
    assert not (tmp_path / "predictions.png").exists()
    assert not list(tmp_path.glob(".figure-*"))  # the arrays sent to the children are removed


def test_the_figures_of_a_figure_worker_that_dies_are_drawn_in_the_calling_process(tmp_path, monkeypatch):
    from tinygrad_edu.training import figure_workers
    from tinygrad_edu.training.figure_workers import FigureJob, FigureWorkers

    drawn_here = []
    draw_here = figure_workers.draw_here
    monkeypatch.setattr(figure_workers, "draw_here", lambda job: drawn_here.append(job.path.name) or draw_here(job))
    jobs = {name: FigureJob("confusion_matrix", tmp_path / f"{name}.png", {"confusion": np.eye(10, dtype=int)})
            for name in ("a", "b", "c")}
    with FigureWorkers(count=2) as workers:
        workers._children[0].kill()  # a, c go to the first child, b to the second
        workers._children[0].wait()
        errors = workers.draw(jobs, tmp_path)
    assert errors == {"a": None, "b": None, "c": None}
    assert drawn_here == ["a.png", "c.png"]  # only the dead child's figures
    assert all(png_size(tmp_path / f"{name}.png") == (round(6.5 * plots.DPI), round(5.5 * plots.DPI)) for name in "abc")


def test_predictions_of_bytes_are_the_picture_of_their_floats(tmp_path):
    """train hands the test images over as stored (uint8): the same picture as the same images in [0, 1]."""
    from matplotlib.image import imread

    images = np.random.default_rng(0).integers(0, 256, (12, 784), dtype=np.uint8)
    labels, predictions = np.arange(12) % 10, (np.arange(12) + (np.arange(12) % 3 == 0)) % 10
    as_bytes = plots.plot_predictions(images, labels, predictions, tmp_path / "bytes.png")
    as_floats = plots.plot_predictions(images / np.float32(255), labels, predictions, tmp_path / "floats.png")
    np.testing.assert_array_equal(imread(as_bytes), imread(as_floats))
