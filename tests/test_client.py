import asyncio
import json

import httpx
import numpy as np
import pandas as pd
import pytest

from costtrend_nb import (
    AsyncCostTrendClient,
    CostTrendClient,
    Credentials,
    DemoModeWarning,
    RangeWidenedWarning,
)
from costtrend_nb import errors as E
from costtrend_nb.catalogue import metrics_for

from .fakeapi import DEPARTMENTS, NOW, FakeAPI, aggregate, rfc1123

SECRET = "fake-secret-never-shown"
CREDS = Credentials("AKIDfaketest0001", SECRET)
START, END = "2026-11-16", "2026-11-17 12:00"  # 36 hours, all before the fake's clock


class Sleeps(list):
    def __call__(self, seconds):
        self.append(seconds)


def make_client(fake, **kw):
    kw.setdefault("sleep", Sleeps())
    return CostTrendClient(CREDS, transport=fake.transport(), **kw)


def expected_frame(types, clients, start, end, tz="Asia/Shanghai"):
    """Built straight from the fake's formula: independent of paging, encoding and the parser."""
    hours = pd.date_range(
        pd.Timestamp(start, tz=tz), pd.Timestamp(end, tz=tz), freq="h", inclusive="left"
    )
    seconds = (hours.as_unit("s").asi8).tolist()
    rows = []
    for t in types:
        for c in clients:
            for m in metrics_for([t]):
                for ts, when in zip(seconds, hours, strict=True):
                    rows.append((when, t, c, m, aggregate([t], [c], ts).get(m, 0.0)))
    df = pd.DataFrame(rows, columns=["timestamp", "model_type", "client_id", "metric", "value"])
    metric_order = list(
        dict.fromkeys(
            k
            for k in (
                "total_amount",
                "total_calls",
                "model_count",
                "input_tokens",
                "output_tokens",
                "reasoning_tokens",
                "cached_tokens",
                "image_count",
                "video_duration",
                "embedding_output_tokens",
                "billing_tokens",
                "image_tokens",
                "input_text_tokens",
                "input_audio_tokens",
                "input_image_tokens",
                "input_video_tokens",
                "output_text_tokens",
                "output_audio_tokens",
                "characters",
                "asr_duration",
            )
            if k in set(df["metric"])
        )
    )
    units = {
        "total_amount": "CNY",
        "total_calls": "calls",
        "model_count": "models",
        "image_count": "images",
        "characters": "chars",
        "asr_duration": "s",
        "video_duration": "s",
    }
    unit = [units.get(m, "tokens") for m in df["metric"]]
    return pd.DataFrame(
        {
            "timestamp": df["timestamp"].astype(f"datetime64[ns, {tz}]"),
            "model_type": pd.Categorical(df["model_type"], categories=list(types)),
            "client_id": pd.array(df["client_id"], dtype="Int64"),
            "metric": pd.Categorical(df["metric"], categories=metric_order),
            "value": df["value"].astype(float),
            "unit": pd.Categorical(
                unit,
                categories=[
                    u
                    for u in ("CNY", "calls", "tokens", "images", "s", "chars", "models")
                    if u in unit
                ],
            ),
            "complete": np.ones(len(df), dtype=bool),
        }
    )


def test_split_fetch_returns_the_exact_frame_one_chain_per_series_concurrently():
    fake = FakeAPI(latency=0.02)
    types, clients = ["Chat", "TTS", "ImageGeneration"], [1, 7, 9]
    with make_client(fake, max_concurrency=4) as client:
        df = client.fetch(
            START,
            END,
            by=["model_type", "client_id"],
            model_types=types,
            client_ids=clients,
            max_results=10,
        )
    pd.testing.assert_frame_equal(
        df, expected_frame(types, clients, START, END), check_categorical=True, check_exact=True
    )
    trend = fake.trend_requests()
    series = {(q["modelTypes"], q["clientId"]) for q in trend}
    assert series == {(t, str(c)) for t in types for c in clients}
    # 36 hours, some idle, at 10 points a page: every chain pages, and none is asked twice
    first_pages = [q for q in trend if "nextToken" not in q]
    assert len(first_pages) == 9
    assert len(trend) > 9 and client.request_count == len(fake.requests)
    assert fake.max_in_flight == 4  # chains ran side by side, never more than max_concurrency


def test_unsplit_fetch_aggregates_and_records_provenance():
    fake = FakeAPI()
    with make_client(fake) as client:
        df = client.fetch(START, END, model_types=["Chat", "TTS"], client_ids=[1, 7])
    assert set(df["model_type"]) == {"all"} and df["client_id"].isna().all()
    hours = pd.date_range(
        pd.Timestamp(START, tz="Asia/Shanghai"),
        pd.Timestamp(END, tz="Asia/Shanghai"),
        freq="h",
        inclusive="left",
    )
    truth = sum(
        aggregate(["Chat", "TTS"], [1, 7], int(h.timestamp())).get("total_amount", 0) for h in hours
    )
    assert df[df.metric == "total_amount"]["value"].sum() == pytest.approx(truth, rel=1e-12)
    attrs = df.attrs
    assert (
        attrs["as_of"]
        == pd.Timestamp(NOW, unit="s", tz="UTC").tz_convert("Asia/Shanghai").isoformat()
    )
    assert attrs["request_count"] == len(fake.requests)
    assert attrs["request_ids"][0] == "req-2"  # req-1: the department list, to check the ids
    assert attrs["query"]["model_types"] == ["Chat", "TTS"] and attrs["missing_series"] == []
    assert SECRET not in json.dumps(attrs, default=str)
    assert fake.trend_requests()[0]["clientIds"] == "1,7"


def test_running_and_recent_buckets_are_incomplete():
    fake = FakeAPI()
    with make_client(fake) as client, pytest.warns(RangeWidenedWarning):
        df = client.fetch(
            NOW - 6 * 3600, NOW + 3 * 3600, model_types=["Chat"], client_ids=[7], tz="UTC"
        )
    stamps = sorted(set(df["timestamp"]))
    assert stamps[-1] == pd.Timestamp(NOW // 3600 * 3600, unit="s", tz="UTC")  # nothing after now
    incomplete = sorted(set(df.loc[~df["complete"], "timestamp"]))
    # the running hour, and the two before it, which ended less than settle=2h before as_of
    assert incomplete == stamps[-3:]


def test_split_by_department_without_ids_lists_departments_first():
    fake = FakeAPI()
    with make_client(fake) as client:
        df = client.fetch(START, END, by="client_id", model_types=["TTS"])
        departments = client.departments()
    assert sorted(set(df["client_id"].dropna())) == [d["id"] for d in DEPARTMENTS]
    assert fake.requests[0].url.path.endswith("/clients")
    assert departments["name"].tolist() == ["Head office", "Research", "客服中心"]
    assert str(departments["id"].dtype) == "Int64" and departments["level"].tolist() == [1, 2, 2]


BAD_INPUTS = [
    {"start": "2026-11-17", "end": "2026-11-16"},
    {"granularity": "minutely"},
    {"by": "team"},
    {"api_key_id": 3},
    {"max_results": 5000},
    {"tz": "Mars/Olympus"},
    {"client_ids": ["abc"]},
    {"on_error": "ignore"},
    {"start": 1795000000000},
]


@pytest.mark.parametrize("bad", BAD_INPUTS)
def test_bad_input_raises_before_any_request(bad):
    fake = FakeAPI()
    args = {"start": START, "end": END, **bad}
    with make_client(fake) as client, pytest.raises(E.QueryError):
        client.fetch(args.pop("start"), args.pop("end"), **args)
    assert fake.requests == [] and client.request_count == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"endpoint": "http://aicontent.aliyuncs.com"}, "plain http to a non-loopback host"),
        ({"endpoint": "ftp://example.com"}, "https:// URL"),
        ({"endpoint": "https://user:pw@example.com"}, "must not carry credentials"),
        ({"endpoint": "https://example.com/api?x=1"}, "scheme and host only"),
        ({"timeout": 0}, "timeout must be"),
        ({"max_concurrency": 0}, "max_concurrency must be"),
        ({"max_retries": -1}, "max_retries must be"),
        ({"deadline": float("nan")}, "deadline must be"),
    ],
)
def test_bad_client_settings(kwargs, message):
    with pytest.raises(E.QueryError, match=message):
        CostTrendClient(CREDS, **kwargs)


def test_http_allowed_to_loopback_or_when_asked():
    assert (
        str(CostTrendClient(CREDS, endpoint="http://127.0.0.1:9").endpoint) == "http://127.0.0.1:9/"
    )
    assert (
        CostTrendClient(CREDS, endpoint="http://example.com", allow_http=True).endpoint.scheme
        == "http"
    )
    assert (
        str(CostTrendClient(CREDS, endpoint="aicontent.aliyuncs.com").endpoint)
        == "https://aicontent.aliyuncs.com/"
    )


def test_no_credentials_anywhere_falls_back_to_the_demo_and_says_so():
    with pytest.warns(
        DemoModeWarning, match="No Alibaba Cloud credentials found.*ALIBABA_CLOUD_ACCESS_KEY_ID"
    ) as record:
        client = CostTrendClient()
    assert len(record) == 1 and record[0].filename == __file__
    assert client.is_demo and client.credentials.source == "demo"
    df = client.fetch("2026-11-16", "2026-11-17", model_types=["TTS"])
    assert df.attrs["source"] == "demo" and df.attrs["endpoint"] == "demo"


def test_demo_when_asked_needs_no_warning_and_ignores_configured_credentials(monkeypatch):
    import warnings

    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "AKIDsomeoneelse1")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "their-secret")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client = CostTrendClient.demo()
        async_client = AsyncCostTrendClient.demo()
    assert client.is_demo and async_client.is_demo
    assert "their-secret" not in repr(client)


# -- errors and retries --------------------------------------------------------------------------


def error_response(status, body, headers=None):
    return httpx.Response(status, json=body, headers=headers or {})


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (
            403,
            {
                "Code": "B.Permission.DeniedException",
                "Message": "鉴权失败或权限不足",
                "RequestId": "RID-403a",
            },
            E.AuthError,
        ),
        (
            403,
            {
                "Code": "B.Permission.OrgNoExistException",
                "Message": "组织不存在,请主账号开通权限后再试,或联系管理员",
                "RequestId": "RID-403b",
            },
            E.OrgNotFoundError,
        ),
        (
            200,
            {
                "success": False,
                "errCode": "B.Permission.DeniedException",
                "errMessage": "鉴权失败或权限不足",
                "httpStatusCode": 403,
                "requestId": "RID-200",
            },
            E.AuthError,
        ),
        (
            400,
            {"code": "InvalidParameter", "message": "granularity", "requestId": "RID-400"},
            E.BadRequestError,
        ),
    ],
)
def test_vendor_errors_stop_the_fetch_with_their_own_exception(status, body, cls):
    fake = FakeAPI(hook=lambda r, n: error_response(status, body))
    with make_client(fake) as client, pytest.raises(cls) as info:
        client.fetch(START, END, by="model_type", model_types=["Chat", "TTS"])
    err = info.value
    assert err.request_id == body.get("RequestId", body.get("requestId"))
    assert err.message == body.get("Message", body.get("message", body.get("errMessage")))
    assert len(fake.requests) <= 2  # not retried; the other chain may already have been sent


def test_server_error_500_maps_and_is_retried_until_it_passes():
    fake = FakeAPI(
        hook=lambda r, n: (
            error_response(
                500,
                {
                    "Code": "Server.Internal.UnknownError",
                    "Message": "未知错误",
                    "RequestId": f"R{n}",
                },
            )
            if n <= 2
            else None
        )
    )
    sleeps = Sleeps()
    with make_client(fake, sleep=sleeps, seed=1) as client:
        df = client.fetch(START, END, model_types=["Chat"])
    assert len(sleeps) == 2 and client.request_count == len(fake.requests)
    assert df[df.metric == "total_amount"]["value"].sum() > 0
    # each try is signed afresh
    nonces = [r.headers["x-acs-signature-nonce"] for r in fake.requests[:3]]
    assert len(set(nonces)) == 3


def test_429_waits_at_least_retry_after():
    def hook(request, n):
        if n <= 2:
            return error_response(
                429,
                {"Code": "Throttling.User", "RequestId": f"T{n}"},
                {"x-acs-retry-after": "1500"},
            )
        return None

    fake = FakeAPI(hook=hook)
    sleeps = Sleeps()
    with make_client(fake, sleep=sleeps, seed=3) as client:
        client.fetch(START, END, model_types=["Chat"])
    assert len(sleeps) == 2
    assert all(s >= 1.5 for s in sleeps)


@pytest.mark.parametrize(
    "fault",
    [
        lambda r: httpx.Response(
            200, content=b'{"requestId": "cut", "success": true, "data": {"poi'
        ),
        lambda r: httpx.Response(200, content=b""),
        lambda r: (_ for _ in ()).throw(httpx.ConnectError("refused", request=r)),
        lambda r: (_ for _ in ()).throw(httpx.ReadTimeout("slow", request=r)),
        lambda r: (_ for _ in ()).throw(
            httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body", request=r
            )
        ),
        lambda r: error_response(503, {"RequestId": "X"}),
    ],
    ids=["truncated", "empty", "connect", "timeout", "cut-connection", "503"],
)
def test_transient_faults_are_retried(fault):
    fake = FakeAPI(hook=lambda r, n: fault(r) if n == 1 else None)
    with make_client(fake) as client:
        df = client.fetch(START, END, model_types=["TTS"])
    assert client.request_count == len(fake.requests) >= 2
    assert df[df.metric == "total_amount"]["value"].sum() > 0


def test_retries_running_out_raise_one_error_listing_every_failed_series():
    def hook(request, n):
        if "modelTypes=TTS" in str(request.url) or "modelTypes=ASR" in str(request.url):
            return error_response(
                500,
                {
                    "Code": "Server.Internal.UnknownError",
                    "Message": "未知错误",
                    "RequestId": f"R{n}",
                },
            )
        return None

    fake = FakeAPI(hook=hook)
    with make_client(fake, max_retries=2) as client, pytest.raises(E.FetchError) as info:
        client.fetch(START, END, by="model_type", model_types=["Chat", "TTS", "ASR"])
    err = info.value
    assert sorted(err.failures) == ["model_type=ASR", "model_type=TTS"]
    assert all(isinstance(e, E.ServerError) for e in err.failures.values())
    assert "2 of 3 series" in str(err)
    tts_tries = [r for r in fake.requests if "modelTypes=TTS" in str(r.url)]
    assert len(tts_tries) == 3  # the first try and max_retries=2 more


def test_partial_keeps_what_arrived_and_names_what_is_missing():
    fake = FakeAPI(
        hook=lambda r, n: (
            error_response(500, {"RequestId": "R"}) if "modelTypes=TTS" in str(r.url) else None
        )
    )
    with (
        make_client(fake, max_retries=1) as client,
        pytest.warns(
            UserWarning, match=r"1 of 2 series could not be fetched.*model_type=TTS"
        ) as seen,
    ):
        df = client.fetch(
            START, END, by="model_type", model_types=["Chat", "TTS"], on_error="partial"
        )
    assert [w.filename for w in seen if "could not be fetched" in str(w.message)] == [__file__]
    assert set(df["model_type"]) == {"Chat"}
    assert df.attrs["missing_series"] == ["model_type=TTS"]


def test_a_looping_next_token_is_a_response_error():
    def hook(request, n):
        return httpx.Response(
            200,
            json={
                "requestId": f"L{n}",
                "success": True,
                "nextToken": "same",
                "data": {"points": []},
            },
        )

    fake = FakeAPI(hook=hook)
    with make_client(fake) as client, pytest.raises(E.FetchError) as info:
        client.fetch(START, END, model_types=["Chat"])
    (err,) = info.value.failures.values()
    assert isinstance(err, E.ResponseError) and "repeats" in str(err)
    assert len(fake.requests) == 2


def test_deadline_bounds_a_whole_fetch():
    now = [0.0]
    sleeps = Sleeps()

    def sleep(seconds):
        sleeps.append(seconds)
        now[0] += seconds

    fake = FakeAPI(
        hook=lambda r, n: error_response(429, {"RequestId": "T"}, {"x-acs-retry-after": "4000"})
    )
    with (
        make_client(
            fake, sleep=sleep, clock=lambda: now[0], deadline=10.0, max_retries=10
        ) as client,
        pytest.raises(E.FetchError) as info,
    ):
        client.fetch(START, END, model_types=["Chat"])
    (err,) = info.value.failures.values()
    assert isinstance(err, E.TimeoutError) and "deadline" in str(err)
    assert now[0] < 10.0


def test_sync_client_works_inside_a_running_event_loop():
    fake = FakeAPI()

    async def notebook_cell():
        with make_client(fake) as client:
            return client.fetch(START, END, model_types=["TTS"])

    df = asyncio.run(notebook_cell())
    assert len(df) > 0


# -- the async twin ------------------------------------------------------------------------------


def test_async_client_returns_the_same_frame():
    types, clients = ["Chat", "ASR"], [1, 9]

    async def run():
        fake = FakeAPI()
        async with AsyncCostTrendClient(
            CREDS, transport=fake.transport(), sleep=_async_noop
        ) as client:
            df = await client.fetch(
                START,
                END,
                by=["model_type", "client_id"],
                model_types=types,
                client_ids=clients,
                max_results=7,
            )
            deps = await client.departments()
        return df, deps, client.request_count, len(fake.requests)

    df, deps, count, sent = asyncio.run(run())
    pd.testing.assert_frame_equal(df, expected_frame(types, clients, START, END), check_exact=True)
    assert count == sent and len(deps) == 3


async def _async_noop(seconds):
    return None


def test_async_fatal_error_is_unwrapped_from_the_task_group():
    async def run():
        fake = FakeAPI(
            hook=lambda r, n: error_response(
                403, {"Code": "B.Permission.DeniedException", "RequestId": "A"}
            )
        )
        async with AsyncCostTrendClient(
            CREDS, transport=fake.transport(), sleep=_async_noop
        ) as client:
            await client.fetch(START, END, by="model_type", model_types=["Chat", "TTS"])

    with pytest.raises(E.AuthError):
        asyncio.run(run())


def test_async_retries_and_partial():
    async def run():
        fake = FakeAPI(
            hook=lambda r, n: (
                error_response(500, {"RequestId": "R"})
                if "modelTypes=TTS" in str(r.url) or n == 1
                else None
            )
        )
        async with AsyncCostTrendClient(
            CREDS, transport=fake.transport(), sleep=_async_noop, max_retries=2
        ) as client:
            return await client.fetch(
                START, END, by="model_type", model_types=["Chat", "TTS"], on_error="partial"
            )

    with pytest.warns(UserWarning, match="model_type=TTS"):
        df = asyncio.run(run())
    assert set(df["model_type"]) == {"Chat"}


def test_date_header_sets_as_of():
    fake = FakeAPI(now=NOW - 86400)
    with make_client(fake) as client, pytest.warns(RangeWidenedWarning):
        df = client.fetch(NOW - 3 * 86400, NOW, model_types=["TTS"], tz="UTC")
    assert df.attrs["as_of"] == pd.Timestamp(rfc1123(NOW - 86400)).tz_convert("UTC").isoformat()
    assert df["timestamp"].max() < pd.Timestamp(NOW - 86400, unit="s", tz="UTC")
