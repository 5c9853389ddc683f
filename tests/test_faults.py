"""Nothing lost under faults: a 64-series fetch equals the truth exactly in every fault mode.

Every wait is injected (the client's retry sleeps and the emulator's latency), so the suite
takes seconds, not the minutes its waits would add up to.
"""

import pandas as pd
import pytest

from costtrend_nb import CostTrendClient, Credentials, TrendQuery
from costtrend_nb import errors as E
from costtrend_nb.emulator import (
    DEMO_ACCESS_KEY_ID,
    DEMO_ACCESS_KEY_SECRET,
    Emulator,
    EmulatorServer,
    EmulatorTransport,
    Faults,
    truth,
)

TYPES = [
    "Chat",
    "ChatFullmodal",
    "ImageGeneration",
    "VideoGeneration",
    "Embedding",
    "Rerank",
    "TTS",
    "ASR",
]
QUERY = TrendQuery(
    "2026-11-14",
    "2026-11-20 18:00",
    by=["model_type", "client_id"],
    model_types=TYPES,
    max_results=50,
)
EXPECTED = None


def expected():
    global EXPECTED
    if EXPECTED is None:
        EXPECTED = truth(QUERY)
    return EXPECTED


class Waits(list):
    def __call__(self, seconds):
        self.append(seconds)


MODES = {
    "none": Faults(),
    "latency and spikes": Faults(latency_ms=20, spike_rate=0.1, spike_ms=2000),
    "10% server errors": Faults(error_rate=0.10),
    "throttled every 3": Faults(throttle_every=3, retry_after_ms=1500),
    "20% truncated bodies": Faults(truncate_rate=0.20),
    "30% duplicated boundary points": Faults(duplicate_rate=0.30),
    "all together": Faults(
        latency_ms=20,
        spike_rate=0.05,
        spike_ms=2000,
        error_rate=0.10,
        throttle_every=4,
        truncate_rate=0.02,
        duplicate_rate=0.3,
    ),
}


def fetch(faults, *, omit_idle=True, max_retries=4, seed=3, query=QUERY, **client_kw):
    emulator_waits, client_waits = Waits(), Waits()
    emu = Emulator(faults=faults, omit_idle=omit_idle, seed=0)
    transport = EmulatorTransport(emu, sleep=emulator_waits)
    with CostTrendClient(
        demo=True,
        transport=transport,
        sleep=client_waits,
        seed=seed,
        max_retries=max_retries,
        **client_kw,
    ) as client:
        df = client.fetch_query(query)
    return df, client, emu, client_waits, emulator_waits


FAULT_FREE_REQUESTS = []


def fault_free_requests():
    if not FAULT_FREE_REQUESTS:
        FAULT_FREE_REQUESTS.append(fetch(Faults())[1].request_count)
    return FAULT_FREE_REQUESTS[0]


@pytest.mark.parametrize("mode", list(MODES))
def test_fetch_equals_the_truth_under_each_fault_mode(mode):
    df, client, emu, client_waits, emulator_waits = fetch(MODES[mode])
    pd.testing.assert_frame_equal(df, expected(), check_exact=True)
    assert df["model_type"].nunique() * df["client_id"].nunique() == 64
    assert client.request_count == emu.requests
    faults = MODES[mode]
    if faults.failing:
        assert client.request_count > fault_free_requests()  # retries happened
    if faults.throttle_every and not (faults.error_rate or faults.truncate_rate):
        # every wait followed a 429: none may be shorter than its x-acs-retry-after
        assert client_waits and min(client_waits) >= faults.retry_after_ms / 1000
    if faults.latency_ms:
        # an answer waits what is left of its latency after the emulator's own work, so on a
        # loaded machine some wait nothing: the waits are bounded, and the spikes are there
        most = (faults.latency_ms + faults.spike_ms) / 1000
        assert emulator_waits and all(0 < wait <= most for wait in emulator_waits)
        if faults.spike_rate:
            assert any(wait > faults.spike_ms / 2000 for wait in emulator_waits)


def test_idle_buckets_sent_as_zeros_change_nothing():
    df, *_ = fetch(MODES["all together"], omit_idle=False)
    pd.testing.assert_frame_equal(df, expected(), check_exact=True)


def test_faults_depend_on_the_query_not_on_arrival_order():
    _, one, *_ = fetch(MODES["all together"], max_concurrency=1)
    _, many, *_ = fetch(MODES["all together"], max_concurrency=8)
    assert one.request_count == many.request_count


def test_no_request_fails_more_than_twice_in_a_row():
    always = Faults(error_rate=1.0)
    df, client, *_ = fetch(always, max_retries=2)
    pd.testing.assert_frame_equal(df, expected(), check_exact=True)
    assert client.request_count == 3 * fault_free_requests()  # two failures, then success
    by_type = TrendQuery(QUERY.start, QUERY.end, by="model_type", model_types=TYPES)
    with pytest.raises(E.FetchError) as info:
        fetch(always, max_retries=1, query=by_type)
    assert len(info.value.failures) == len(TYPES)
    assert all(isinstance(err, E.ServerError) for err in info.value.failures.values())
    # the department list (asked for first, to check or enumerate the ids) fails on its own
    with pytest.raises(E.ServerError):
        fetch(always, max_retries=1)


def test_over_a_real_socket_with_every_fault():
    faults = Faults(
        latency_ms=1,
        error_rate=0.1,
        throttle_every=4,
        retry_after_ms=50,
        truncate_rate=0.05,
        duplicate_rate=0.3,
    )
    small = TrendQuery(
        "2026-11-18",
        "2026-11-20",
        by=["model_type", "client_id"],
        model_types=["Chat", "TTS"],
        client_ids=[10002, 10005],
        max_results=20,
    )
    with EmulatorServer(Emulator(faults=faults)) as server:
        waits = Waits()
        with CostTrendClient(
            Credentials(DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET),
            endpoint=server.url,
            sleep=waits,
            seed=1,
        ) as client:
            df = client.fetch_query(small)
    pd.testing.assert_frame_equal(df, truth(small), check_exact=True)
    assert client.request_count > 4 * 3
