"""The catalogue's answers for keys and model types it does not know (issue 16: survivors of
mutation testing in catalogue.py)."""

from __future__ import annotations

from costtrend_nb.catalogue import BASE_METRICS, METRICS, Metric, metric_info, metrics_for


def test_an_unknown_key_is_additive_and_keeps_the_vendors_label_and_unit():
    assert metric_info("gpu_hours", vendor_unit="小时", vendor_label="GPU时长") == Metric(
        "gpu_hours", "gpu_hours", "小时", True, "GPU时长", "小时"
    )
    assert metric_info("gpu_seconds", vendor_unit="秒") == Metric(
        "gpu_seconds", "gpu_seconds", "s", True, "", "秒"
    )
    assert metric_info("mystery") == Metric("mystery", "mystery", "unknown", True, "", "")
    assert metric_info("input_tokens", vendor_unit="小时") is METRICS["input_tokens"]


def test_metrics_for_every_type_and_for_an_unknown_type():
    every = metrics_for(None)
    assert set(every) == {k for k in METRICS}
    assert every[:3] == BASE_METRICS
    assert metrics_for(["NotAModelType"]) == BASE_METRICS
    assert metrics_for(["TTS", "NotAModelType"]) == (*BASE_METRICS, "characters")
