"""The emulator: as strict as the service where it matters, deterministic everywhere."""

import datetime as dt
import itertools
import json
import subprocess
import sys
import threading

import httpx
import numpy as np
import pandas as pd
import pytest

from costtrend_nb import CostTrendClient, Credentials, TrendQuery, wide
from costtrend_nb import errors as E
from costtrend_nb.auth import AcsV3Auth
from costtrend_nb.emulator import (
    DEMO_ACCESS_KEY_ID,
    DEMO_ACCESS_KEY_SECRET,
    DEMO_NOW,
    Emulator,
    EmulatorServer,
    EmulatorTransport,
    demo_organisation,
    truth,
)
from costtrend_nb.emulator.synth import DATA_START, LAUNCH, OUTAGE_DAY, PRICE_CUT, _prices_at
from costtrend_nb.query import MODEL_TYPES

DEMO = Credentials(DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET)
TREND = "https://aicontent.aliyuncs.com/api/v1/modelRouter/open/billing/cost/trend"
CLIENTS = "https://aicontent.aliyuncs.com/api/v1/modelRouter/open/clients"
WALL = dt.datetime(2026, 11, 28, 3, 0, tzinfo=dt.UTC)
DAY_START = 1795104000  # 2026-11-20 00:00 +08:00
_nonces = itertools.count()


def get(emu, url, params, *, creds=DEMO, when=WALL, nonce=None, action=None):
    auth = AcsV3Auth(
        creds,
        action=action
        or ("ModelRouterQueryClientList" if url == CLIENTS else "ModelRouterQueryCostTrendMetrics"),
        clock=lambda: when,
        nonce=(lambda: nonce) if nonce else (lambda: f"n{next(_nonces):031d}"),
    )
    with httpx.Client(transport=EmulatorTransport(emu), auth=auth) as client:
        return client.get(url, params=params)


def emulator(**kw):
    kw.setdefault("clock", lambda: WALL.timestamp())
    return Emulator(**kw)


HOURS = {"startTime": DAY_START - 86400, "endTime": DAY_START, "maxResults": 1000}


# -- signatures -----------------------------------------------------------------------------


def test_a_good_signature_passes():
    r = get(emulator(), TREND, HOURS)
    assert r.status_code == 200 and r.json()["success"] is True


def denied(r, reason):
    assert r.status_code == 403, r.text
    body = r.json()
    assert body["Code"] == "B.Permission.DeniedException"
    assert reason in body["Message"]
    with pytest.raises(E.AuthError):
        from costtrend_nb.protocol import read_page

        read_page(r)


def test_tampered_signature_is_refused():
    emu = emulator()
    auth = AcsV3Auth(DEMO, action="ModelRouterQueryCostTrendMetrics", clock=lambda: WALL)
    request = next(auth.auth_flow(httpx.Request("GET", TREND, params=HOURS)))
    tampered = httpx.Request(
        "GET", TREND, params={**HOURS, "endTime": DAY_START + 86400}, headers=request.headers
    )
    with httpx.Client(transport=EmulatorTransport(emu)) as client:
        denied(client.send(tampered), "signature does not match")
        forged = request.headers["authorization"][:-4] + "0000"
        denied(
            client.send(
                httpx.Request(
                    "GET", TREND, params=HOURS, headers={**request.headers, "authorization": forged}
                )
            ),
            "does not match",
        )


def test_old_and_future_dates_are_refused():
    denied(get(emulator(), TREND, HOURS, when=WALL - dt.timedelta(minutes=16)), "15 minutes")
    denied(get(emulator(), TREND, HOURS, when=WALL + dt.timedelta(minutes=16)), "15 minutes")
    assert get(emulator(), TREND, HOURS, when=WALL - dt.timedelta(minutes=14)).status_code == 200


def test_replayed_nonce_is_refused():
    emu = emulator()
    assert get(emu, TREND, HOURS, nonce="same-nonce").status_code == 200
    denied(get(emu, TREND, HOURS, nonce="same-nonce"), "nonce was used before")


def test_unknown_key_and_unknown_token_are_refused():
    denied(
        get(
            emulator(), TREND, HOURS, creds=Credentials("AKIDnotthedemo01", DEMO_ACCESS_KEY_SECRET)
        ),
        "unknown access key",
    )
    denied(
        get(
            emulator(),
            TREND,
            HOURS,
            creds=Credentials(DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET, "sts-x"),
        ),
        "unknown security token",
    )
    sts = emulator(sts_tokens={"sts-x": DEMO_ACCESS_KEY_ID})
    assert (
        get(
            sts,
            TREND,
            HOURS,
            creds=Credentials(DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET, "sts-x"),
        ).status_code
        == 200
    )


def test_wrong_action_is_refused():
    r = get(emulator(), TREND, HOURS, action="ModelRouterQueryClientList")
    assert r.status_code == 400 and r.json()["Code"] == "InvalidAction"


# -- parameters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "code", "text"),
    [
        ({"endTime": DAY_START}, "MissingParameter", "startTime is required"),
        ({"startTime": DAY_START}, "MissingParameter", "endTime is required"),
        ({"startTime": "soon", "endTime": DAY_START}, "InvalidParameter", "must be an integer"),
        (
            {"startTime": DAY_START, "endTime": DAY_START},
            "InvalidParameter",
            "earlier than endTime",
        ),
        ({**HOURS, "granularity": "weekly"}, "InvalidParameter", "hourly or daily"),
        (
            {**HOURS, "clientId": 10001, "clientIds": "10001,10002"},
            "InvalidParameter",
            "mutually exclusive",
        ),
        ({**HOURS, "apiKeyId": 30001}, "InvalidParameter", "apiKeyId needs clientId"),
        ({**HOURS, "maxResults": 0}, "InvalidParameter", "between 1 and 1000"),
        ({**HOURS, "maxResults": 1001}, "InvalidParameter", "between 1 and 1000"),
        ({**HOURS, "modelTypes": "Chat,LLM"}, "InvalidParameter", "Unknown model type: LLM"),
        (
            {"startTime": DAY_START - 400 * 86400, "endTime": DAY_START},
            "InvalidParameter",
            "366 days",
        ),
        ({**HOURS, "nextToken": "bm90LWEtdG9rZW4"}, "InvalidParameter", "nextToken is invalid"),
    ],
)
def test_bad_parameters_get_400_in_the_vendors_shape(params, code, text):
    r = get(emulator(), TREND, params)
    assert r.status_code == 400
    body = r.json()
    assert body["success"] is False and body["httpStatusCode"] == 400
    assert body["errCode"] == code == body["code"]
    assert text in body["errMessage"]
    assert body["requestId"]


# -- buckets, paging and the clock ------------------------------------------------------------


def all_points(emu, params):
    points, token = [], None
    while True:
        body = get(emu, TREND, {**params, **({"nextToken": token} if token else {})}).json()
        points += body["data"]["points"]
        token = body.get("nextToken")
        if not token:
            return points, body


def test_hourly_buckets_on_the_hour_and_daily_at_midnight_utc8():
    hourly, _ = all_points(
        emulator(),
        {"startTime": DAY_START - 3 * 86400 + 1800, "endTime": DAY_START, "maxResults": 50},
    )
    stamps = [p["timestamp"] for p in hourly]
    assert all(t % 3600 == 0 for t in stamps)
    assert (
        stamps[0] == DAY_START - 3 * 86400
    )  # the bucket overlapping the start belongs to the range
    assert stamps[-1] == DAY_START - 3600
    daily, body = all_points(
        emulator(),
        {
            "startTime": DAY_START - 10 * 86400,
            "endTime": DAY_START,
            "granularity": "daily",
            "maxResults": 3,
        },
    )
    assert [(p["timestamp"] + 8 * 3600) % 86400 for p in daily] == [0] * 10
    assert body["data"]["granularity"] == "daily"


def test_values_are_encoded_twice_with_the_vendors_labels():
    _, body = all_points(emulator(), {**HOURS, "modelTypes": "Chat,TTS"})
    point = body["data"]["points"][0]
    assert isinstance(point["values"], str) and point["values"].startswith('"')
    values = json.loads(json.loads(point["values"]))
    assert set(values) == {
        "total_amount",
        "total_calls",
        "model_count",
        "input_tokens",
        "output_tokens",
        "reasoning_tokens",
        "cached_tokens",
        "characters",
    }
    labels = {m["key"]: (m["label"], m["unit"]) for m in body["data"]["metrics"]}
    assert labels["total_calls"] == ("调用次数", "次") and labels["total_amount"][1] == "元"
    once = emulator(encode_twice=False)
    _, body = all_points(once, {**HOURS, "modelTypes": "TTS"})
    assert json.loads(body["data"]["points"][0]["values"])["total_calls"] >= 0


def test_idle_buckets_are_left_out_but_the_frame_is_the_same():
    params = {
        "startTime": DAY_START - 3 * 86400,
        "endTime": DAY_START,
        "modelTypes": "VideoGeneration",
        "clientId": 10007,
        "maxResults": 1000,
    }
    sparse, _ = all_points(emulator(), params)
    dense, _ = all_points(emulator(omit_idle=False), params)
    assert len(dense) == 72 and 0 < len(sparse) < 72
    q = TrendQuery(
        DAY_START - 3 * 86400, DAY_START, model_types=["VideoGeneration"], client_ids=10007
    )
    frames = []
    for omit in (True, False):
        with CostTrendClient(
            demo=True, transport=EmulatorTransport(Emulator(omit_idle=omit))
        ) as client:
            frames.append(client.fetch_query(q))
    pd.testing.assert_frame_equal(frames[0], frames[1], check_exact=True)


def test_a_token_is_opaque_and_bound_to_its_query():
    emu = emulator()
    first = get(emu, TREND, {**HOURS, "maxResults": 5}).json()
    token = first["nextToken"]
    assert "5" not in token[:2] and len(token) > 10
    assert get(emu, TREND, {**HOURS, "maxResults": 5, "nextToken": token}).status_code == 200
    other = get(emu, TREND, {**HOURS, "maxResults": 5, "modelTypes": "Chat", "nextToken": token})
    assert other.status_code == 400 and "another query" in other.json()["errMessage"]
    forged = get(
        emu, TREND, {**HOURS, "nextToken": token[:-2] + ("AA" if token[-2:] != "AA" else "BB")}
    )
    assert forged.status_code == 400


def test_paging_returns_every_point_once():
    params = {"startTime": DAY_START - 5 * 86400, "endTime": DAY_START, "modelTypes": "Chat"}
    paged, _ = all_points(emulator(), {**params, "maxResults": 7})
    whole, _ = all_points(emulator(), {**params, "maxResults": 1000})
    assert paged == whole and len(whole) == 120


def test_frozen_clock_partial_bucket_and_nothing_after_now():
    points, _ = all_points(
        emulator(),
        {"startTime": DEMO_NOW - 4 * 3600, "endTime": DEMO_NOW + 5 * 86400, "maxResults": 100},
    )
    stamps = [p["timestamp"] for p in points]
    assert stamps[-1] == DEMO_NOW // 3600 * 3600  # the running hour is the last
    calls = [json.loads(json.loads(p["values"]))["total_calls"] for p in points]
    assert calls[-1] < 0.75 * calls[-2]  # 30 of its 60 minutes have passed
    r = get(emulator(), TREND, {"startTime": DEMO_NOW + 3600, "endTime": DEMO_NOW + 7200})
    assert r.json()["data"]["points"] == [] and "nextToken" not in r.json()
    assert get(emulator(), TREND, HOURS).headers["date"] == "Fri, 20 Nov 2026 06:30:00 GMT"
    earlier = emulator(now=DEMO_NOW - 86400)
    points, _ = all_points(
        earlier, {"startTime": DEMO_NOW - 3 * 86400, "endTime": DEMO_NOW, "maxResults": 1000}
    )
    assert max(p["timestamp"] for p in points) < DEMO_NOW - 86400


def test_the_day_holding_now_counts_only_the_hours_before_now():
    day = TrendQuery("2026-11-20", "2026-11-21", granularity="daily")
    hours = TrendQuery("2026-11-20", "2026-11-21")
    with CostTrendClient.demo() as client:
        daily, hourly = client.fetch_query(day), client.fetch_query(hours)
    cost = lambda df: df[df.metric == "total_amount"]["value"]  # noqa: E731
    assert len(cost(daily)) == 1 and cost(hourly).index.size == 15  # 00:00 .. 14:00
    assert cost(daily).sum() == pytest.approx(cost(hourly).sum(), rel=1e-12)
    typical = truth(TrendQuery("2026-11-19", "2026-11-20", granularity="daily"))
    assert cost(daily).sum() < 0.8 * typical[typical.metric == "total_amount"]["value"].sum()


def test_same_seed_and_requests_give_the_same_bytes():
    def run(seed):
        emu = emulator(seed=seed)
        replies = [
            get(emu, TREND, {**HOURS, "maxResults": 9, "modelTypes": t})
            for t in ("Chat", "TTS", "ASR")
        ]
        replies.append(get(emu, CLIENTS, {"maxResults": 3}))
        return [(r.status_code, r.headers.get("x-acs-request-id"), r.content) for r in replies]

    assert run(0) == run(0)
    assert run(0) != run(1)


def test_department_list_pages_and_filters():
    emu = emulator()
    first = get(emu, CLIENTS, {"maxResults": 5}).json()["data"]
    assert len(first["list"]) == 5 and first["total"] == 8 and first["maxResults"] == "5"
    rest = get(emu, CLIENTS, {"maxResults": 5, "nextToken": first["nextToken"]}).json()["data"]
    assert len(rest["list"]) == 3 and "nextToken" not in rest
    names = {d["name"] for d in first["list"] + rest["list"]}
    assert {"Headquarters", "Customer Service", "Creative Studio"} <= names
    under_rnd = get(emu, CLIENTS, {"parentId": 10002}).json()["data"]["list"]
    assert [d["name"] for d in under_rnd] == ["AI Platform", "Search"]
    assert get(emu, CLIENTS, {"keyword": "market"}).json()["data"]["list"][0]["id"] == 10006


# -- the demo organisation ------------------------------------------------------------------------


def test_demo_organisation_shape():
    org = demo_organisation()
    ids = {d.id for d in org.departments}
    assert len(org.departments) == 8
    assert all(d.parent_id in ids or d.parent_id == 0 for d in org.departments)
    assert max(d.level for d in org.departments) == 3
    assert len(org.members) >= 8 and all(m.client_id in ids for m in org.members)
    assert {k.client_id for k in org.keys} == ids and any(k.member_id is None for k in org.keys)
    assert set(org.blocks) == set(MODEL_TYPES)
    assert (DEMO_NOW - DATA_START) / 86400 >= 400


def daily_cost(**kw):
    with CostTrendClient.demo() as client:
        df = client.fetch(granularity="daily", **kw)
    return wide(df).set_index("timestamp")["total_amount"]


def test_demo_usage_has_cycles_growth_and_events():
    cost = daily_cost(start="2025-09-01", end="2026-11-20")
    weekday = cost[cost.index.day_of_week < 5]
    weekend = cost[cost.index.day_of_week >= 5]
    assert weekday.mean() > 1.5 * weekend.mean()
    assert cost["2026-10"].mean() > 2 * cost["2025-10"].mean()  # growth
    outage = pd.Timestamp(OUTAGE_DAY, unit="s", tz="UTC").tz_convert("Asia/Shanghai")
    assert cost[outage] < 0.05 * cost[outage - pd.Timedelta(days=7)]
    video = daily_cost(start="2026-06-08", end="2026-06-22", model_types=["VideoGeneration"])
    launch = pd.Timestamp(LAUNCH, unit="s", tz="UTC").tz_convert("Asia/Shanghai")
    assert video[launch] > 3 * video[launch - pd.Timedelta(days=7)]
    with CostTrendClient.demo() as client:
        hours = wide(client.fetch("2026-11-18", "2026-11-19", client_ids=10002))
    assert hours.loc[10:11, "total_calls"].mean() > 5 * hours.loc[2:4, "total_calls"].mean()


def test_demo_prices_cut_qwen_max_by_a_third():
    org = demo_organisation()
    model = next(m for m in org.models if m.name == "qwen-max")
    price_in, price_out = _prices_at(model, np.array([PRICE_CUT - 3600, PRICE_CUT]))
    assert price_in[1] == pytest.approx(price_in[0] * 2 / 3)
    assert price_out[1] == pytest.approx(price_out[0] * 2 / 3)
    assert price_in[0] == pytest.approx((0.9 * 2.4 + 0.1 * 9.6) * 1e-6)  # blended tiers


def test_costs_are_in_hundredths_of_a_fen():
    with CostTrendClient.demo() as client:
        df = client.fetch("2026-11-19", "2026-11-20", by="model_type")
    cost = df[df.metric == "total_amount"]["value"].to_numpy()
    assert np.allclose(cost * 10_000, np.round(cost * 10_000), atol=1e-6)


# -- truth -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {
            "by": ["model_type", "client_id"],
            "model_types": ["Chat", "TTS", "ImageGeneration"],
            "client_ids": [10005, 10007],
        },
        {"by": "client_id"},
        {"granularity": "daily", "by": "model_type"},
        {"client_ids": [10003], "member_user_ids": []},
        {"client_ids": [10003], "member_user_ids": [20005]},
        {"client_ids": [10001], "api_key_id": 30001},
        {"model_types": ["Chat", "Rerank"], "client_ids": [10002, 10004], "max_results": 17},
    ],
)
def test_fetch_equals_truth(kwargs):
    query = TrendQuery("2026-11-13", "2026-11-21", **kwargs)
    with CostTrendClient.demo() as client:
        df = client.fetch_query(query)
    pd.testing.assert_frame_equal(df, truth(query), check_exact=True)


def test_fetch_equals_truth_for_local_days_to_rounding():
    query = TrendQuery(
        "2026-10-20", "2026-11-21", granularity="daily", tz="Europe/London", by="model_type"
    )
    with CostTrendClient.demo() as client:
        df = client.fetch_query(query)
    expected = truth(query)
    pd.testing.assert_frame_equal(df, expected, rtol=1e-12, atol=1e-9)
    assert df["timestamp"].dt.hour.eq(0).all()
    assert df[df.metric == "model_count"]["value"].isna().all()


def test_members_and_department_add_up_to_the_whole_department():
    def total(**kw):
        q = TrendQuery("2026-11-10", "2026-11-20", granularity="daily", client_ids=[10005], **kw)
        return truth(q).query("metric == 'total_amount'")["value"].sum()

    members = [m.user_id for m in demo_organisation().members if m.client_id == 10005]
    alone = total(member_user_ids=[])
    parts = alone + sum(total(member_user_ids=[m]) - alone for m in members)
    assert parts == pytest.approx(total(), rel=1e-12)


def test_departments_add_up_to_the_organisation():
    q = TrendQuery("2026-11-01", "2026-11-20", granularity="daily", by="client_id")
    split = truth(q).query("metric == 'total_amount'")["value"].sum()
    whole = (
        truth(TrendQuery("2026-11-01", "2026-11-20", granularity="daily"))
        .query("metric == 'total_amount'")["value"]
        .sum()
    )
    assert split == pytest.approx(whole, rel=1e-12)


# -- the loopback server ----------------------------------------------------------------------------


def test_loopback_server_answers_many_requests_at_once():
    with EmulatorServer() as server:
        client = CostTrendClient(DEMO, endpoint=server.url, max_concurrency=16)
        df = client.fetch(
            "2026-11-10",
            "2026-11-20",
            by=["model_type", "client_id"],
            model_types=["Chat", "TTS"],
            max_results=50,
        )
        client.close()
        assert server.emulator.requests == client.request_count > 16
    q = TrendQuery(
        "2026-11-10",
        "2026-11-20",
        by=["model_type", "client_id"],
        model_types=["Chat", "TTS"],
        max_results=50,
    )
    pd.testing.assert_frame_equal(df, truth(q), check_exact=True)


def test_loopback_server_with_threads_and_keep_alive():
    errors = []
    with EmulatorServer() as server:

        def worker():
            try:
                with httpx.Client(auth=AcsV3Auth(DEMO, action="ModelRouterQueryClientList")) as c:
                    for _ in range(10):
                        assert (
                            c.get(server.url + "/api/v1/modelRouter/open/clients").status_code
                            == 200
                        )
            except Exception as err:  # collected for the assertion below
                errors.append(err)

        threads = [threading.Thread(target=worker) for _ in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == [] and server.emulator.requests == 120


def test_loopback_server_refuses_other_addresses():
    with pytest.raises(ValueError, match="loopback only"):
        EmulatorServer(host="0.0.0.0")


def test_cli_emulator_serves_until_stopped():
    proc = subprocess.Popen(
        [sys.executable, "-m", "costtrend_nb.cli", "emulator", "--port", "0", "--latency-ms", "1"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stderr.readline()
        assert "serving on http://127.0.0.1:" in line and DEMO_ACCESS_KEY_SECRET not in line
        url = line.split("serving on ")[1].split(" ")[0]
        with CostTrendClient(DEMO, endpoint=url) as client:
            assert len(client.departments()) == 8
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_cli_emulator_bad_flags_exit_2():
    out = subprocess.run(
        [sys.executable, "-m", "costtrend_nb.cli", "emulator", "--error-rate", "2"],
        capture_output=True,
        text=True,
    )
    assert (
        out.returncode == 2
        and "--error-rate: must be a number of at least 0 and at most 1" in out.stderr
    )
