"""Never a silent wrong answer: whatever goes wrong inside a fetch ends it with our error.

Each test here reproduces a failure seen on 62822ff (issue 11): a worker thread killed by an
exception of another kind (the frame came back short with no word), a client closed from
another thread, a credential provider that raises or hangs, an async fetch raising a bare
ExceptionGroup, credentials that cannot travel in a header, secrets in traceback locals.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import pickle
import signal
import threading
import time
import traceback
import warnings

import httpx
import pandas as pd
import pytest

from costtrend_nb import AsyncCostTrendClient, CostTrendClient, Credentials, TrendQuery
from costtrend_nb import errors as E
from costtrend_nb.auth import AcsV3Auth, Secret
from costtrend_nb.cache import Cache
from costtrend_nb.emulator import (
    DEMO_ACCESS_KEY_ID,
    DEMO_ACCESS_KEY_SECRET,
    Emulator,
    EmulatorServer,
    EmulatorTransport,
    Faults,
    truth,
)

DEMO = Credentials(DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET)
QUERY = TrendQuery(
    "2026-11-10", "2026-11-12", by="model_type", model_types=["Chat", "TTS", "ASR", "Embedding"]
)
SECRET = "sk-made-up-secret-for-locals-Zq81"
TOKEN = "sts-made-up-token-for-locals-Pw27"


class Breaking(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """The emulator, but requests for some model types raise ``error`` (not an httpx error)."""

    def __init__(
        self,
        error: BaseException,
        types: tuple[str, ...] = ("TTS",),
        emulator: Emulator | None = None,
    ):
        self.inner = EmulatorTransport(emulator or Emulator())
        self.error, self.types = error, types

    def _check(self, request: httpx.Request) -> None:
        if request.url.params.get("modelTypes") in self.types:
            raise self.error

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._check(request)
        return self.inner.handle_request(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._check(request)
        return await self.inner.handle_async_request(request)


def bounded(fn, seconds=20.0):
    """``fn()`` on a daemon thread, failing the test if it has not ended in ``seconds`` (a
    fetch that hangs is a failure here, not a stuck run)."""
    box: dict[str, object] = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as err:
            box["error"] = err

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds:g}s: it hangs"
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]


def sync_fetch(transport, query=QUERY, **kw):
    def run():
        with CostTrendClient(DEMO, transport=transport, sleep=lambda s: None, **kw) as client:
            return client.fetch_query(query)

    return bounded(run)


def async_fetch(transport, query=QUERY, **kw):
    async def run():
        async with AsyncCostTrendClient(DEMO, transport=transport, **kw) as client:
            return await client.fetch_query(query)

    return asyncio.run(run())


ERRORS = [
    ValueError("a value no one expected"),
    KeyError("x-acs-thing"),
    RuntimeError("Cannot send a request, as the client has been closed."),
    UnicodeEncodeError("ascii", "\u200b", 0, 1, "ordinal not in range(128)"),
    ZeroDivisionError("division by zero"),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("fetch", [sync_fetch, async_fetch], ids=["sync", "async"])
def test_any_exception_in_a_worker_ends_the_fetch_with_our_error_naming_series_and_cause(
    fetch, error
):
    with pytest.raises(E.FetchError) as info:
        fetch(Breaking(error, types=("TTS", "ASR")))
    failures = info.value.failures
    assert set(failures) == {"model_type=TTS", "model_type=ASR"}
    for err in failures.values():
        assert isinstance(err, E.CostTrendError)
        assert type(error).__name__ in str(err)
    assert "model_type=TTS" in str(info.value)


@pytest.mark.parametrize("error", ERRORS[:2], ids=lambda e: type(e).__name__)
def test_partial_names_what_a_crashed_series_lost(error):
    with (
        CostTrendClient(DEMO, transport=Breaking(error), sleep=lambda s: None) as client,
        pytest.warns(UserWarning, match="model_type=TTS"),
    ):
        df = bounded(lambda: client.fetch_query(QUERY, on_error="partial"))
    assert df.attrs["missing_series"] == ["model_type=TTS"]
    assert set(df["model_type"]) == {"Chat", "ASR", "Embedding"}
    expected = truth(QUERY)
    assert len(df) == (expected["model_type"] != "TTS").sum()


@pytest.mark.parametrize("fetch", [sync_fetch, async_fetch], ids=["sync", "async"])
def test_every_worker_crashing_is_never_an_empty_frame(fetch):
    with pytest.raises(E.FetchError) as info:
        fetch(Breaking(ValueError("boom"), types=("Chat", "TTS", "ASR", "Embedding")))
    assert len(info.value.failures) == 4


def test_close_from_another_thread_mid_fetch_is_an_error_not_a_short_frame():
    emulator = Emulator(faults=Faults(latency_ms=30))
    query = TrendQuery("2026-11-01", "2026-11-12", by="model_type", max_results=24)
    client = CostTrendClient(DEMO, transport=EmulatorTransport(emulator), max_concurrency=4)
    closer = threading.Timer(0.15, client.close)
    closer.start()
    try:
        with pytest.raises(E.FetchError) as info:
            bounded(lambda: client.fetch_query(query))
    finally:
        closer.cancel()
    assert info.value.failures
    assert any("closed" in str(err) for err in info.value.failures.values())


class Provider(Credentials):
    """Credentials whose refresh fails (``raises``) or never ends (``hangs``)."""

    __slots__ = ("behaviour", "release")

    def current(self) -> Credentials:
        if self.behaviour == "raises":
            raise OSError("the metadata service is unreachable")
        self.release.wait(30)
        return self


def provider(behaviour: str) -> Provider:
    made = Provider(DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET)
    object.__setattr__(made, "behaviour", behaviour)
    object.__setattr__(made, "release", threading.Event())
    return made


@pytest.mark.parametrize("fetch", ["sync", "async"])
def test_a_credential_provider_that_raises_fails_every_series_by_name(fetch):
    creds = provider("raises")
    transport = EmulatorTransport(Emulator())
    if fetch == "sync":
        with (
            CostTrendClient(creds, transport=transport) as client,
            pytest.raises(E.FetchError) as info,
        ):
            bounded(lambda: client.fetch_query(QUERY))
    else:

        async def run():
            async with AsyncCostTrendClient(creds, transport=transport) as client:
                await client.fetch_query(QUERY)

        with pytest.raises(E.FetchError) as info:
            asyncio.run(run())
    assert len(info.value.failures) == 4
    assert all("metadata service" in str(e) for e in info.value.failures.values())


@pytest.mark.parametrize("fetch", ["sync", "async"])
def test_the_deadline_bounds_a_credential_refresh_that_hangs(fetch):
    creds = provider("hangs")
    transport = EmulatorTransport(Emulator())
    began = time.monotonic()
    try:
        if fetch == "sync":
            with (
                CostTrendClient(creds, transport=transport, deadline=1.0) as client,
                pytest.raises(E.FetchError) as info,
            ):
                bounded(lambda: client.fetch_query(QUERY), seconds=5)
        else:

            async def run():
                async with AsyncCostTrendClient(creds, transport=transport, deadline=1.0) as c:
                    await c.fetch_query(QUERY)

            with pytest.raises(E.FetchError) as info:
                asyncio.run(run())
    finally:
        creds.release.set()
    took = time.monotonic() - began
    assert took < 1.0 + 1.0
    assert all(isinstance(e, E.TimeoutError) for e in info.value.failures.values())
    assert "deadline" in str(info.value)


@pytest.mark.parametrize(
    "key_id",
    ["AKIDexample\u200b", "AKID example", "AKID\texample", "AKIDexämple", "AKID\nexample"],
)
def test_credentials_that_cannot_travel_in_a_header_are_refused_before_any_request(key_id):
    with pytest.raises(E.QueryError, match="cannot be sent in an HTTP header"):
        Credentials(key_id, "secret")
    env = {"ALIBABA_CLOUD_ACCESS_KEY_ID": key_id, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "secret"}
    with pytest.raises(E.QueryError, match="ALIBABA_CLOUD_ACCESS_KEY_ID"):
        Credentials.from_env(env)


@pytest.mark.parametrize("field", ["secret", "token"])
def test_a_secret_or_token_with_an_invisible_character_is_refused_without_showing_it(field):
    bad = "abc\u200bdef-hidden"
    args = ("AKIDexample1", bad, None) if field == "secret" else ("AKIDexample1", "s", bad)
    with pytest.raises(E.QueryError) as info:
        Credentials(*args)
    assert "U+200B" in str(info.value) and "hidden" not in str(info.value)


def test_no_request_is_sent_with_credentials_refused(monkeypatch):
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAI5t\u200bexample")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "secret")
    emulator = Emulator()
    with pytest.raises(E.QueryError, match=r"U\+200B"):
        CostTrendClient(transport=EmulatorTransport(emulator))
    assert emulator.requests == 0


# -- secrets never in the locals of a frame an error leaves ------------------------------------


LIBRARY = os.sep + "costtrend_nb" + os.sep


def formatted(err: BaseException) -> str:
    """The error as a formatter that shows every frame's locals would print it, from the
    first frame of the library on (the test's own frames hold the secrets it made up)."""
    tb = err.__traceback__
    while tb is not None and LIBRARY not in tb.tb_frame.f_code.co_filename:
        tb = tb.tb_next
    assert tb is not None, "no frame of the library in the traceback"
    exc = traceback.TracebackException(type(err), err, tb, capture_locals=True)
    return "".join(exc.format())


def assert_no_secret(err: BaseException) -> None:
    text = formatted(err)
    assert LIBRARY in text and " = " in text  # library frames and their locals were rendered
    for needle in (SECRET, TOKEN):
        assert needle not in text


@pytest.mark.parametrize(
    "env",
    [
        {"ALIBABA_CLOUD_ACCESS_KEY_SECRET": SECRET, "ALIBABA_CLOUD_SECURITY_TOKEN": TOKEN},
        {
            "ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAI\u200b5t",
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": SECRET,
            "ALIBABA_CLOUD_SECURITY_TOKEN": TOKEN,
        },
        {
            "ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAI5texample",
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": SECRET,
            "ALIBABA_CLOUD_SECURITY_TOKEN": TOKEN + "\u200b",
        },
    ],
)
@pytest.mark.parametrize("where", ["argument", "os.environ"])
def test_errors_from_the_environment_carry_no_secret_in_any_frame(env, where, monkeypatch):
    if where == "os.environ":
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        call = Credentials.from_env
    else:

        def call():
            return Credentials.from_env(env)

    with pytest.raises(E.QueryError) as info:
        call()
    assert_no_secret(info.value)


@pytest.mark.parametrize(
    ("profiles", "profile"),
    [
        (
            [
                {
                    "name": "default",
                    "mode": "AK",
                    "access_key_id": "LTAI5t",
                    "access_key_secret": SECRET,
                }
            ],
            "other",
        ),
        (
            [
                {
                    "name": "default",
                    "mode": "RamRoleArn",
                    "access_key_id": "a",
                    "access_key_secret": SECRET,
                }
            ],
            None,
        ),
        (
            [
                {
                    "name": "default",
                    "mode": "StsToken",
                    "access_key_id": "a",
                    "access_key_secret": SECRET,
                }
            ],
            None,
        ),
        (
            [
                {
                    "name": "default",
                    "mode": "StsToken",
                    "access_key_id": "a\u200b",
                    "access_key_secret": SECRET,
                    "sts_token": TOKEN,
                }
            ],
            None,
        ),
        ([{"name": "x", "access_key_secret": SECRET, "sts_token": TOKEN}], "nope"),
    ],
)
def test_errors_from_the_cli_config_carry_no_secret_in_any_frame(tmp_path, profiles, profile):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"current": "default", "profiles": profiles}))
    with pytest.raises(E.QueryError) as info:
        Credentials.from_cli_config(config, profile=profile)
    assert_no_secret(info.value)


def test_a_config_of_a_strange_shape_is_a_query_error_without_its_contents(tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"current": "default", "profiles": 7, "x": SECRET}))
    with pytest.raises(E.QueryError, match="could not be read as an aliyun CLI config") as info:
        Credentials.from_cli_config(config)
    assert_no_secret(info.value)
    profiles = [{"name": "default", "mode": 7, "s": SECRET}]
    config.write_text(json.dumps({"current": "default", "profiles": profiles}))
    with pytest.raises(E.QueryError) as info:
        Credentials.from_cli_config(config)
    assert_no_secret(info.value)


def test_errors_from_signing_carry_no_secret_in_any_frame():
    class Failing(Credentials):
        __slots__ = ()

        def current(self):
            raise RuntimeError("refresh failed")

    auth = AcsV3Auth(Failing("LTAI5texample", SECRET, TOKEN), action="X")
    with pytest.raises(E.CostTrendError, match="refresh failed") as info:
        next(auth.auth_flow(httpx.Request("GET", "https://example.com/x")))
    assert_no_secret(info.value)
    assert info.value.__cause__ is None and info.value.__context__ is None

    class Odd(Credentials):  # a refresh that hands back a value signing cannot use
        __slots__ = ()

        def current(self):
            return object()

    auth = AcsV3Auth(Odd("LTAI5texample", SECRET, TOKEN), action="X")
    with pytest.raises(E.CostTrendError, match="could not be signed") as info:
        next(auth.auth_flow(httpx.Request("GET", "https://example.com/x")))
    assert_no_secret(info.value)


@pytest.mark.parametrize("fetch", ["sync", "async"])
def test_errors_from_the_client_carry_no_secret_in_any_frame(fetch):
    emulator = Emulator(key_pairs={"LTAI5texample": "another-secret"})
    creds = Credentials("LTAI5texample", SECRET, TOKEN)
    if fetch == "sync":
        client = CostTrendClient(creds, transport=EmulatorTransport(emulator))
        with pytest.raises(E.AuthError) as info:
            client.fetch_query(QUERY)
    else:

        async def run():
            async with AsyncCostTrendClient(creds, transport=EmulatorTransport(emulator)) as c:
                await c.fetch_query(QUERY)

        with pytest.raises(E.AuthError) as info:
            asyncio.run(run())
    assert_no_secret(info.value)
    known = Emulator(key_pairs={"LTAI5texample": SECRET}, sts_tokens={TOKEN: "LTAI5texample"})
    with (
        pytest.raises(E.FetchError) as info,
        CostTrendClient(creds, transport=Breaking(ValueError("x"), emulator=known)) as client,
    ):
        bounded(lambda: client.fetch_query(QUERY))
    assert_no_secret(info.value)


# -- objects that never raise in repr, and never pickle a secret --------------------------------


HALF_BUILT = [
    CostTrendClient,
    AsyncCostTrendClient,
    Credentials,
    AcsV3Auth,
    Secret,
    TrendQuery,
    Cache,
    Emulator,
    EmulatorServer,
    EmulatorTransport,
]


@pytest.mark.parametrize("cls", HALF_BUILT, ids=lambda c: c.__name__)
def test_repr_never_raises_even_half_built(cls):
    text = repr(cls.__new__(cls))  # what a traceback showing locals meets when __init__ raised
    assert cls.__name__ in text


def test_the_emulator_never_shows_its_key_pairs():
    emulator = Emulator(key_pairs={"LTAI5texample": SECRET}, sts_tokens={TOKEN: "LTAI5texample"})
    assert SECRET not in repr(emulator) and TOKEN not in repr(emulator)


def test_a_constructor_that_refuses_its_input_leaves_no_unprintable_frame():
    with pytest.raises(E.QueryError) as info:
        TrendQuery("2026-11-01", "2026-11-02", model_types="LLM")
    assert "TrendQuery(start=" in formatted(info.value)
    with pytest.raises(E.QueryError):
        CostTrendClient(DEMO, timeout=-1)


def test_secrets_are_masked_and_unwrapped_only_on_purpose():
    creds = Credentials("LTAI5texample", SECRET, TOKEN)
    assert isinstance(creds.access_key_secret, Secret)
    assert isinstance(creds.security_token, Secret)
    for text in (
        repr(creds.access_key_secret),
        str(creds.security_token),
        f"{creds.security_token}",
    ):
        assert SECRET not in text and TOKEN not in text and "***" in text
    assert creds.access_key_secret.reveal() == SECRET and creds.access_key_secret == SECRET
    assert copy.deepcopy(creds) == creds and copy.copy(creds) is creds


@pytest.mark.parametrize("value", [Credentials("LTAI5texample", SECRET, TOKEN), Secret(SECRET)])
def test_pickling_credentials_raises_saying_why(value):
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(value)


# -- the service's clock never ahead of ours ---------------------------------------------------


class ShiftedDate(httpx.BaseTransport):
    """The emulator, with every ``Date`` header set to ``date``."""

    def __init__(self, emulator: Emulator, date: str):
        self.inner, self.date = EmulatorTransport(emulator), date

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.headers["date"] = self.date
        return response


@pytest.mark.parametrize("ahead", ["3h", "200 days"])
def test_a_service_clock_ahead_of_ours_never_makes_the_future_settled(ahead):
    import email.utils

    now = pd.Timestamp.now(tz="UTC").floor("h")
    emulator = Emulator(now=int((now - pd.Timedelta("30min")).timestamp()))
    date = email.utils.formatdate((now + pd.Timedelta(ahead)).timestamp(), usegmt=True)
    start, end = now - pd.Timedelta("1D"), now + pd.Timedelta("6h")
    with CostTrendClient(DEMO, transport=ShiftedDate(emulator, date)) as client:
        df = client.fetch(start, end, model_types="Chat")
    as_of = pd.Timestamp(df.attrs["as_of"])
    assert as_of <= pd.Timestamp.now(tz="UTC")
    assert df["timestamp"].max() < as_of  # no bucket from the future, not even as zeros
    settled = df[df["complete"]]["timestamp"].max()
    assert settled + pd.Timedelta("1h") <= as_of - pd.Timedelta("2h")


# -- an interrupt stops the work ----------------------------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="a real SIGINT")
def test_a_real_sigint_stops_sending_within_half_a_second_and_the_client_still_works():
    emulator = Emulator(faults=Faults(latency_ms=40))
    big = TrendQuery(
        "2026-09-01",
        "2026-11-01",
        by=["model_type", "client_id"],
        model_types=["Chat", "TTS"],
        client_ids=list(range(10001, 10009)),
        max_results=24,
    )  # 16 series x 61 days hourly in pages of 24 hours: ~980 requests, ~5 s at 8 in flight
    with EmulatorServer(emulator) as server:
        client = CostTrendClient(DEMO, endpoint=server.url, max_concurrency=8)
        seen: dict[str, float] = {}

        def interrupt():
            seen["sent"] = client.request_count
            seen["received"] = emulator.requests
            seen["at"] = time.monotonic()
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

        timer = threading.Timer(0.8, interrupt)
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            client.fetch_query(big)
        caught = time.monotonic()
        sent_when_caught = client.request_count
        time.sleep(0.6)  # what was in flight answers; nothing new may start
        assert seen and caught - seen["at"] < 0.5
        assert client.request_count == sent_when_caught
        assert sent_when_caught - seen["sent"] <= 1  # at most one that was starting already
        assert emulator.requests <= sent_when_caught
        assert seen["sent"] > 20  # the fetch was well under way
        small = TrendQuery("2026-11-16", "2026-11-18", granularity="daily", model_types="TTS")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            again = client.fetch_query(small)
        pd.testing.assert_frame_equal(again, truth(small), check_exact=True)
        client.close()


# -- a department that does not exist is refused, never fetched as zeros ------------------------


@pytest.mark.parametrize("ids", [99999, [10002, 99999], [1, 2, 3]])
@pytest.mark.parametrize("by", [(), ("client_id",), ("model_type", "client_id")])
@pytest.mark.parametrize("fetch", ["sync", "async"])
def test_an_unknown_department_costs_one_list_request_and_no_trend_request(ids, by, fetch):
    emulator = Emulator()
    transport = EmulatorTransport(emulator)
    kwargs = {"granularity": "daily", "client_ids": ids, "by": by}
    if fetch == "sync":
        with (
            CostTrendClient(DEMO, transport=transport) as client,
            pytest.raises(E.QueryError, match="of this organisation") as info,
        ):
            client.fetch("2026-11-01", "2026-11-08", **kwargs)
    else:

        async def run():
            async with AsyncCostTrendClient(DEMO, transport=transport) as client:
                await client.fetch("2026-11-01", "2026-11-08", **kwargs)

        with pytest.raises(E.QueryError, match="of this organisation") as info:
            asyncio.run(run())
    assert "99999" in str(info.value) or "1, 2, 3" in str(info.value)
    assert "10001" in str(info.value)  # the ids that exist, to pick from
    assert emulator.requests == 1


def test_a_known_department_is_fetched_after_one_list_request():
    emulator = Emulator()
    with CostTrendClient(DEMO, transport=EmulatorTransport(emulator)) as client:
        df = client.fetch("2026-11-01", "2026-11-08", granularity="daily", client_ids=10002)
    query = TrendQuery("2026-11-01", "2026-11-08", granularity="daily", client_ids=10002)
    pd.testing.assert_frame_equal(df, truth(query), check_exact=True)
    assert df.attrs["request_count"] == emulator.requests == 2
