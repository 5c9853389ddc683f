"""The metric catalogue: every metric key the service documents, with its English label,
unit, the vendor's Chinese label, and whether it may be summed.

``model_count`` is a distinct count of models per bucket: it is never summed across buckets
or series. Everything else is additive.

Example:
    >>> METRICS["input_tokens"].unit, METRICS["model_count"].additive
    ('tokens', False)
    >>> metrics_for(["TTS"])
    ('total_amount', 'total_calls', 'model_count', 'characters')
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .query import MODEL_TYPES

__all__ = [
    "BASE_METRICS",
    "METRICS",
    "MODEL_TYPE_METRICS",
    "UNITS",
    "Metric",
    "metric_info",
    "metrics_for",
    "sort_metrics",
]


@dataclass(frozen=True)
class Metric:
    """One metric key: English ``label``, ``unit``, whether it is ``additive``, vendor labels."""

    key: str
    label: str
    unit: str
    additive: bool = True
    label_zh: str = ""
    unit_zh: str = ""


#: Units of the tidy frame's ``unit`` column.
UNITS: tuple[str, ...] = ("CNY", "calls", "tokens", "images", "s", "chars", "models")

METRICS: dict[str, Metric] = {
    m.key: m
    for m in [
        Metric("total_amount", "Cost", "CNY", True, "消费金额", "元"),
        Metric("total_calls", "Calls", "calls", True, "调用次数", "次"),
        Metric("model_count", "Models used", "models", False, "模型数量", "个"),
        Metric("input_tokens", "Input tokens", "tokens", True, "输入Token", "Token"),
        Metric("output_tokens", "Output tokens", "tokens", True, "输出Token", "Token"),
        Metric("reasoning_tokens", "Reasoning tokens", "tokens", True, "思考Token", "Token"),
        Metric("cached_tokens", "Cached tokens", "tokens", True, "缓存命中Token", "Token"),
        Metric("image_count", "Images", "images", True, "图片数量", "张"),
        Metric("video_duration", "Video duration", "s", True, "视频时长", "秒"),
        Metric("embedding_output_tokens", "Embedding tokens", "tokens", True, "向量Token", "Token"),
        Metric("billing_tokens", "Billed tokens", "tokens", True, "计费Token", "Token"),
        Metric("image_tokens", "Image tokens", "tokens", True, "图片Token", "Token"),
        Metric("input_text_tokens", "Input text tokens", "tokens", True, "输入文本Token", "Token"),
        Metric(
            "input_audio_tokens", "Input audio tokens", "tokens", True, "输入音频Token", "Token"
        ),
        Metric(
            "input_image_tokens", "Input image tokens", "tokens", True, "输入图片Token", "Token"
        ),
        Metric(
            "input_video_tokens", "Input video tokens", "tokens", True, "输入视频Token", "Token"
        ),
        Metric(
            "output_text_tokens", "Output text tokens", "tokens", True, "输出文本Token", "Token"
        ),
        Metric(
            "output_audio_tokens", "Output audio tokens", "tokens", True, "输出音频Token", "Token"
        ),
        Metric("characters", "Characters", "chars", True, "字符数", "字符"),
        Metric("asr_duration", "Audio duration", "s", True, "音频时长", "秒"),
    ]
}

#: Keys every point carries, whatever its model types.
BASE_METRICS: tuple[str, ...] = ("total_amount", "total_calls", "model_count")

_CHAT = ("input_tokens", "output_tokens", "reasoning_tokens", "cached_tokens")
_IMAGE = ("image_count",)
_VIDEO = ("video_duration",)
_EMBED = ("embedding_output_tokens", "billing_tokens", "image_tokens")
_FULLMODAL = (
    "input_text_tokens",
    "input_audio_tokens",
    "input_image_tokens",
    "input_video_tokens",
    "output_text_tokens",
    "output_audio_tokens",
)

#: The keys each model type adds to :data:`BASE_METRICS`.
MODEL_TYPE_METRICS: dict[str, tuple[str, ...]] = {
    "Chat": _CHAT,
    "ChatMultimodal": _FULLMODAL,
    "ChatFullmodal": _FULLMODAL,
    "ImageGeneration": _IMAGE,
    "ImageEdit": _IMAGE,
    "VideoGeneration": _VIDEO,
    "VideoImageGeneration": _VIDEO,
    "Embedding": _EMBED,
    "Rerank": _EMBED,
    "MultimodalEmbedding": _EMBED,
    "MultimodalRerank": _EMBED,
    "TTS": ("characters",),
    "ASR": ("asr_duration",),
}
assert set(MODEL_TYPE_METRICS) == set(MODEL_TYPES)

_ORDER = {key: i for i, key in enumerate(METRICS)}

# The vendor's units, as the service spells them, to ours.
_VENDOR_UNITS = {
    "元": "CNY",
    "CNY": "CNY",
    "次": "calls",
    "个": "models",
    "Token": "tokens",
    "tokens": "tokens",
    "张": "images",
    "秒": "s",
    "s": "s",
    "字符": "chars",
}


def metrics_for(model_types: Iterable[str] | None) -> tuple[str, ...]:
    """The metric keys a series of these model types carries (``None``: every type).

    Example:
        >>> metrics_for(["ImageGeneration", "ImageEdit"])
        ('total_amount', 'total_calls', 'model_count', 'image_count')
    """
    types = MODEL_TYPES if model_types is None else tuple(model_types)
    keys = set(BASE_METRICS)
    for t in types:
        keys.update(MODEL_TYPE_METRICS.get(t, ()))
    return sort_metrics(keys)


def sort_metrics(keys: Iterable[str]) -> tuple[str, ...]:
    """Catalogue order first, then unknown keys alphabetically."""
    return tuple(sorted(set(keys), key=lambda k: (_ORDER.get(k, len(_ORDER)), k)))


def metric_info(
    key: str, vendor_unit: str | None = None, vendor_label: str | None = None
) -> Metric:
    """The catalogue entry for ``key``; an unknown key is additive, its unit read from the vendor.

    Example:
        >>> metric_info("gpu_seconds", vendor_unit="秒").unit
        's'
    """
    known = METRICS.get(key)
    if known is not None:
        return known
    unit = _VENDOR_UNITS.get(vendor_unit or "", vendor_unit or "unknown")
    return Metric(key, key, unit, True, vendor_label or "", vendor_unit or "")
