"""``costtrend-nb summary``: its forms, exit statuses 0/2/3, and the nightly workflow in the docs."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import re
import shlex
from pathlib import Path

import pytest

from costtrend_nb import cli, overview
from costtrend_nb.arguments import build_parser
from costtrend_nb.summary import Summary

NIGHTLY = Path(__file__).resolve().parent.parent / "docs" / "nightly.md"


@pytest.fixture(scope="module")
def real_run():
    """One run of the real command (fetch and forecast); the other tests answer from it."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(
            ["summary", "--demo", "--json", "--budget", "70000", "--fail-on", "over-budget"]
        )
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def demo_summary(real_run):
    return Summary.from_dict(json.loads(real_run[1]))


@pytest.fixture
def cached(monkeypatch, demo_summary):
    """fetch_summary answers from the module's demo summary, with the budget asked for."""
    calls = []

    def fake(client, *, budget=None, **kwargs):
        calls.append({"budget": budget, **kwargs})
        landing = demo_summary.landing
        p = None if budget is None else 1.0 if landing.landing > budget else 0.0
        landing = dataclasses.replace(landing, budget=budget, p_over_budget=p)
        return dataclasses.replace(demo_summary, landing=landing)

    monkeypatch.setattr(overview, "fetch_summary", fake)
    return calls


def test_text_by_default_exit_0(cached, capsys):
    assert cli.main(["summary", "--demo"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("DEMO DATA")
    assert "Month to date: ¥47,701.46  +7.7 % like for like" in out


def test_json_and_markdown(cached, capsys):
    assert cli.main(["summary", "--demo", "--json", "--budget", "78000"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert round(data["month"]["current"], 2) == 47_701.46
    assert data["landing"]["budget"] == 78_000 and data["demo"] is True
    assert cli.main(["summary", "--demo", "--markdown"]) == 0
    assert capsys.readouterr().out.startswith("## Model Router spend")
    assert cached[0]["budget"] == 78_000


def test_a_condition_that_holds_exits_3_after_the_summary(cached, capsys):
    status = cli.main(
        ["summary", "--demo", "--markdown", "--budget", "70000", "--fail-on", "over-budget"]
    )
    assert status == 3
    out, err = capsys.readouterr()
    assert "| Month to date |" in out
    assert re.fullmatch(r"costtrend-nb: alert: 2026-11 is forecast to land at ¥73,588 .*\n", err)
    assert cli.main(["summary", "--demo", "--fail-on", "spend-up:5,anomaly"]) == 3
    assert capsys.readouterr().err.count("alert:") == 2
    assert cli.main(["summary", "--demo", "--fail-on", "spend-up,anomaly:3"]) == 0


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--fail-on", "nope"], "unknown --fail-on condition 'nope'"),
        (["--fail-on", "over-budget"], "needs a budget: pass --budget"),
        (["--budget", "-1"], "--budget: must be a number of at least 0"),
        (["--budget", "nan"], "--budget"),
        (["--json", "--markdown"], "not allowed with"),
        (["--end", "someday"], "--end"),
        (["--tz", "Mars/Base"], "Mars/Base"),
        (["--lang", "fr"], "lang must be"),
        (["--fail-on", "anomaly:0"], "anomaly:N needs a whole number"),
    ],
)
def test_bad_input_exits_2_before_any_request(flags, says, monkeypatch, capsys):
    def no_client(args):
        raise AssertionError("a client was made")

    monkeypatch.setattr(cli, "_make_client", no_client)
    assert cli.main(["summary", "--demo", *flags]) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1


def test_unknown_department_exits_2(cached, capsys):
    assert cli.main(["summary", "--demo", "--client-ids", "99"]) == 2
    assert "no department 99" in capsys.readouterr().err


def test_the_real_command_end_to_end(real_run):
    status, out, err = real_run
    assert status == 3, err
    assert err.startswith("costtrend-nb: alert: 2026-11 is forecast to land at ¥73,588")
    data = json.loads(out)
    assert round(data["landing"]["landing"], 2) == 73_587.56
    assert data["landing"]["p_over_budget"] == 1.0


# -- docs/nightly.md ----------------------------------------------------------------------------


def workflow_text() -> str:
    text = NIGHTLY.read_text(encoding="utf-8")
    (block,) = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
    return block


def command_lines(block: str) -> list[list[str]]:
    """Each ``costtrend-nb`` command in the workflow, without its shell redirection."""
    found = []
    for line in block.splitlines():
        text = line.strip().removeprefix("run:").strip()
        if text.startswith("costtrend-nb "):
            words = shlex.split(text.split(">")[0])
            found.append(words[1:])
    return found


def test_every_command_in_the_nightly_workflow_parses():
    commands = command_lines(workflow_text())
    assert {c[0] for c in commands} == {"report", "summary"}
    parser = build_parser()
    for words in commands:
        args = parser.parse_args(words)
        if args.command == "summary":
            from costtrend_nb.summary import parse_conditions

            assert args.markdown and args.budget is not None
            assert {c.name for c in parse_conditions(args.fail_on)} >= {"over-budget"}


def test_the_nightly_workflow_is_valid_yaml_that_alerts_and_keeps_the_reports():
    yaml = pytest.importorskip("yaml")
    flow = yaml.safe_load(workflow_text())
    triggers = flow[True] if True in flow else flow["on"]  # YAML 1.1 reads `on` as True
    assert triggers["schedule"][0]["cron"]
    (job,) = flow["jobs"].values()
    env = job["env"]
    for name in ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET"):
        assert env[name] == f"${{{{ secrets.{name} }}}}"
    steps = job["steps"]
    runs = " ".join(str(s.get("run", "")) for s in steps)
    assert "echo" not in runs and "secrets." not in runs  # never printed
    assert "costtrend-nb report -o reports" in runs
    assert '>> "$GITHUB_STEP_SUMMARY"' in runs
    (upload,) = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact")]
    assert upload["if"] == "always()" and upload["with"]["path"].startswith("reports")
    assert any("pip install" in str(s.get("run", "")) for s in steps)
