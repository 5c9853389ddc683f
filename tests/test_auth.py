import datetime as dt
import json

import httpx
import pytest

from costtrend_nb import Credentials
from costtrend_nb.auth import AcsV3Auth, authorization, canonical_query, signed_header_names
from costtrend_nb.errors import QueryError

SECRET = "s3cr3t-Value/+=="
KEY_ID = "AKIDexample1234567"
FIXED = dt.datetime(2026, 11, 28, 3, 0, 0, tzinfo=dt.UTC)
PATH = "/api/v1/modelRouter/open/billing/cost/trend"


def signed(url: str, creds: Credentials, **kw) -> httpx.Request:
    auth = AcsV3Auth(
        creds,
        action="ModelRouterQueryCostTrendMetrics",
        clock=lambda: FIXED,
        nonce=lambda: "0123456789abcdef0123456789abcdef",
        **kw,
    )
    return next(auth.auth_flow(httpx.Request("GET", url, headers={"accept": "application/json"})))


# -- repr and resolution -------------------------------------------------------------------


def test_repr_never_shows_the_secret_or_the_whole_key_id():
    creds = Credentials(KEY_ID, SECRET, "sts-token-value")
    for text in (repr(creds), str(creds), f"{creds}", repr(AcsV3Auth(creds))):
        assert SECRET not in text
        assert "sts-token-value" not in text
        assert KEY_ID not in text
    assert "AKID" in repr(creds) and "sts=True" in repr(creds)


@pytest.mark.parametrize(
    ("key_id", "secret", "missing"),
    [
        ("id", "", "access_key_secret"),
        ("", "s", "access_key_id"),
        ("  ", " ", "access_key_id and access_key_secret"),
    ],
)
def test_partial_explicit_credentials_name_what_is_missing(key_id, secret, missing):
    with pytest.raises(QueryError, match=missing):
        Credentials(key_id, secret)


def test_environment_credentials():
    env = {
        "ALIBABA_CLOUD_ACCESS_KEY_ID": KEY_ID,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": SECRET,
        "ALIBABA_CLOUD_SECURITY_TOKEN": "tok",
    }
    creds = Credentials.from_env(env)
    assert (creds.access_key_id, creds.access_key_secret, creds.security_token, creds.source) == (
        KEY_ID,
        SECRET,
        "tok",
        "environment",
    )
    assert Credentials.from_env({}) is None


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({"ALIBABA_CLOUD_ACCESS_KEY_ID": KEY_ID}, "ALIBABA_CLOUD_ACCESS_KEY_SECRET is missing"),
        ({"ALIBABA_CLOUD_ACCESS_KEY_SECRET": SECRET}, "ALIBABA_CLOUD_ACCESS_KEY_ID is missing"),
        (
            {"ALIBABA_CLOUD_SECURITY_TOKEN": "t"},
            "ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET are missing",
        ),
    ],
)
def test_partial_environment_is_an_error_naming_what_is_missing(env, missing):
    with pytest.raises(QueryError, match=missing) as info:
        Credentials.from_env(env)
    assert SECRET not in str(info.value)


def write_cli_config(home, profiles, current="default"):
    folder = home / ".aliyun"
    folder.mkdir(exist_ok=True)
    (folder / "config.json").write_text(json.dumps({"current": current, "profiles": profiles}))


def test_resolution_order_explicit_then_environment_then_cli_profile(isolated_env, monkeypatch):
    assert Credentials.resolve() is None
    write_cli_config(
        isolated_env,
        [
            {
                "name": "default",
                "mode": "AK",
                "access_key_id": "cli-id-123456",
                "access_key_secret": "cli-secret",
            }
        ],
    )
    assert Credentials.resolve().access_key_id == "cli-id-123456"
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "env-id-123456")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "env-secret")
    assert Credentials.resolve().access_key_id == "env-id-123456"
    explicit = Credentials("explicit-id-1", "x")
    assert Credentials.resolve(explicit) is explicit


def test_cli_profile_sts_mode_and_profile_selection(isolated_env, monkeypatch):
    write_cli_config(
        isolated_env,
        [
            {"name": "default", "mode": "AK", "access_key_id": "", "access_key_secret": ""},
            {
                "name": "sts",
                "mode": "StsToken",
                "access_key_id": "sts-id-123456",
                "access_key_secret": "sts-secret",
                "sts_token": "sts-token",
            },
        ],
        current="sts",
    )
    creds = Credentials.from_cli_config()
    assert (creds.access_key_id, creds.security_token) == ("sts-id-123456", "sts-token")
    assert "profile 'sts'" in creds.source
    monkeypatch.setenv("ALIBABA_CLOUD_PROFILE", "default")
    assert Credentials.from_cli_config() is None  # an empty profile is no profile
    monkeypatch.setenv("ALIBABA_CLOUD_PROFILE", "nope")
    with pytest.raises(QueryError, match="profile 'nope' is not in"):
        Credentials.from_cli_config()


def test_cli_profile_other_modes_point_to_the_vendor_chain(isolated_env):
    write_cli_config(
        isolated_env,
        [{"name": "default", "mode": "RamRoleArn", "access_key_id": "a", "access_key_secret": "b"}],
    )
    with pytest.raises(QueryError, match="from_vendor_chain"):
        Credentials.resolve()


def test_cli_profile_partial_and_corrupt(isolated_env):
    write_cli_config(
        isolated_env,
        [
            {
                "name": "default",
                "mode": "AK",
                "access_key_id": "only-id-123",
                "access_key_secret": "",
            }
        ],
    )
    with pytest.raises(QueryError, match="access_key_secret"):
        Credentials.resolve()
    (isolated_env / ".aliyun" / "config.json").write_text("{not json")
    with pytest.raises(QueryError, match="not readable JSON"):
        Credentials.resolve()


def test_vendor_chain_without_the_extra_says_how_to_install(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("alibabacloud_credentials"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(QueryError, match=r"costtrend_nb\[aliyun\]"):
        Credentials.from_vendor_chain()


# -- signing ---------------------------------------------------------------------------------


def test_canonical_query_encodes_like_the_vendor():
    assert (
        canonical_query([("modelTypes", "聊天 a+b~c*d/e"), ("clientId", "7")])
        == "clientId=7&modelTypes=%E8%81%8A%E5%A4%A9%20a%2Bb~c%2Ad%2Fe"
    )
    assert canonical_query([("memberUserIds", "")]) == "memberUserIds="
    assert canonical_query([]) == ""


def test_known_vendor_signature_worked_example():
    # Captured from the vendor SDK (alibabacloud-tea-openapi 0.4.6) on the wire, which signs
    # every header it sets; reproduced here by naming the same signed headers.
    headers = {
        "accept": "application/json",
        "host": "127.0.0.1:18765",
        "user-agent": "AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2",
        "x-acs-action": "ModelRouterQueryCostTrendMetrics",
        "x-acs-content-sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "x-acs-credentials-provider": "static_ak",
        "x-acs-date": "2024-06-11T08:00:00Z",
        "x-acs-signature-nonce": "3156853299f313e23d1673dc12e1703d",
        "x-acs-version": "20240611",
    }
    params = [
        ("startTime", "1700000000"),
        ("endTime", "1700086400"),
        ("granularity", "hourly"),
        ("clientId", "7"),
        ("modelTypes", "Chat,ImageGeneration"),
    ]
    value = authorization(
        "GET",
        PATH,
        params,
        headers,
        access_key_id="testAccessKeyId",
        access_key_secret="testAccessKeySecret",
        signed_headers=list(headers),
    )
    assert value.endswith(
        "Signature=b45c35ff2ae72692da09735b30b6e639db93862cafe077b1a1026f0d84a1513e"
    )


def vendor_authorization(request: httpx.Request, key_id: str, secret: str) -> str:
    from alibabacloud_tea_openapi.utils import Utils
    from darabonba.request import DaraRequest

    vendor = DaraRequest()
    vendor.method = request.method
    vendor.pathname = request.url.path
    vendor.query = dict(request.url.params.multi_items())
    names = signed_header_names(request.headers)
    vendor.headers = {n: request.headers[n] for n in names}
    payload = Utils.hash(request.content, "ACS3-HMAC-SHA256").hex()
    return Utils.get_authorization(vendor, "ACS3-HMAC-SHA256", payload, key_id, secret)


BASE = "https://aicontent.aliyuncs.com" + PATH


@pytest.mark.parametrize(
    ("case", "url", "token"),
    [
        ("empty query", BASE, None),
        (
            "every parameter",
            BASE
            + "?startTime=1700000000&endTime=1700086400&granularity=daily&modelTypes=Chat%2CTTS&clientId=7&apiKeyId=42&memberUserIds=1001%2C1002&maxResults=100&nextToken=abc%3D%3D",
            None,
        ),
        (
            "non-ASCII value",
            BASE + "?modelTypes=" + httpx.QueryParams({"x": "聊天 模型"})["x"].replace(" ", "%20"),
            None,
        ),
        ("STS token", BASE + "?startTime=1&endTime=2", "CAIS+/token==with spaces"),
        (
            "special characters",
            BASE + "?k=" + "a%2Bb%20c%2Ad%2Fe~f%26g%3Dh%2C%21%27%28%29" + "&memberUserIds=",
            None,
        ),
        ("loopback with port", "http://127.0.0.1:8080" + PATH + "?clientIds=1%2C2%2C3", None),
    ],
)
def test_authorization_equals_the_vendors_own_signing_code(case, url, token):
    creds = Credentials(KEY_ID, SECRET, token)
    request = signed(url, creds)
    assert request.headers["authorization"] == vendor_authorization(request, KEY_ID, SECRET), case


def test_headers_sent_are_the_vendor_sdks():
    request = signed(BASE + "?startTime=1&endTime=2", Credentials(KEY_ID, SECRET, "tok"))
    h = request.headers
    assert h["host"] == "aicontent.aliyuncs.com"
    assert h["x-acs-action"] == "ModelRouterQueryCostTrendMetrics"
    assert h["x-acs-version"] == "20240611"
    assert h["x-acs-date"] == "2026-11-28T03:00:00Z"
    assert h["x-acs-signature-nonce"] == "0123456789abcdef0123456789abcdef"
    assert (
        h["x-acs-content-sha256"]
        == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert h["x-acs-security-token"] == "tok" and h["x-acs-accesskey-id"] == KEY_ID
    signed_names = h["authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    assert signed_names == [
        "host",
        "x-acs-accesskey-id",
        "x-acs-action",
        "x-acs-content-sha256",
        "x-acs-date",
        "x-acs-security-token",
        "x-acs-signature-nonce",
        "x-acs-version",
    ]
    assert SECRET not in str(request.url) and SECRET not in str(dict(h))


def test_every_attempt_is_signed_afresh():
    auth = AcsV3Auth(Credentials(KEY_ID, SECRET), action="A")
    first = next(auth.auth_flow(httpx.Request("GET", BASE)))
    second = next(auth.auth_flow(httpx.Request("GET", BASE)))
    assert first.headers["x-acs-signature-nonce"] != second.headers["x-acs-signature-nonce"]
    assert first.headers["authorization"] != second.headers["authorization"]
