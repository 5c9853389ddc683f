import pickle

import pytest

from costtrend_nb import errors as E


@pytest.mark.parametrize(
    ("status", "body", "cls", "code"),
    [
        (
            500,
            {
                "errCode": "Server.Internal.UnknownError",
                "errMessage": "未知错误",
                "requestId": "r1",
            },
            E.ServerError,
            "Server.Internal.UnknownError",
        ),
        (
            403,
            {
                "Code": "B.Permission.DeniedException",
                "Message": "鉴权失败或权限不足",
                "RequestId": "r1",
            },
            E.AuthError,
            "B.Permission.DeniedException",
        ),
        (
            403,
            {
                "code": "B.Permission.OrgNoExistException",
                "message": "组织不存在,请主账号开通权限后再试,或联系管理员",
                "requestId": "r1",
            },
            E.OrgNotFoundError,
            "B.Permission.OrgNoExistException",
        ),
        (
            400,
            {"Code": "InvalidParameter", "Message": "bad", "RequestId": "r1"},
            E.BadRequestError,
            "InvalidParameter",
        ),
        (429, {"Code": "Throttling.User", "RequestId": "r1"}, E.ThrottledError, "Throttling.User"),
        (503, {"RequestId": "r1"}, E.ServerError, None),
        (404, {"RequestId": "r1"}, E.BadRequestError, None),
    ],
)
def test_api_error_maps_each_code_and_status(status, body, cls, code):
    err = E.api_error(status, body)
    assert type(err) is cls
    assert err.code == code
    assert err.request_id == "r1"
    assert err.http_status == status
    assert "r1" in str(err)
    assert isinstance(err, E.APIError) and isinstance(err, E.CostTrendError)


def test_success_false_on_http_200_uses_declared_status():
    err = E.api_error(
        200,
        {
            "success": False,
            "errCode": "B.Permission.DeniedException",
            "errMessage": "鉴权失败或权限不足",
            "httpStatusCode": 403,
            "requestId": "x",
        },
    )
    assert isinstance(err, E.AuthError)
    assert err.http_status == 403
    assert err.message == "鉴权失败或权限不足"


def test_str_explains_in_english_what_to_do():
    err = E.api_error(
        403,
        {"Code": "B.Permission.OrgNoExistException", "Message": "组织不存在", "RequestId": "abc"},
    )
    text = str(err)
    assert "组织不存在" in text  # the vendor's own words are kept
    assert "main account must enable it" in text
    assert "Request id: abc" in text
    denied = str(E.api_error(403, {"Code": "B.Permission.DeniedException"}))
    assert "aicontent:ModelRouterQueryCostTrendMetrics" in denied


def test_throttled_error_carries_retry_after():
    err = E.api_error(429, None, request_id="h", retry_after=1.5)
    assert isinstance(err, E.ThrottledError)
    assert err.retry_after == 1.5
    assert err.request_id == "h"


def test_errors_survive_pickling_for_process_pools():
    for err in [
        E.api_error(429, {"Code": "Throttling"}, retry_after=2.0),
        E.ResponseError("bad page", request_id="r", retryable=True),
        E.FetchError({"model_type=Chat": E.ServerError("Server.Internal.UnknownError")}, total=3),
    ]:
        back = pickle.loads(pickle.dumps(err))
        assert type(back) is type(err)
        assert str(back) == str(err)
    assert pickle.loads(pickle.dumps(E.api_error(429, None, retry_after=2.0))).retry_after == 2.0


def test_fetch_error_lists_every_failed_series():
    err = E.FetchError(
        {
            "model_type=Chat": E.ServerError(
                "Server.Internal.UnknownError", "未知错误", request_id="r9"
            ),
            "model_type=TTS": E.TimeoutError("no answer"),
        },
        total=13,
    )
    text = str(err)
    assert "2 of 13 series" in text
    assert "model_type=Chat: ServerError" in text and "r9" in text
    assert "model_type=TTS: TimeoutError" in text
    assert "on_error='partial'" in text


def test_query_error_is_a_value_error_too():
    assert issubclass(E.QueryError, ValueError)
    assert issubclass(E.TimeoutError, E.TransportError)
