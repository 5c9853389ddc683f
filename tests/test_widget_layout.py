"""Dashboards as a reader meets them (issue 14): the busy state around every change, fitted
forecasts kept between redraws, figures whose text never overlaps, and the browser tests'
contract (CSS classes, ``.busy``, ``.is_busy``)."""

from __future__ import annotations

import itertools

import pytest

from costtrend_nb import CostTrendClient, ServerError, lang
from costtrend_nb.analysis import ETSForecaster
from costtrend_nb.widgets import Dashboard, ForecastOverlay, ModelTypeBreakdown, PeriodComparison

from .layout import assert_no_text_overlap


@pytest.fixture(scope="module")
def frame():
    """90 days, daily, by model type: what a dashboard loads for the demo's default view."""
    return CostTrendClient.demo().fetch(
        "2026-08-23", "2026-11-21", granularity="daily", by="model_type"
    )


def _watch(board, monkeypatch, controls):
    """Record (is_busy, busy text, each control's disabled) when the drawing starts."""
    seen = []
    draw = board._draw_figure

    def spy(*args, **kwargs):
        seen.append((board.is_busy, board.busy.value, [c.disabled for c in controls]))
        return draw(*args, **kwargs)

    monkeypatch.setattr(board, "_draw_figure", spy)
    return seen


def test_a_view_change_is_busy_while_it_draws_and_idle_after(frame, monkeypatch):
    board = ModelTypeBreakdown(frame)
    seen = _watch(board, monkeypatch, board.view_controls)
    board.top.value = 5
    assert seen == [(True, "Updating…", [True, True, True])]
    assert not board.is_busy and board.busy.value == ""
    assert not any(c.disabled for c in board.view_controls)
    assert "costtrend-busy" in board.busy._dom_classes


def test_busy_clears_when_the_drawing_fails(frame, monkeypatch):
    board = PeriodComparison(frame)

    def failing(*args, **kwargs):
        assert board.is_busy and board.metric.disabled
        raise ValueError("nothing to draw")

    monkeypatch.setattr(board, "_draw_figure", failing)
    board.align.value = "weekday"
    assert "nothing to draw" in board.error
    assert not board.is_busy and board.busy.value == "" and not board.metric.disabled


def test_a_failing_fetch_is_busy_then_shows_its_error(frame):
    seen = []

    def loader(start, end, **kwargs):
        if seen:  # the first load succeeds, the next one fails
            seen.append((board.is_busy, board.busy.value, board.start.disabled))
            raise ServerError("Server.Internal.UnknownError", "down", request_id="R-9")
        seen.append(None)
        return frame

    board = PeriodComparison(loader, start="2026-08-23", end="2026-11-21")
    board.model_types.value = ("Chat",)
    assert seen[1:] == [(True, "Updating…", True)]
    assert "R-9" in board.error and not board.is_busy and board.busy.value == ""
    assert not board.start.disabled and not board.model_types.disabled


def test_the_dashboard_is_busy_while_it_loads(frame):
    seen = []

    def loader(start, end, **kwargs):
        if seen:
            seen.append((dash.is_busy, dash.busy.value, dash.forecast.horizon.disabled))
        else:
            seen.append(None)
        return frame

    dash = Dashboard(loader, start="2026-08-23", end="2026-11-21")
    dash.granularity.value = "hourly"
    assert seen[1:] == [(True, "Updating…", True)]
    assert not dash.is_busy and dash.busy.value == "" and not dash.forecast.horizon.disabled


class CountingFits:
    """Counts the ETS fits (the forecast's model fitting) while installed."""

    def __init__(self, monkeypatch):
        self.count = 0
        fit = ETSForecaster.fit

        def counted(engine, y):
            self.count += 1
            return fit(engine, y)

        monkeypatch.setattr(ETSForecaster, "fit", counted)


def test_a_budget_never_refits_and_a_horizon_refits_at_most_once(frame, monkeypatch):
    fits = CountingFits(monkeypatch)
    board = ForecastOverlay(frame, budget=80_000)
    assert fits.count > 0
    for budget in ("90000", "", "60000", "80000"):
        before = fits.count
        board.budget.value = budget
        assert fits.count == before, budget  # paths kept: only P(over) and the line change
        assert board.error is None
    for horizon in (21, 28, 14, 21):
        before = fits.count
        board.horizon.value = horizon
        assert fits.count - before <= 1, horizon  # the month view's fits are reused
    board.metric.value = "total_calls"
    before = fits.count
    board.metric.value = "total_amount"  # back: the forecast and the image are kept
    assert fits.count == before and board.render_count == 11


def snapshot(fig):
    """What a figure shows: per axes its texts, legend, limits and the data of its lines."""
    out = []
    for ax in fig.axes:
        legend = ax.get_legend()
        out.append(
            (
                ax.get_title(),
                sorted(t.get_text() for t in ax.texts),
                [t.get_text() for t in legend.get_texts()] if legend else None,
                tuple(round(v, 6) for v in ax.get_ylim()),
                [repr(line.get_xydata().round(6).tolist()) for line in ax.get_lines()],  # nan==nan
                len(ax.collections),
                len(ax.patches),
            )
        )
    return out


def test_a_reused_figure_draws_what_a_new_one_does(frame):
    """Panels redrawn in place (only the changed ones) show what a fresh board shows."""
    board = ForecastOverlay(frame)
    board.metric.value = "total_calls"
    board.horizon.value = 28
    board.metric.value = "total_amount"
    board.budget.value = "80000"
    fresh = ForecastOverlay(frame, budget=80_000)
    fresh.horizon.value = 28
    assert snapshot(board.last_figure) == snapshot(fresh.last_figure)
    periods = PeriodComparison(frame)
    periods.period.value = "week"
    periods.align.value = "weekday"
    periods.period.value = "month"
    again = PeriodComparison(frame)
    again.align.value = "weekday"
    assert snapshot(periods.last_figure) == snapshot(again.last_figure)


VIEWS = {
    PeriodComparison: {
        "metric": ["total_calls", "total_amount"],
        "period": ["day", "month"],
        "align": ["weekday", "calendar"],
    },
    ModelTypeBreakdown: {"period": ["week", "month"], "top": [3, 13]},
    ForecastOverlay: {"horizon": [7, 56], "budget": ["80000", "200000", ""]},
}


@pytest.mark.parametrize("kind", list(VIEWS), ids=lambda k: k.__name__)
def test_no_text_overlaps_in_any_view_of_a_dashboard(frame, kind):
    board = kind(frame)
    options = VIEWS[kind]
    for values in itertools.product(*options.values()):
        for name, value in zip(options, values, strict=True):
            getattr(board, name).value = value
        assert board.error is None, (values, board.error)
        assert_no_text_overlap(board.last_figure)


def test_the_figure_follows_the_notebook_width(frame):
    board = ModelTypeBreakdown(frame)
    layout = board.image.layout
    assert layout.width == "100%" and layout.height == "auto" and layout.max_width
    assert "costtrend-figure" in board.image._dom_classes
    assert bytes(board.image.value).startswith(b"\x89PNG")


def test_the_image_is_the_figure_in_256_colours_with_a_pure_white_face(frame):
    """A palette PNG: a third of the bytes of full colour, each pixel close to what was drawn,
    and the white face pure white (not the octree's faint grey on a white page)."""
    import io

    import numpy as np
    from PIL import Image

    board = ForecastOverlay(frame, budget=80_000)
    image = Image.open(io.BytesIO(bytes(board.image.value)))
    assert image.mode == "P"
    shown = np.asarray(image.convert("RGB")).astype(int)
    drawn = np.asarray(board.last_figure.canvas.buffer_rgba())[..., :3].astype(int)
    error = np.abs(shown - drawn).max(axis=-1)
    assert error.mean() < 0.5 and error.max() <= 16  # measured: 0.24 and 15
    white = (drawn == 255).all(axis=-1)
    assert white.mean() > 0.5 and (shown[white] == 255).all()
    full = io.BytesIO()
    Image.fromarray(drawn.astype(np.uint8)).save(full, format="png", compress_level=1)
    assert len(board.image.value) < 0.6 * len(full.getvalue())


@pytest.mark.skipif(lang.cjk_font() is None, reason="no CJK font installed")
def test_a_chinese_forecast_board_draws_every_glyph(frame):
    board = ForecastOverlay(frame, budget=80_000, lang="zh")
    board.budget.value = "90000"  # the budget line and its label, drawn by the board
    fig = board.last_figure
    assert any(text.get_text().startswith("预算 ¥90,000") for text in fig.axes[1].texts)
    assert lang.missing_glyphs(fig) == []


def test_the_figure_has_no_margin_to_overflow_its_box(frame):
    """100 % wide plus ipywidgets' 2 px margins overflowed the box and cut the right edge."""
    board = ModelTypeBreakdown(frame)
    assert board.image.layout.margin == "0"


def test_toggle_labels_sit_beside_their_buttons(frame):
    """Toggle buttons are a block: "Buckets" and "Align" sat above their buttons."""
    board = PeriodComparison(frame)
    for toggle in (board.granularity, board.align):
        layout = toggle.layout
        assert (layout.display, layout.flex_flow, layout.align_items) == ("flex", "row", "center")


def test_waterfall_labels_clear_their_bars_and_stay_inside(frame):
    """At Period=Week, upright labels sat on bars ("-¥50" on Chat) and crossed the top."""
    from matplotlib.patches import Rectangle

    board = PeriodComparison(frame)
    board.period.value = "week"
    fig = board.last_figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[1]
    labels = [
        text.get_window_extent(renderer)
        for text in ax.texts
        if text.get_text()[:2] in ("+¥", "-¥")  # the steps' values, not the subtitles
    ]
    assert len(labels) >= 5
    bars = [
        p.get_window_extent(renderer)
        for p in ax.patches
        if isinstance(p, Rectangle) and p.get_height()
    ]
    inside = ax.get_window_extent(renderer)
    for box in labels:
        assert inside.y0 <= box.y0 and box.y1 <= inside.y1, box.bounds
        for bar in bars:
            assert not box.overlaps(bar), (box.bounds, bar.bounds)


def test_a_forecast_axis_names_the_month_once(frame):
    """Ticks "Nov 15 Dec" with the offset "2026-Dec" said December twice."""
    board = ForecastOverlay(frame)
    fig = board.last_figure
    fig.canvas.draw()
    for ax in fig.axes:
        ticks = [label.get_text() for label in ax.get_xticklabels()]
        offset = ax.xaxis.get_offset_text().get_text()
        assert offset == "2026" and "Dec" in ticks, (ticks, offset)


def _shown_and_redrawn(board):
    """The image on show, and the figure drawn again whole (same layout) and encoded as the
    board encodes, as pixel arrays (equal when the pixels drawn were equal)."""
    import io

    import numpy as np
    from PIL import Image

    from costtrend_nb.style import drawing_context
    from costtrend_nb.widgets._paint import encode_png

    def pixels(png):
        return np.asarray(Image.open(io.BytesIO(bytes(png))).convert("RGB"))

    shown = pixels(board.image.value)
    fig = board.last_figure
    with drawing_context():  # as the board draws
        fig.canvas.draw()
    return shown, pixels(encode_png(fig.canvas))


def test_a_repainted_panel_shows_what_a_whole_drawing_does(frame):
    """Only the changed panel is painted over the kept pixels, with the layout kept."""
    board = PeriodComparison(frame)
    board.period.value = "week"  # both panels: laid out and drawn whole
    whole = board._painter.full_paints
    board.align.value = "weekday"  # the left panel only: painted over the kept pixels
    assert board._painter.full_paints == whole
    shown, whole = _shown_and_redrawn(board)
    assert (shown == whole).all()


def test_a_panel_that_outgrows_its_place_is_laid_out_again(frame):
    """A panel that would reach its neighbour (here a wider y-axis) gets a new layout."""
    board = PeriodComparison(frame)
    board.metric.value = "input_tokens"  # another right panel: a breakdown, not a waterfall
    assert board._painter.full_paints == 2
    shown, whole = _shown_and_redrawn(board)
    assert (shown == whole).all()
    assert_no_text_overlap(board.last_figure)
