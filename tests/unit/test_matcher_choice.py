"""Which rule matcher runs: `auto` picks durable-rules where it loads (3.11, 3.12) and
the reference matcher elsewhere (3.13 on), and every place that reports it agrees."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from casewatch.engine import evaluators
from casewatch.engine.evaluators import (
    DurableEvaluator,
    ReferenceEvaluator,
    active_matcher,
    durable_loads,
    make_evaluator,
)
from casewatch.service import config as config_module
from casewatch.service.config import Config, ConfigError, load_config
from tests.cli import casewatch


def test_durable_loads_exactly_where_its_c_core_can() -> None:
    """durable-rules' C core uses a C API function Python 3.13 removed: it loads on 3.11
    and 3.12 (where setup installs it) and not on 3.13 or later."""
    assert durable_loads() is (sys.version_info < (3, 13))


def test_auto_is_the_default_and_picks_durable_where_it_loads(config: Config) -> None:
    """Shipped settings say auto; it means durable where it loads, the reference elsewhere."""
    assert config.evaluator_kind == "auto"
    expected = "durable" if durable_loads() else "reference"
    assert config.matcher == expected
    kind = DurableEvaluator if durable_loads() else ReferenceEvaluator
    assert isinstance(config.evaluator(), kind)


def test_without_durable_auto_falls_back_and_durable_is_refused_in_words(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Where durable cannot load, auto runs the reference matcher, and an explicit
    `evaluator: durable` is a configuration error that says what to choose instead."""
    monkeypatch.setattr(evaluators, "durable_loads", lambda: False)
    monkeypatch.setattr(config_module, "durable_loads", lambda: False)
    assert active_matcher("auto") == "reference"
    assert active_matcher("reference") == "reference"
    rules = load_config(None).rules
    assert isinstance(make_evaluator("auto", rules), ReferenceEvaluator)
    with pytest.raises(RuntimeError, match="choose 'auto' or 'reference'"):
        make_evaluator("durable", rules)
    monkeypatch.setenv("CASEWATCH_EVALUATOR", "durable")
    with pytest.raises(ConfigError, match="durable-rules is not installed or does not load"):
        load_config(None)
    monkeypatch.setenv("CASEWATCH_EVALUATOR", "fastest")
    with pytest.raises(ConfigError, match="must be one of auto, durable, reference"):
        load_config(None)


def test_rules_check_names_the_active_matcher(monkeypatch: pytest.MonkeyPatch) -> None:
    """`rules check` prints the matcher in its summary line and in its JSON."""
    expected = "durable" if durable_loads() else "reference"
    table = casewatch("rules", "check")
    assert table.exit_code == 0
    assert table.stdout.strip().splitlines()[-1].endswith(f"; matcher: {expected}")
    monkeypatch.setenv("CASEWATCH_EVALUATOR", "reference")
    assert casewatch("rules", "check", "--format", "json").json()["matcher"] == "reference"
