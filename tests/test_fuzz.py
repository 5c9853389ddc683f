"""Fuzzing: random query arguments and random response bodies; only our own errors escape.

The default suite runs a few hundred examples of each property; ``make test-slow`` (``-m
slow``) runs at least 10,000. Examples are derandomised (the ``ci`` profile in conftest), so
a failure here is a failure on every run.
"""

import datetime as dt
import json
import warnings

import httpx
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costtrend_nb import CostTrendClient, Credentials, TrendQuery
from costtrend_nb import errors as E
from costtrend_nb.query import MODEL_TYPES
from costtrend_nb.tidy import COLUMNS as TIDY_COLUMNS

from .fakeapi import DEPARTMENTS, NOW, rfc1123

CREDS = Credentials("AKIDfuzzing00001", "fuzz-secret-never-shown")
HOUR0 = 1_794_758_400  # 2026-11-16 00:00 +08:00
DEFAULT, SLOW = 300, 10_000
COLUMNS = list(TIDY_COLUMNS)


def runs(n):
    return settings(
        max_examples=n, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )


# -- random query arguments -----------------------------------------------------------------

anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.lists(st.integers(min_value=-5, max_value=5), max_size=3),
)
times = st.one_of(
    anything,
    st.integers(min_value=1_420_070_400, max_value=1_800_000_000),  # 2015 .. 2027, Unix s
    st.integers(min_value=1_420_070_400_000, max_value=1_800_000_000_000),  # milliseconds
    st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2030, 1, 1)),
    st.datetimes(timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=8))])),
    st.sampled_from(
        ["2026-11-01", "2026-11-20T10:00", "2026-11-20 10:30+08:00", "2026-13-01", "", "now"]
    ),
    st.builds(pd.Timestamp, st.integers(min_value=0, max_value=2_000_000_000), unit=st.just("s")),
)
names = st.sampled_from([*MODEL_TYPES, "chat", "Nope", "", " Chat "])
wild = {
    "granularity": st.one_of(anything, st.sampled_from(["weekly", "HOURLY"])),
    "model_types": st.one_of(anything, names, st.lists(st.one_of(names, anything), max_size=4)),
    "client_ids": st.one_of(
        anything, st.lists(st.one_of(st.integers(-3, 10**12), st.text(max_size=4)), max_size=4)
    ),
    "api_key_id": anything,
    "member_user_ids": st.one_of(anything, st.lists(anything, max_size=3)),
    "by": st.one_of(anything, st.sampled_from(["day", ("model_type", "model_type")])),
    "tz": st.one_of(anything, st.sampled_from(["Asia/Kolkata", "Mars/Base", "utc"])),
    "max_results": st.one_of(anything, st.integers(min_value=-5, max_value=5000)),
    "settle": st.one_of(anything, st.sampled_from(["-1h", "soon", "1000D"])),
}
sane = {
    "granularity": st.sampled_from(["hourly", "daily"]),
    "model_types": st.one_of(
        st.none(), st.sampled_from(MODEL_TYPES), st.lists(st.sampled_from(MODEL_TYPES), max_size=3)
    ),
    "client_ids": st.one_of(
        st.none(), st.integers(1, 10**6), st.lists(st.integers(1, 10**6), max_size=3)
    ),
    "api_key_id": st.none(),
    "member_user_ids": st.one_of(st.none(), st.lists(st.integers(1, 10**9), max_size=3)),
    "by": st.sampled_from(
        [(), "model_type", "client_id", ("model_type", "client_id"), ["client_id"]]
    ),
    "tz": st.sampled_from(["Asia/Shanghai", "UTC", "Europe/London", "America/New_York"]),
    "max_results": st.integers(min_value=1, max_value=1000),
    "settle": st.sampled_from(["2h", "0s", "3D", pd.Timedelta("30min")]),
}
sane_times = st.integers(min_value=HOUR0 - 800 * 86400, max_value=HOUR0 + 10 * 86400)


@st.composite
def query_arguments(draw):
    """Mostly sane arguments with a wild one here and there, so that both valid and invalid
    queries are common (wholly random arguments are almost never a valid query)."""
    start = draw(sane_times)
    span = draw(st.integers(min_value=86400, max_value=60 * 86400))
    if draw(st.integers(0, 9)) == 0:
        span = draw(st.integers(min_value=-86400, max_value=86400))
    forms = [
        lambda t: t,
        lambda t: pd.Timestamp(t, unit="s", tz="UTC"),
        lambda t: pd.Timestamp(t, unit="s", tz="Asia/Shanghai").isoformat(),
        lambda t: pd.Timestamp(t, unit="s").strftime("%Y-%m-%d"),
        lambda t: dt.datetime.fromtimestamp(t, dt.UTC),
    ]
    form = draw(st.sampled_from(forms))
    args = {"start": form(start), "end": form(start + span)}
    for name in ("start", "end"):
        if draw(st.integers(0, 9)) == 0:
            args[name] = draw(times)
    for name in sane:
        choice = draw(st.integers(0, 9))
        if choice < 5:
            continue  # the default
        args[name] = draw(wild[name] if choice == 9 else sane[name])
    return args


class Recorder:
    """Answers every request with an empty last page (departments: the fake's two)."""

    def __init__(self):
        self.requests = 0

    def __call__(self, request):
        self.requests += 1
        headers = {"date": rfc1123(NOW), "x-acs-request-id": f"F{self.requests}"}
        if request.url.path.endswith("/clients"):
            data = {"list": DEPARTMENTS[:2]}
            return httpx.Response(200, json={"success": True, "data": data}, headers=headers)
        body = {"success": True, "data": {"points": [], "metrics": []}}
        return httpx.Response(200, json=body, headers=headers)


def check_query_arguments(n):
    recorder = Recorder()
    client = CostTrendClient(CREDS, transport=httpx.MockTransport(recorder), max_retries=0)

    @runs(n)
    @given(args=query_arguments())
    def check(args):
        start, end = args.pop("start"), args.pop("end")
        kwargs = args
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                query = TrendQuery(start, end, **kwargs)
            except E.QueryError:
                query = None
            before = recorder.requests
            try:
                df = client.fetch(start, end, **kwargs)
            except E.QueryError as err:
                if query is not None and "of this organisation" in str(err):
                    # ids checked against the department list: one request, no trend request
                    assert recorder.requests == before + 1
                    return
                assert query is None, f"TrendQuery accepted what fetch refused: {err}"
                assert recorder.requests == before  # refused before anything was sent
                return
            except E.CostTrendError:
                return
        assert query is not None, "fetch accepted what TrendQuery refused"
        assert list(df.columns) == COLUMNS

    try:
        check()
    finally:
        client.close()


def test_random_query_arguments_raise_only_query_errors():
    check_query_arguments(DEFAULT)


@pytest.mark.slow
def test_random_query_arguments_raise_only_query_errors_at_full_size():
    check_query_arguments(SLOW)


# -- random response bodies -------------------------------------------------------------------

json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=8),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
metric_keys = st.sampled_from(
    ["total_amount", "total_calls", "model_count", "input_tokens", "gpu_seconds", "", "汇总"]
)
metric_values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from(["1.5", "abc", "", "NaN", "1e999"]),
    st.none(),
    st.booleans(),
    json_values,
)


def encoded(values):
    """``values`` as the service may send it: an object, its text, or that text again."""
    return st.sampled_from([0, 1, 2, 3]).map(lambda times: _encode(values, times))


def _encode(values, times):
    out = values
    for _ in range(times):
        out = json.dumps(out, allow_nan=True)
    return out


points = st.lists(
    st.fixed_dictionaries(
        {
            "timestamp": st.one_of(
                st.integers(min_value=0, max_value=23).map(lambda h: HOUR0 + 3600 * h),
                st.integers(min_value=-(2**70), max_value=2**70),
                json_values,
            ),
            "values": st.one_of(
                st.dictionaries(metric_keys, metric_values, max_size=4).flatmap(encoded),
                json_values,
                st.text(max_size=20),
            ),
        }
    ),
    max_size=6,
)
pages = st.fixed_dictionaries(
    {
        "success": st.one_of(st.just(True), st.booleans(), st.none()),
        "data": st.one_of(
            st.fixed_dictionaries(
                {"points": points},
                optional={
                    "metrics": st.lists(
                        st.one_of(
                            st.fixed_dictionaries(
                                {"key": metric_keys},
                                optional={"unit": json_values, "label": json_values},
                            ),
                            json_values,
                        ),
                        max_size=3,
                    )
                },
            ),
            json_values,
        ),
    },
    optional={
        "requestId": json_values,
        "nextToken": st.one_of(st.sampled_from(["t1", "t2", ""]), json_values),
        "code": json_values,
        "message": json_values,
    },
)
responses = st.tuples(
    st.sampled_from([200, 200, 200, 200, 400, 403, 404, 429, 500, 503]),
    st.one_of(
        pages.map(lambda p: json.dumps(p, allow_nan=True).encode()),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.binary(max_size=64),
    ),
    st.dictionaries(
        st.sampled_from(["x-acs-retry-after", "date", "x-acs-request-id", "content-type"]),
        st.one_of(
            st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=12),
            st.sampled_from(
                [
                    "Fri, 31 Dec 9999 23:59:59 GMT",
                    "Thu, 01 Jan 1970 00:00:00 GMT",
                    "Wed, 18 Nov 2026 11:06:40 GMT",
                    "-1",
                    "1e308",
                ]
            ),
        ),
        max_size=2,
    ),
)


class Scripted:
    """Answers with the drawn responses in turn, then with an empty last page."""

    def __init__(self):
        self.script = []

    def __call__(self, request):
        if self.script:
            status, body, headers = self.script.pop(0)
            return httpx.Response(status, content=body, headers=headers)
        return httpx.Response(200, json={"success": True, "data": {"points": []}})


def check_response_bodies(n):
    scripted = Scripted()
    client = CostTrendClient(
        CREDS, transport=httpx.MockTransport(scripted), max_retries=1, sleep=lambda s: None
    )

    @runs(n)
    @given(script=st.lists(responses, min_size=1, max_size=4))
    def check(script):
        scripted.script = list(script)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                df = client.fetch("2026-11-16", "2026-11-17", model_types=["Chat"])
            except E.CostTrendError as err:
                assert str(err)  # says something
                assert CREDS.access_key_secret.reveal() not in str(err)
                return
        assert list(df.columns) == COLUMNS
        assert np.isfinite(df["value"].to_numpy()).all()  # no NaN or infinity slips through
        stamps = df["timestamp"].astype("int64") // 10**9
        assert stamps.between(HOUR0, HOUR0 + 23 * 3600).all() and (stamps % 3600 == 0).all()

    try:
        check()
    finally:
        client.close()


def test_random_response_bodies_raise_only_our_errors():
    check_response_bodies(DEFAULT)


@pytest.mark.slow
def test_random_response_bodies_raise_only_our_errors_at_full_size():
    check_response_bodies(SLOW)
