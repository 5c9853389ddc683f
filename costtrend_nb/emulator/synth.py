"""The demo organisation: a deterministic year and more of Model Router usage.

Eight departments in a small tree, each with a service key and members with keys of their own,
use models of every type the vendor documents. Usage has daily and weekly cycles, growth, a
product-launch spike in video generation (2026-06-15), an outage day (2026-03-11), a holiday
week, and a price cut on ``qwen-max`` (2026-05-01). Costs are in CNY, rounded to 0.0001,
from per-model prices: tiered per-million-token prices for chat, per image, per video second,
per character and per audio second.

Everything derives from ``seed``; the same seed gives the same numbers on every machine.

Example:
    >>> org = demo_organisation()
    >>> [d.name for d in org.departments][:3]
    ['Headquarters', 'Research & Development', 'AI Platform']
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..catalogue import BASE_METRICS, MODEL_TYPE_METRICS

__all__ = [
    "DATA_END",
    "DATA_START",
    "DEMO_NOW",
    "ApiKey",
    "Department",
    "Member",
    "Model",
    "Organisation",
    "demo_organisation",
]

HOUR = 3600
DAY = 86400
LOCAL = 8 * HOUR  # the organisation lives in UTC+8
DATA_START = 1756656000  # 2025-09-01T00:00+08:00
DATA_END = 1798732800  # 2027-01-01T00:00+08:00
#: The emulator's frozen clock: Friday 2026-11-20 14:30 in Shanghai.
DEMO_NOW = 1795156200

OUTAGE_DAY = 1773158400  # 2026-03-11, local midnight
PRICE_CUT = 1777564800  # 2026-05-01: qwen-max prices cut by a third
LAUNCH = 1781452800  # 2026-06-15: Creative Studio launches a video campaign
HOLIDAY = (1771171200, 1771776000)  # 2026-02-16 .. 02-23: Spring Festival


@dataclass(frozen=True)
class Department:
    """A department (``clientId``) in the organisation's tree."""

    id: int
    name: str
    parent_id: int
    level: int


@dataclass(frozen=True)
class Member:
    """A member user of a department."""

    user_id: int
    client_id: int
    name: str


@dataclass(frozen=True)
class ApiKey:
    """An API key: the department's own (``member_id`` None) or a member's."""

    id: int
    client_id: int
    member_id: int | None


@dataclass(frozen=True)
class Model:
    """A model and its price list.

    ``prices`` maps a metric key to CNY per unit; for chat, ``tiers`` lists
    ``(share of tokens, input price, output price)`` per million tokens, by request length.
    """

    name: str
    model_type: str
    per_call: dict[str, float]  # mean units of each metric per call
    prices: dict[str, float] = field(default_factory=dict)
    tiers: tuple[tuple[float, float, float], ...] = ()
    since: int = DATA_START  # first day of use


_M = 1e-6  # prices are quoted per million tokens


def _chat(
    name: str,
    tokens: tuple[int, int, int],
    tiers: tuple[tuple[float, float, float], ...],
    *,
    reasoning: int = 0,
    since: int = DATA_START,
) -> Model:
    """A chat model: mean input, output and cached tokens per call, and its price tiers."""
    per_call = dict(zip(("input_tokens", "output_tokens", "cached_tokens"), tokens, strict=True))
    if reasoning:
        per_call["reasoning_tokens"] = reasoning
    return Model(name, "Chat", {k: float(v) for k, v in per_call.items()}, tiers=tiers, since=since)


def _priced(name: str, model_type: str, **units: tuple[float, float]) -> Model:
    """A model priced per unit: ``metric=(mean units per call, CNY per unit)``."""
    per_call = {metric: mean for metric, (mean, _) in units.items()}
    prices = {metric: price for metric, (_, price) in units.items() if price}
    return Model(name, model_type, per_call, prices)


MODELS: tuple[Model, ...] = (
    _chat("qwen-max", (2200, 450, 500), ((0.9, 2.4, 9.6), (0.1, 9.6, 38.4))),
    _chat("qwen-plus", (1800, 350, 600), ((0.85, 0.8, 2.0), (0.12, 2.4, 20.0), (0.03, 4.8, 48.0))),
    _chat("qwen-turbo", (900, 200, 150), ((1.0, 0.3, 0.6),)),
    _chat("deepseek-r1", (1500, 900, 200), ((1.0, 4.0, 16.0),), reasoning=1400,
          since=1764518400),  # 2025-12-01
    _chat("qwen3-coder-plus", (6000, 700, 3600), ((0.8, 4.0, 16.0), (0.2, 6.0, 24.0)),
          since=1784736000),  # 2026-07-23
    _priced("qwen-vl-max", "ChatMultimodal", input_text_tokens=(600, 1.6 * _M),
            input_image_tokens=(1200, 1.6 * _M), output_text_tokens=(300, 4.0 * _M)),
    _priced("qwen-omni-turbo", "ChatFullmodal", input_text_tokens=(300, 0.4 * _M),
            input_audio_tokens=(900, 25 * _M), input_image_tokens=(200, 1.5 * _M),
            input_video_tokens=(100, 1.5 * _M), output_text_tokens=(150, 1.6 * _M),
            output_audio_tokens=(400, 50 * _M)),
    _priced("wanx2.1-t2i-turbo", "ImageGeneration", image_count=(1.6, 0.14)),
    _priced("wanx2.1-t2i-plus", "ImageGeneration", image_count=(1.3, 0.20)),
    _priced("wanx2.1-imageedit", "ImageEdit", image_count=(1.0, 0.14)),
    _priced("wanx2.1-t2v-turbo", "VideoGeneration", video_duration=(5.0, 0.24)),
    _priced("wanx2.1-t2v-plus", "VideoGeneration", video_duration=(5.0, 0.70)),
    _priced("wanx2.1-i2v-turbo", "VideoImageGeneration", video_duration=(4.0, 0.24)),
    _priced("text-embedding-v3", "Embedding", billing_tokens=(700, 0.5 * _M),
            embedding_output_tokens=(700, 0.0)),
    _priced("gte-rerank-v2", "Rerank", billing_tokens=(2400, 0.8 * _M)),
    _priced("multimodal-embedding-v1", "MultimodalEmbedding", billing_tokens=(300, 0.7 * _M),
            image_tokens=(900, 0.7 * _M)),
    _priced("qwen-vl-rerank", "MultimodalRerank", billing_tokens=(1500, 1.0 * _M),
            image_tokens=(1100, 1.0 * _M)),
    _priced("cosyvoice-v2", "TTS", characters=(180, 0.0002)),
    _priced("paraformer-realtime-v2", "ASR", asr_duration=(95.0, 0.00024)),
)  # fmt: skip

DEPARTMENTS: tuple[Department, ...] = (
    Department(10001, "Headquarters", 0, 1),
    Department(10002, "Research & Development", 10001, 2),
    Department(10003, "AI Platform", 10002, 3),
    Department(10004, "Search", 10002, 3),
    Department(10005, "Customer Service", 10001, 2),
    Department(10006, "Marketing", 10001, 2),
    Department(10007, "Creative Studio", 10006, 3),
    Department(10008, "Finance & Operations", 10001, 2),
)

# (department, model, peak calls per hour at the start, daily profile, yearly growth rate)
USAGE: tuple[tuple[int, str, float, str, float], ...] = (
    (10001, "qwen-max", 160, "office", 0.3),
    (10001, "qwen-plus", 240, "office", 0.4),
    (10001, "text-embedding-v3", 90, "office", 0.2),
    (10002, "qwen-plus", 900, "office", 0.5),
    (10002, "qwen-turbo", 1200, "office", 0.3),
    (10002, "deepseek-r1", 240, "office", 0.9),
    (10002, "qwen3-coder-plus", 480, "office", 1.2),
    (10002, "gte-rerank-v2", 240, "service", 0.4),
    (10003, "qwen-max", 360, "service", 0.6),
    (10003, "qwen-plus", 1000, "service", 0.6),
    (10003, "qwen-vl-max", 210, "service", 0.7),
    (10003, "qwen-omni-turbo", 25, "service", 0.9),
    (10003, "multimodal-embedding-v1", 150, "batch", 0.5),
    (10003, "qwen-vl-rerank", 60, "service", 0.5),
    (10003, "deepseek-r1", 160, "service", 0.8),
    (10004, "text-embedding-v3", 2700, "batch", 0.5),
    (10004, "gte-rerank-v2", 1200, "service", 0.5),
    (10004, "qwen-turbo", 1400, "service", 0.4),
    (10004, "multimodal-embedding-v1", 180, "batch", 0.6),
    (10005, "qwen-plus", 2000, "service", 0.4),
    (10005, "qwen-turbo", 1700, "service", 0.3),
    (10005, "cosyvoice-v2", 180, "service", 0.5),
    (10005, "paraformer-realtime-v2", 260, "service", 0.5),
    (10005, "qwen-omni-turbo", 35, "service", 0.8),
    (10006, "qwen-plus", 360, "office", 0.3),
    (10006, "wanx2.1-t2i-plus", 20, "office", 0.5),
    (10006, "wanx2.1-imageedit", 14, "office", 0.4),
    (10007, "wanx2.1-t2i-turbo", 40, "office", 0.6),
    (10007, "wanx2.1-t2i-plus", 16, "office", 0.5),
    (10007, "wanx2.1-imageedit", 20, "office", 0.5),
    (10007, "wanx2.1-t2v-turbo", 5, "office", 0.7),
    (10007, "wanx2.1-t2v-plus", 1.6, "office", 0.7),
    (10007, "wanx2.1-i2v-turbo", 2.6, "office", 0.7),
    (10008, "qwen-turbo", 180, "office", 0.2),
    (10008, "qwen-plus", 80, "office", 0.2),
)

# Share of a day's peak by local hour, for three kinds of work.
_PROFILES = {
    "office": [0.04, 0.03, 0.02, 0.02, 0.02, 0.03, 0.06, 0.15, 0.45, 0.85, 1.0, 0.95,
               0.6, 0.8, 0.95, 1.0, 0.9, 0.7, 0.4, 0.25, 0.2, 0.15, 0.1, 0.06],
    "service": [0.25, 0.18, 0.14, 0.12, 0.12, 0.15, 0.25, 0.45, 0.7, 0.9, 1.0, 1.0,
                0.9, 0.95, 1.0, 1.0, 0.95, 0.9, 0.85, 0.8, 0.75, 0.65, 0.5, 0.35],
    "batch": [0.9, 1.0, 1.0, 0.95, 0.8, 0.4, 0.15, 0.1, 0.1, 0.12, 0.15, 0.15,
              0.12, 0.15, 0.15, 0.15, 0.12, 0.1, 0.1, 0.1, 0.12, 0.2, 0.45, 0.7],
}  # fmt: skip
_WEEKEND = {"office": 0.22, "service": 0.7, "batch": 1.0}


@dataclass
class _TypeBlock:
    """Hourly usage of every (key, model) series of one model type."""

    key_index: np.ndarray  # (series,) index into Organisation.keys
    model_index: np.ndarray  # (series,) index into Organisation.models
    values: dict[str, np.ndarray]  # metric -> (series, hours) int32, in units of 1/scale()


@dataclass
class Organisation:
    """The demo organisation and its usage, hour by hour from :data:`DATA_START`."""

    departments: tuple[Department, ...]
    members: tuple[Member, ...]
    keys: tuple[ApiKey, ...]
    models: tuple[Model, ...]
    blocks: dict[str, _TypeBlock]
    start: int = DATA_START
    hours: int = (DATA_END - DATA_START) // HOUR

    @property
    def end(self) -> int:
        """The end of the generated data (Unix seconds, exclusive)."""
        return self.start + self.hours * HOUR

    def department_ids(self) -> list[int]:
        """Every department id, in tree order."""
        return [d.id for d in self.departments]


#: Metrics are stored as whole numbers of these fractions: 0.0001 CNY, 0.001 s, else 1.
SCALE: dict[str, int] = {"total_amount": 10_000, "video_duration": 1_000, "asr_duration": 1_000}


def scale(metric: str) -> int:
    """How many stored units make one unit of ``metric`` (sums stay exact decimals)."""
    return SCALE.get(metric, 1)


def _prices_at(model: Model, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Blended chat prices (CNY per token) for input and output, hour by hour."""
    share = np.array([s for s, _, _ in model.tiers])
    p_in = float(np.dot(share, [i for _, i, _ in model.tiers])) * _M
    p_out = float(np.dot(share, [o for _, _, o in model.tiers])) * _M
    factor = np.where((model.name == "qwen-max") & (t >= PRICE_CUT), 2 / 3, 1.0)
    return p_in * factor, p_out * factor


def _amount(model: Model, units: dict[str, np.ndarray], t: np.ndarray) -> np.ndarray:
    if model.model_type == "Chat":
        p_in, p_out = _prices_at(model, t)
        fresh = units["input_tokens"] - units["cached_tokens"]
        out = units["output_tokens"] + units.get("reasoning_tokens", 0.0)
        cost = fresh * p_in + units["cached_tokens"] * p_in * 0.4 + out * p_out
    else:
        cost = sum(units[k] * price for k, price in model.prices.items())
    return cost


def _activity(
    rng: np.random.Generator, t: np.ndarray, peak: float, profile: str, growth: float, model: Model
) -> np.ndarray:
    local = t + LOCAL
    hour = (local // HOUR) % 24
    day = local // DAY
    weekday = (day + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
    level = np.asarray(_PROFILES[profile])[hour]
    level = level * np.where(weekday >= 5, _WEEKEND[profile], 1.0)
    years = (t - DATA_START) / (365.25 * DAY)
    level = level * peak * np.exp(growth * years)
    if model.since > DATA_START:  # a model adopted later ramps up over a month
        ramp = np.clip((t - model.since) / (30 * DAY), 0.0, 1.0)
        level = level * np.where(t >= model.since, 0.15 + 0.85 * ramp, 0.0)
    days = day - day[0]
    daily_noise = np.exp(rng.normal(0.0, 0.08, int(days[-1]) + 1))[days]
    level = level * daily_noise * np.exp(rng.normal(0.0, 0.15, len(t)))
    day_start = day * DAY - LOCAL
    if profile == "office":
        holiday = (day_start >= HOLIDAY[0]) & (day_start < HOLIDAY[1])
        level = np.where(holiday, level * 0.3, level)
    level = np.where(day_start == OUTAGE_DAY, level * 0.02, level)  # the outage day
    if model.model_type in ("VideoGeneration", "VideoImageGeneration"):
        since_launch = (t - LAUNCH) / DAY
        spike = np.where(since_launch >= 0, 5.0 * np.exp(-since_launch / 2.5), 0.0)
        level = level * (1.0 + spike)
    return level


def _build(seed: int) -> Organisation:
    rng = np.random.default_rng(seed)
    models = MODELS
    by_name = {m.name: i for i, m in enumerate(models)}
    members: list[Member] = []
    keys: list[ApiKey] = []
    first_names = ["Li Na", "Wang Wei", "Zhang Min", "Chen Jie", "Liu Yang", "Zhao Lei",
                   "Huang Fang", "Zhou Tao", "Wu Hao", "Sun Li", "Ma Jun", "Hu Xin",
                   "Guo Qiang", "Lin Yu", "He Ping", "Gao Ming"]  # fmt: skip
    for d in DEPARTMENTS:
        keys.append(ApiKey(30000 + len(keys) + 1, d.id, None))
        for _ in range(2):
            user = Member(20000 + len(members) + 1, d.id, first_names[len(members)])
            members.append(user)
            keys.append(ApiKey(30000 + len(keys) + 1, d.id, user.user_id))

    t = DATA_START + HOUR * np.arange((DATA_END - DATA_START) // HOUR, dtype=np.int64)
    rows: dict[str, list[tuple[int, int, dict[str, np.ndarray]]]] = {}
    for dept, model_name, peak, profile, growth in USAGE:
        model = models[by_name[model_name]]
        activity = _activity(rng, t, peak, profile, growth, model)
        dept_keys = [i for i, k in enumerate(keys) if k.client_id == dept]
        shares = rng.dirichlet(np.full(len(dept_keys), 2.0))
        for key_index, share in zip(dept_keys, shares, strict=True):
            calls = rng.poisson(activity * share).astype(np.float64)
            units: dict[str, np.ndarray] = {"total_calls": calls}
            for metric, mean in model.per_call.items():
                per_call = mean * np.exp(0.12 * rng.standard_normal(len(t), dtype=np.float32))
                units[metric] = np.round(calls * per_call * scale(metric)) / scale(metric)
            if "cached_tokens" in units:
                units["cached_tokens"] = np.minimum(units["cached_tokens"], units["input_tokens"])
            for metric in MODEL_TYPE_METRICS[model.model_type]:
                units.setdefault(metric, np.zeros(len(t)))
            units["total_amount"] = _amount(model, units, t)
            stored = {m: np.round(v * scale(m)).astype(np.int32) for m, v in units.items()}
            rows.setdefault(model.model_type, []).append((key_index, by_name[model_name], stored))

    blocks = {}
    for model_type, series in rows.items():
        metrics = [m for m in BASE_METRICS if m != "model_count"] + list(
            MODEL_TYPE_METRICS[model_type]
        )
        blocks[model_type] = _TypeBlock(
            key_index=np.array([s[0] for s in series]),
            model_index=np.array([s[1] for s in series]),
            values={m: np.stack([s[2][m] for s in series]) for m in metrics},
        )
    return Organisation(DEPARTMENTS, tuple(members), tuple(keys), models, blocks)


_BUILD_LOCK = threading.Lock()


def demo_organisation(seed: int = 0) -> Organisation:
    """The demo organisation for ``seed``, built once per process (in about 0.2 s)."""
    with _BUILD_LOCK:  # concurrent first requests must not each build it
        return _cached(seed)


@functools.lru_cache(maxsize=4)
def _cached(seed: int) -> Organisation:
    return _build(seed)


def model_types_in(org: Organisation) -> Sequence[str]:
    """The model types the organisation uses."""
    return list(org.blocks)
