"""No secret anywhere a run leaves a trace, and what the cache saves a notebook re-run.

One live-mode run (real credentials, not the demo) against the emulator on a loopback socket,
with a key pair and an STS token made up for this test: every notebook rendered as a report
twice with the cache on, fetches with DEBUG logging of every logger, errors provoked on
purpose. Then every artefact is searched for the secret and the token.
"""

import json
import logging
import secrets
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pandas as pd
import pytest

from costtrend_nb import CostTrendClient, Credentials
from costtrend_nb import errors as E
from costtrend_nb.emulator import Emulator, EmulatorServer
from costtrend_nb.report import render_reports

ROOT = Path(__file__).resolve().parents[1]
KEY_ID = "LTAI" + secrets.token_hex(8)
SECRET = "sk-" + secrets.token_urlsafe(24)
TOKEN = "sts-" + secrets.token_urlsafe(32)
NEEDLES = [SECRET.encode(), TOKEN.encode()]


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """A loopback emulator that knows this test's key pair and token, and the environment of
    an analyst whose notebooks use it: credentials, endpoint and cache directory."""
    root = tmp_path_factory.mktemp("live")
    emulator = Emulator(key_pairs={KEY_ID: SECRET}, sts_tokens={TOKEN: KEY_ID})
    server = EmulatorServer(emulator).start()
    env = {
        "ALIBABA_CLOUD_ACCESS_KEY_ID": KEY_ID,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": SECRET,
        "ALIBABA_CLOUD_SECURITY_TOKEN": TOKEN,
        "COSTTREND_NB_ENDPOINT": server.url,
        "COSTTREND_NB_CACHE_DIR": str(root / "cache-home"),
    }
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        yield root, server, emulator
    server.stop()


class Requests(list):
    """The emulator's requests as (endpoint, startTime) pairs, in arrival order."""

    def __init__(self, emulator):
        super().__init__()
        handle = emulator.handle

        def recording(method, target, headers, body=b"", **kw):
            query = dict(parse_qsl(urlsplit(target).query))
            self.append((urlsplit(target).path.rsplit("/", 1)[-1], query.get("startTime")))
            return handle(method, target, headers, body, **kw)

        emulator.handle = recording

    def trend_starts(self):
        return [int(start) for path, start in self if path == "trend"]


@pytest.fixture(scope="module")
def reports(live):
    """The notebooks as reports, each run twice; what each run asked the service for."""
    root, _, emulator = live
    requests = Requests(emulator)
    runs = {}
    for name, kwargs in [
        ("first", {}),
        ("again", {}),
        ("closed", {"notebooks": ["01", "02"], "end": "2026-11-19"}),
        ("closed again", {"notebooks": ["01", "02"], "end": "2026-11-19"}),
    ]:
        requests.clear()
        notebooks = kwargs.pop("notebooks", None)
        out = root / f"reports-{name.replace(' ', '-')}"
        render_reports(notebooks, out, demo=None, progress=False, **kwargs)
        runs[name] = list(requests), requests.trend_starts()
    return runs


def test_notebook_reports_run_live_and_a_rerun_fetches_only_unsettled_buckets(live, reports):
    root, _, _ = live
    page = (root / "reports-first" / "00-getting-started.html").read_text()
    assert "Live data: 127.0.0.1" in page and "settled buckets cached on disk" in page
    assert list((root / "cache-home").rglob("*.npz")), "notebooks on the real API keep a cache"
    (first, _), (again, again_starts) = reports["first"], reports["again"]
    # the service's clock is 2026-11-20 14:30: every day before Nov 20 had settled
    settled_until = pd.Timestamp("2026-11-20", tz="Asia/Shanghai").timestamp()
    assert again_starts and min(again_starts) >= settled_until
    assert len(again) < len(first)
    (closed, _), (closed_again, closed_again_starts) = (
        reports["closed"],
        reports["closed again"],
    )
    assert closed_again_starts == []  # a closed period: no trend request at all
    print(
        f"notebook reports: {len(first)} requests, {len(again)} on a re-run (one per series "
        f"for the running day, and the department lists); closed period: {len(closed)}, then "
        f"{len(closed_again)} (department lists only)"
    )


def test_no_secret_in_any_artefact(live, reports, caplog):
    root, server, _ = live
    creds = Credentials(KEY_ID, SECRET, TOKEN)
    texts = []
    with caplog.at_level(logging.DEBUG):  # every logger: ours, httpx, httpcore, the emulator
        for logger in ("costtrend_nb", "httpx", "httpcore"):
            logging.getLogger(logger).setLevel(logging.DEBUG)
        try:
            with CostTrendClient(creds, endpoint=server.url, cache_dir=root / "cache") as client:
                df = client.fetch("2026-11-01", "2026-11-21", granularity="daily", by="model_type")
                client.fetch("2026-11-18", "2026-11-20", by=["model_type", "client_id"])
                texts += [repr(client), client.describe(), repr(client.cache)]
                texts.append(json.dumps(df.attrs, default=str))
            wrong = Credentials(KEY_ID, SECRET[::-1], TOKEN)
            with (
                CostTrendClient(wrong, endpoint=server.url, max_retries=0) as client,
                pytest.raises(E.AuthError) as refused,
            ):
                client.fetch("2026-11-18", "2026-11-19")
            texts += [str(refused.value), repr(refused.value), refused.getrepr().__str__()]
            with (
                CostTrendClient(creds, endpoint=server.url, timeout=0.001, max_retries=0) as c,
                pytest.raises(E.CostTrendError) as slow,
            ):
                c.fetch("2026-11-18", "2026-11-19", by="model_type")
            texts += [str(slow.value), repr(slow.value)]
        finally:
            for logger in ("costtrend_nb", "httpx", "httpcore"):
                logging.getLogger(logger).setLevel(logging.NOTSET)
    texts += [repr(creds), str(creds)]
    assert any("HTTP Request" in r.getMessage() for r in caplog.records)  # DEBUG was on
    texts += [r.getMessage() for r in caplog.records]
    texts.append(caplog.text)

    artefacts = [p for p in root.rglob("*") if p.is_file()]
    artefacts += sorted((ROOT / "notebooks").glob("*.ipynb"))  # the stored outputs
    assert len([p for p in artefacts if p.suffix == ".html"]) >= 12
    assert len([p for p in artefacts if p.suffix == ".npz"]) > 10
    for path in artefacts:
        data = path.read_bytes()
        for needle in NEEDLES:
            assert needle not in data, f"a secret in {path}"
    for text in texts:
        for needle in NEEDLES:
            assert needle.decode() not in text, f"a secret in {text[:80]!r}"


def test_https_with_certificate_checks_by_default_and_plain_http_only_to_loopback(monkeypatch):
    import ssl

    monkeypatch.delenv("COSTTREND_NB_ENDPOINT", raising=False)
    creds = Credentials(KEY_ID, SECRET)
    with CostTrendClient(creds) as client:
        assert client.endpoint.scheme == "https"
        context = client._http._transport._pool._ssl_context
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    with pytest.raises(E.QueryError, match="plain http"):
        CostTrendClient(creds, endpoint="http://billing.example.com")
    CostTrendClient(creds, endpoint="http://billing.example.com", allow_http=True).close()
    CostTrendClient(creds, endpoint="http://127.0.0.1:9").close()
