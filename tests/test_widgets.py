"""Dashboards driven by setting .value, as a user would, without a kernel."""

import datetime as dt

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from costtrend_nb import CostTrendClient, ServerError
from costtrend_nb.widgets import (
    Dashboard,
    DataSource,
    ForecastOverlay,
    ModelTypeBreakdown,
    PeriodComparison,
)


@pytest.fixture
def client():
    return CostTrendClient.demo()


class Counting:
    """A loader with fetch's signature that counts its calls."""

    def __init__(self, client):
        self.client, self.calls = client, []

    def __call__(self, start, end, **kwargs):
        self.calls.append((start, end, kwargs))
        return self.client.fetch(start, end, **kwargs)


def test_each_control_redraws_once_and_only_data_controls_fetch(client, capsys):
    loader = Counting(client)
    board = PeriodComparison(
        loader, start="2026-09-01", end="2026-11-21", names=client.departments()
    )
    assert board.render_count == 1 and len(loader.calls) == 1
    sent = client.request_count
    for control, value in [
        (board.metric, "total_calls"),
        (board.period, "week"),
        (board.align, "weekday"),
        (board.metric, "total_amount"),
    ]:
        before = board.render_count
        control.value = value
        assert board.render_count == before + 1
    assert (
        client.request_count == sent and len(loader.calls) == 1
    )  # metric and period never refetch
    board.model_types.value = ("Chat", "TTS")
    assert board.render_count == 6 and len(loader.calls) == 2
    assert loader.calls[-1][2]["model_types"] == ["Chat", "TTS"] and loader.calls[-1][2]["by"] == [
        "model_type"
    ]
    assert set(board.last_frame["model_type"]) == {"Chat", "TTS"}
    board.departments.value = (10005,)
    assert loader.calls[-1][2]["client_ids"] == [10005]
    board.granularity.value = "hourly"
    assert loader.calls[-1][2]["granularity"] == "hourly" and board.render_count == 8
    board.start.value = dt.date(2026, 10, 1)
    assert loader.calls[-1][0] == dt.date(2026, 10, 1) and board.render_count == 9
    assert plt.get_fignums() == []  # every drawn figure was closed after display
    assert board.last_figure is not None and len(board.last_figure.axes) == 2


def test_department_names_come_from_the_client(client):
    board = PeriodComparison(client.fetch, start="2026-10-01", end="2026-11-21")
    labels = [label for label, _ in board.departments.options]
    assert "Customer Service" in labels and len(labels) == 8


def test_a_fetch_error_is_shown_not_raised(client):
    def failing(*args, **kwargs):
        raise ServerError("Server.Internal.UnknownError", "未知错误", request_id="R-1")

    board = ModelTypeBreakdown(failing)
    assert board.render_count == 0 and "Server.Internal.UnknownError" in board.error
    assert "R-1" in board.status.value and "color:#B00020" in board.status.value
    board.start.value, board.end.value = dt.date(2026, 11, 10), dt.date(2026, 11, 1)
    assert "start date before the end date" in board.error


def test_a_frame_instead_of_a_loader(client):
    frame = client.fetch("2026-10-01", "2026-11-21", by="model_type")
    board = ModelTypeBreakdown(frame)
    assert board.granularity.value == "daily" and board.render_count == 1
    assert board.last_frame["timestamp"].dt.hour.eq(0).all()  # hours summed into days
    board.granularity.value = "hourly"
    assert board.last_frame["timestamp"].dt.hour.nunique() == 24
    board.model_types.value = ("Chat",)
    assert set(board.last_frame["model_type"]) == {"Chat"}
    board.top.value = 4
    assert board.render_count == 4
    daily = client.fetch("2026-10-01", "2026-11-21", granularity="daily")
    assert [v for _, v in ForecastOverlay(daily).granularity.options] == ["daily"]


def test_a_successful_redraw_clears_the_error_of_a_failed_one(client, monkeypatch):
    frame = client.fetch("2026-10-01", "2026-11-21", granularity="daily", by="model_type")
    board = ModelTypeBreakdown(frame)
    draw = board._draw_figure

    def failing(*args, **kwargs):
        raise ValueError("no room for this selection")

    monkeypatch.setattr(board, "_draw_figure", failing)
    board.top.value = 5
    assert "no room" in board.error and board.image.layout.display == "none"
    assert "costtrend-error" in board.status._dom_classes
    monkeypatch.setattr(board, "_draw_figure", draw)
    board.top.value = 6
    assert board.error is None and "B00020" not in board.status.value
    assert board.image.layout.display is None


def test_forecast_board_horizon_and_budget(client):
    board = ForecastOverlay(client.fetch, start="2026-06-01", end="2026-11-21", budget=75_000)
    sent = client.request_count
    board.horizon.value = 21
    board.budget.value = "80000"
    assert board.render_count == 3 and client.request_count == sent
    month = board.last_figure.axes[1]
    assert [t.get_text()[:14] for t in month.texts if "Budget" in t.get_text()] == [
        "Budget ¥80,000"
    ]  # one label, on the line: the old one is gone
    assert month.get_ylim()[1] >= 80_000 * 1.1  # headroom above the line


def test_fewer_bars_repaint_in_the_kept_layout_and_a_new_metric_lays_out_afresh(client):
    frame = client.fetch("2026-08-23", "2026-11-21", granularity="daily", by="model_type")
    board = ModelTypeBreakdown(frame)
    painter = board._painter
    painted = painter.full_paints
    for top in (7, 6, 5):  # the same charts with fewer bars: both panels fit where they were
        board.top.value = top
    assert painter.full_paints == painted and board.render_count == 4
    board.metric.value = "total_calls"  # other charts: a new layout, not tried in the old one
    assert painter.full_paints == painted + 1


def budget_texts(ax):
    """Every text of ``ax`` (legend included) that speaks of a budget."""
    legend = ax.get_legend().get_texts() if ax.get_legend() is not None else []
    return [t.get_text() for t in [*ax.texts, *legend] if "Budget" in t.get_text()]


def test_a_new_budget_repaints_one_panel_in_the_kept_layout(client):
    frame = client.fetch("2026-08-23", "2026-11-21", granularity="daily")
    board = ForecastOverlay(frame, budget=80_000)
    painted = board._painter.full_paints
    for budget in ("90000", "70000", "", "60000", "150000"):  # wider labels, none, a higher top
        board.budget.value = budget
        assert board.error is None, budget
    assert board._painter.full_paints == painted  # the legend never changes with the budget
    assert budget_texts(board.last_figure.axes[1]) == ["Budget ¥150,000: P(over) 0%"]


def test_the_budget_starts_empty_and_bad_text_is_shown(client):
    frame = client.fetch("2026-09-01", "2026-11-21", granularity="daily")
    board = ForecastOverlay(frame)
    assert board.budget.value == "" and board.budget_value is None
    assert budget_texts(board.last_figure.axes[1]) == []
    board.budget.value = "¥90,000"
    assert board.budget_value == 90_000 and board.error is None
    board.budget.value = "lots"
    assert "amount in yuan" in board.error
    board.budget.value = ""
    assert board.error is None
    # the image was kept; the figure is brought up to date
    assert budget_texts(board.last_figure.axes[1]) == []


def test_dashboard_tabs_share_one_filter_bar_and_one_fetch(client):
    loader = Counting(client)
    board = Dashboard(loader, start="2026-09-01", end="2026-11-21", budget=70_000)
    assert [b.render_count for b in board.boards] == [1, 0, 0]  # hidden tabs: drawn when shown
    assert board.breakdown.image.layout.display == "none"  # no empty image meanwhile
    assert board.source.requests == 1  # split by model type: serves every tab
    assert board.tabs.titles == ("Periods", "Breakdown", "Forecast")  # whole in a tab
    assert all(b.filters is board.filters for b in board.boards)
    assert all(board.filters.widget not in b.controls.children for b in board.boards)
    board.breakdown.metric.value = "total_calls"
    assert board.source.requests == 1
    board.model_types.value = ("Chat", "TTS")
    board.start.value = dt.date(2026, 10, 1)
    assert len(loader.calls) == 3 and [b.render_count for b in board.boards] == [3, 1, 0]
    for index in (1, 2):
        board.tabs.selected_index = index
        assert set(board.boards[index].last_frame["model_type"]) == {"Chat", "TTS"}
        texts = " ".join(ax.get_title() for ax in board.boards[index].last_figure.axes)
        assert "Chat, TTS" in texts
    assert [b.render_count for b in board.boards] == [3, 2, 1] and len(loader.calls) == 3
    board.tabs.selected_index = 0  # drawn already: not drawn again
    assert board.period_comparison.render_count == 3


def test_dashboard_in_chinese_labels_its_controls(client):
    frame = client.fetch("2026-10-01", "2026-11-21", granularity="daily", by="model_type")
    board = Dashboard(frame, lang="zh")
    assert board.tabs.titles == ("周期对比", "构成", "预测")
    assert board.start.description == "开始日期"
    assert board.forecast.budget.description == "预算（元）"
    assert board.filters.model_types_picker.summary.value == "<b>模型类型</b>: 全部"
    assert board.period_comparison.metric.options[0][0] == "消费金额"


def test_multi_selects_say_what_they_hold_and_all_means_no_filter(client):
    loader = Counting(client)
    board = PeriodComparison(loader, start="2026-10-01", end="2026-11-21")
    picker = board.filters.model_types_picker
    assert picker.summary.value == "<b>Model types</b>: All"
    board.model_types.value = ("Chat", "TTS")
    assert picker.summary.value == "<b>Model types</b>: 2 of 13: Chat, TTS"
    assert loader.calls[-1][2]["model_types"] == ["Chat", "TTS"]
    picker.all_button.click()
    assert picker.summary.value == "<b>Model types</b>: All"
    assert len(board.model_types.value) == 13 and len(loader.calls) == 2  # all = the first fetch
    picker.clear_button.click()
    assert board.model_types.value == () and len(loader.calls) == 2
    for control in board.filters.controls + board.view_controls:  # labels are never cut
        if control.description and hasattr(control.style, "description_width"):
            assert control.style.description_width == "initial", control.description


def test_data_source_validates_its_input():
    with pytest.raises(TypeError, match="tidy DataFrame or a loader"):
        DataSource(42)
    assert DataSource(lambda *a, **k: pd.DataFrame()).granularities() == ["hourly", "daily"]


def test_a_frame_filtered_in_the_dashboard_is_titled_with_its_filter(client):
    """The filter is applied to a given frame in memory: the figures must still name it."""
    frame = client.fetch("2026-10-01", "2026-11-21", granularity="daily", by="model_type")
    board = PeriodComparison(frame)
    board.model_types.value = ("Chat", "TTS")
    texts = " ".join(t.get_text() for ax in board.last_figure.axes for t in ax.texts)
    texts += " ".join(ax.get_title() for ax in board.last_figure.axes)
    assert "Chat, TTS" in texts and "All model types" not in texts
    assert frame.attrs["query"].get("model_types") in (None, [])  # the caller's frame is untouched
