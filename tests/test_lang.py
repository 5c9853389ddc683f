"""Chinese for Chinese readers: languages, terms, dates, the CJK font and the glyph check."""

from __future__ import annotations

import ast
import re
import warnings
from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt
import pytest

from costtrend_nb import lang
from costtrend_nb.catalogue import METRICS
from costtrend_nb.errors import QueryError

PACKAGE = Path(lang.__file__).parent
CJK = re.compile(r"[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef]")  # ideographs, CJK punctuation


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize(
    ("given", "code"),
    [
        ("en", "en"),
        ("EN", "en"),
        ("en_US", "en"),
        (None, "en"),
        ("zh", "zh"),
        ("ZH", "zh"),
        ("zh-CN", "zh"),
        ("zh_CN", "zh"),
        (" zh-Hans ", "zh"),
    ],
)
def test_check_lang_accepts_both_languages_in_their_common_spellings(given, code):
    assert lang.check_lang(given) == code


@pytest.mark.parametrize("given", ["fr", "", "zh-TW", "zh_HK", "cn", "chinese"])
def test_check_lang_refuses_anything_else_and_says_what_works(given):
    with pytest.raises(QueryError, match=r"'en' or 'zh'.*not "):
        lang.check_lang(given)


def test_every_term_has_chinese_with_the_same_fields():
    for english, chinese in lang.TERMS.items():
        assert chinese.strip(), english
        assert CJK.search(chinese) or chinese in ("API Key {id}",), (english, chinese)
        fields = set(re.findall(r"{(\w*)}", english))
        assert set(re.findall(r"{(\w*)}", chinese)) == fields, english


def test_terms_do_not_repeat_the_catalogue():
    labels = {m.label for m in METRICS.values()} | {m.unit for m in METRICS.values()}
    assert not labels & set(lang.TERMS)


def test_t_translates_formats_and_falls_back_to_english():
    assert lang.t("Other", "zh") == "其他"
    assert lang.t("Other") == "Other"
    assert lang.t("Cost", "zh_CN") == METRICS["total_amount"].label_zh
    assert lang.t("CNY", "zh") == "元"
    assert lang.t("Not a term", "zh") == "Not a term"
    partial = "Partial data: {n} series missing ({named}); totals are understated"
    assert (
        lang.t(partial, "zh", n=2, named="TTS, ASR")
        == "数据不完整：缺少 2 个序列（TTS, ASR），合计偏低"
    )
    assert lang.t(partial, n=2, named="TTS, ASR").startswith("Partial data: 2 series")
    with pytest.raises(QueryError):
        lang.t("Total", "de")


def _english_literals() -> set[str]:
    """The literal reader-visible strings the drawing and table code passes around."""
    found: set[str] = set()
    for path in [*PACKAGE.glob("plot/*.py"), *PACKAGE.glob("tables/*.py")]:
        text = path.read_text(encoding="utf-8")
        found |= set(re.findall(r'label="([A-Z][^"{]*)"', text))
        found |= set(
            re.findall(
                r'\(\s*"([A-Z][^"{]*)",\s*"(?:money|pct|share|text|date|count|number)"', text
            )
        )
        found |= set(re.findall(r'^[A-Z_]+ = "([A-Z][^"]*)"$', text, re.M))
        terms = re.findall(r'\bt\(\s*"((?:[^"\\]|\\.)+)",', text)  # t("term", lang...)
        found |= {ast.literal_eval(f'"{term}"') for term in terms}
    return found


def test_the_figures_and_tables_literal_words_all_have_chinese():
    literals = _english_literals()
    assert {"Incomplete: still settling", "Previous", "Change %", "Anomaly"} <= literals
    known = set(lang.TERMS) | {m.label for m in METRICS.values()}
    ignorable = {"MAPE", "MASE"}  # names of measures, the same in Chinese
    assert sorted(literals - known - ignorable) == []


@pytest.mark.parametrize(
    ("start", "end", "code", "text"),
    [
        ("2026-11-01", "2026-11-19", "en", "2026-11-01 – 2026-11-18"),
        ("2026-11-01", "2026-11-19", "zh", "2026-11-01 至 2026-11-18"),
        ("2026-11-01", "2026-11-02", "zh", "2026-11-01"),
        ("2026-11-20 00:00", "2026-11-20 15:00", "zh", "2026-11-20 00:00 至 14:00"),
        ("2026-11-19 22:00", "2026-11-20 03:00", "en", "2026-11-19 22:00 – 2026-11-20 02:00"),
    ],
)
def test_windows_name_their_first_and_last_bucket(start, end, code, text):
    assert lang.format_window(start, end, code) == text


def test_months_and_percentages_per_language():
    assert lang.format_month("2026-11-30", "zh") == "2026年11月"
    assert lang.format_month("2026-11-30") == "November 2026"
    assert f"+7.7{lang.percent_sign('zh')}" == "+7.7%"
    assert f"+7.7{lang.percent_sign()}" == "+7.7 %"


def test_the_installed_cjk_font_draws_chinese():
    font = lang.cjk_font()
    if font is None:
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    assert any(f in font for f in ("CJK", "Source Han", "WenQuanYi", "Droid", "SC"))
    rc = lang.rc_for("zh")
    assert rc["font.family"] == [font, "DejaVu Sans"]
    assert rc["axes.unicode_minus"] is False
    assert lang.rc_for("en") == {}


def test_cjk_font_is_none_when_no_candidate_has_the_glyphs(monkeypatch):
    monkeypatch.setattr(lang, "_has_glyphs", lambda *args, **kwargs: False)
    lang.cjk_font.cache_clear()
    try:
        assert lang.cjk_font() is None
    finally:
        lang.cjk_font.cache_clear()


def test_without_a_cjk_font_zh_falls_back_to_english_warning_once(monkeypatch):
    monkeypatch.setattr(lang, "cjk_font", lambda: None)
    monkeypatch.setattr(lang, "_warned", False)
    with pytest.warns(lang.CJKFontWarning, match="apt-get install fonts-noto-cjk"):
        assert lang.resolve_lang("zh") == "en"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert lang.resolve_lang("zh-CN") == "en"  # said once only
        assert lang.resolve_lang("en") == "en"
    assert lang.rc_for("zh") == {}


def test_with_a_cjk_font_zh_stays_zh(monkeypatch):
    monkeypatch.setattr(lang, "cjk_font", lambda: "Noto Sans CJK SC")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert lang.resolve_lang("zh") == "zh"


def _chinese_figure():
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 1], [-1, 2], label=lang.t("Total", "zh"))
    ax.set_title(lang.t("What drove the change in {subject}", "zh", subject="消费金额"))
    ax.set_ylabel(lang.t("Cost", "zh") + " (¥)")
    ax.annotate(lang.t("Incomplete: still settling", "zh"), (0.5, 0.5))
    ax.legend()
    return fig


def test_a_zh_figure_drawn_with_rc_for_zh_has_every_glyph():
    if lang.cjk_font() is None:
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    with mpl.rc_context(lang.rc_for("zh")):
        fig = _chinese_figure()
        assert lang.missing_glyphs(fig) == []


def test_the_glyph_check_fails_a_zh_figure_drawn_in_dejavu_sans():
    with mpl.rc_context({"font.family": ["DejaVu Sans"]}):
        fig = _chinese_figure()
        missing = lang.missing_glyphs(fig)
    assert len(missing) == 4  # title, y label, annotation, legend entry
    assert any("合计" in m and "DejaVu Sans" in m for m in missing)
