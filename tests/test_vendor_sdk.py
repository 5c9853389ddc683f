"""The vendor's own SDK, unchanged, against the emulator on a loopback port."""

import pandas as pd
import pytest

from costtrend_nb import TrendQuery
from costtrend_nb.emulator import DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET, EmulatorServer, truth

sdk = pytest.importorskip("alibabacloud_aicontent20240611.client")
from alibabacloud_aicontent20240611 import models  # noqa: E402
from alibabacloud_tea_openapi.utils_models import Config  # noqa: E402

START = 1794499200  # 2026-11-13 00:00 +08:00
END = 1795190400  # 2026-11-21 00:00 +08:00


@pytest.fixture(scope="module")
def server():
    with EmulatorServer() as running:
        yield running


@pytest.fixture
def vendor(server):
    config = Config(
        access_key_id=DEMO_ACCESS_KEY_ID,
        access_key_secret=DEMO_ACCESS_KEY_SECRET,
        endpoint=server.endpoint,
        protocol="http",
    )
    return sdk.Client(config)


def test_vendor_sdk_pages_the_cost_trend_to_the_end(vendor, server):
    points, token, pages = [], None, 0
    while True:
        request = models.ModelRouterQueryCostTrendMetricsRequest(
            start_time=START,
            end_time=END,
            granularity="hourly",
            model_types="Chat,TTS",
            client_ids="10002,10005",
            max_results=37,
            next_token=token,
        )
        body = vendor.model_router_query_cost_trend_metrics(request).body
        assert body.success is True and body.request_id
        points += body.data.points
        pages += 1
        token = body.next_token
        if not token:
            break
    assert pages > 3
    import json

    got = {p.timestamp: json.loads(json.loads(p.values)) for p in points}
    expected = truth(TrendQuery(START, END, model_types=["Chat", "TTS"], client_ids=[10002, 10005]))
    cost = expected[expected.metric == "total_amount"]
    used = cost[cost["value"] != 0]
    assert len(got) == len(points) == len(used)  # every point once, idle hours left out
    for stamp, value in zip(used["timestamp"], used["value"], strict=True):
        assert got[int(stamp.timestamp())]["total_amount"] == value


def test_vendor_sdk_reads_the_department_list(vendor):
    request = models.ModelRouterQueryClientListRequest(max_results=3)
    names, token = [], None
    while True:
        request.next_token = token
        data = vendor.model_router_query_client_list(request).body.data
        names += [d.name for d in data.list]
        token = data.next_token
        if not token:
            break
    assert len(names) == 8 and names[0] == "Headquarters"


def test_vendor_sdk_sees_the_emulators_errors(server):
    from alibabacloud_tea_openapi.exceptions import ClientException

    wrong = sdk.Client(
        Config(
            access_key_id=DEMO_ACCESS_KEY_ID,
            access_key_secret="not-the-secret",
            endpoint=server.endpoint,
            protocol="http",
        )
    )
    with pytest.raises(ClientException) as info:
        wrong.model_router_query_cost_trend_metrics(
            models.ModelRouterQueryCostTrendMetricsRequest(start_time=START, end_time=END)
        )
    assert info.value.code == "B.Permission.DeniedException" and info.value.request_id != "None"
    right = sdk.Client(
        Config(
            access_key_id=DEMO_ACCESS_KEY_ID,
            access_key_secret=DEMO_ACCESS_KEY_SECRET,
            endpoint=server.endpoint,
            protocol="http",
        )
    )
    with pytest.raises(ClientException) as info:
        right.model_router_query_cost_trend_metrics(
            models.ModelRouterQueryCostTrendMetricsRequest(
                start_time=START, end_time=END, granularity="weekly"
            )
        )
    assert info.value.code == "InvalidParameter"


def test_vendor_sdk_daily_matches_truth(vendor):
    body = vendor.model_router_query_cost_trend_metrics(
        models.ModelRouterQueryCostTrendMetricsRequest(
            start_time=START, end_time=END, granularity="daily", max_results=100
        )
    ).body
    import json

    sdk_cost = pd.Series(
        {p.timestamp: json.loads(json.loads(p.values))["total_amount"] for p in body.data.points}
    )
    expected = truth(TrendQuery(START, END, granularity="daily")).query("metric == 'total_amount'")
    assert sdk_cost.tolist() == expected["value"].tolist()
