"""Settings and configuration files, read once per process by the composition root.

Configuration files come from CASEWATCH_CONFIG_DIR when set, file by file: a
partnership overrides only the files it changes and inherits the shipped defaults for
the rest.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from attrs import Factory, frozen

from casewatch.cases.case_review import (
    CaseReviewConfigError,
    CaseReviewSettings,
    case_review_settings_from_mapping,
)
from casewatch.cases.db import DEFAULT_URL, normalise_url
from casewatch.cases.matrices import (
    Matrices,
    MatrixConfigError,
    asb_matrix_from_mapping,
    dash_matrix_from_mapping,
)
from casewatch.cases.retention import RetentionConfigError, RetentionPolicy, retention_from_mapping
from casewatch.cases.validation import EventValidator
from casewatch.engine.calendar import WorkCalendar
from casewatch.engine.evaluators import (
    DURABLE_MISSING,
    EVALUATORS,
    Evaluator,
    active_matcher,
    durable_loads,
    make_evaluator,
)
from casewatch.engine.policies import (
    PolicyCatalogue,
    PolicyConfigError,
    load_yaml,
    policies_from_text,
)
from casewatch.engine.rules import RuleFileError, RuleSet, load_rule_files
from casewatch.engine.store import Rulesets
from casewatch.notifications.routing import Routing, RoutingConfigError, routing_from_mapping
from casewatch.reports.measures import Measure, MeasureConfigError, measures_from_text
from casewatch.service.deployment import (
    DEFAULT_SIGN_IN,
    DEFAULT_WEB,
    DeploymentConfigError,
    SignInSettings,
    WebSettings,
    deployment_from,
)

NATIONS: Final = ("england_wales", "scotland", "northern_ireland")


class ConfigError(ValueError):
    """Configuration that cannot be used; says which file and what is wrong.

    `problems` holds each problem on its own, in `rules check`'s words."""

    def __init__(self, message: str, problems: Sequence[str] | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems) if problems is not None else [message]


@frozen
class Config:
    timezone: ZoneInfo
    nation: str
    matrices: Matrices
    policies: PolicyCatalogue
    rules: RuleSet
    evaluator_kind: str
    sources: Mapping[str, str]  # file name -> where it was read from
    rule_texts: Mapping[str, str]  # rule file name -> its text, stored with each version
    policies_data: Any  # the parsed policy file, stored with each version
    routing: Routing
    measures: tuple[Measure, ...]
    retention: RetentionPolicy
    case_review: CaseReviewSettings = Factory(CaseReviewSettings)
    web: WebSettings = DEFAULT_WEB
    sign_in: SignInSettings = DEFAULT_SIGN_IN

    def validator(self) -> EventValidator:
        return EventValidator(self.matrices, self.policies.case_types(), self.case_review)

    @property
    def calendar(self) -> WorkCalendar:
        return WorkCalendar(self.timezone, self.nation)

    @property
    def matcher(self) -> str:
        """The rule matcher in use: durable or reference (`auto` resolved here)."""
        return active_matcher(self.evaluator_kind)

    def evaluator(self, rules: RuleSet | None = None) -> Evaluator:
        return make_evaluator(self.evaluator_kind, rules or self.rules)

    def rulesets(self) -> Rulesets:
        return Rulesets(
            self.rules,
            {"rules": dict(self.rule_texts), "policies": self.policies_data},
            self.evaluator,
            self.calendar,
        )


def database_url(option: str | None) -> str:
    """--db wins over CASEWATCH_DATABASE_URL, which wins over the embedded default."""
    return normalise_url(option or os.environ.get("CASEWATCH_DATABASE_URL") or DEFAULT_URL)


def load_config(
    config_dir: str | None = None,
    rules_dir: str | None = None,
    *,
    overlay_config: str | None = None,
    overlay_rules: str | None = None,
) -> Config:
    """The configuration in force. The overlays (a what-if proposal) are laid over it the
    way the configuration folder is laid over the shipped files: a file they hold wins,
    a file they leave out keeps the one in force."""
    base = Path(config_dir) if config_dir else _env_config_dir()
    folders = [Path(overlay_config)] if overlay_config else []
    folders += [base] if base is not None else []
    sources: dict[str, str] = {}

    def read(name: str) -> Any:
        text, where = _read_first(folders, name)
        sources[name] = where
        try:
            return load_yaml(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{where}: not valid YAML ({exc})") from None

    settings = read("settings.yaml") or {}
    if not isinstance(settings, Mapping):
        raise ConfigError(f"{sources['settings.yaml']}: expected a mapping of settings")
    tz_name = os.environ.get("CASEWATCH_TIMEZONE") or settings.get("timezone", "Europe/London")
    nation = os.environ.get("CASEWATCH_NATION") or settings.get("nation", "england_wales")
    try:
        timezone = ZoneInfo(str(tz_name))
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"timezone '{tz_name}' is not a known IANA time zone") from None
    if nation not in NATIONS:
        raise ConfigError(f"nation '{nation}' must be one of {', '.join(NATIONS)}")
    evaluator_kind = _evaluator_setting(settings)
    try:
        matrices = Matrices(
            dash=dash_matrix_from_mapping(read("dash.yaml"), sources["dash.yaml"]),
            asb=asb_matrix_from_mapping(read("asb_matrix.yaml"), sources["asb_matrix.yaml"]),
        )
        text, sources["policies.yaml"] = _read_first(folders, "policies.yaml")
        policies_data, policies = policies_from_text(text, sources["policies.yaml"])
    except (MatrixConfigError, PolicyConfigError) as exc:
        raise ConfigError(str(exc)) from None
    try:
        routing = routing_from_mapping(read("notifications.yaml"), sources["notifications.yaml"])
    except RoutingConfigError as exc:
        raise ConfigError(str(exc)) from None
    try:
        text, sources["measures.yaml"] = _read_first(folders, "measures.yaml")
        measures = measures_from_text(text, sources["measures.yaml"])
    except MeasureConfigError as exc:
        raise ConfigError(str(exc)) from None
    try:
        retention = retention_from_mapping(read("retention.yaml"), sources["retention.yaml"])
    except RetentionConfigError as exc:
        raise ConfigError(str(exc)) from None
    review_folder = next((f for f in folders if (f / "case_review.yaml").is_file()), None)
    try:
        case_review = case_review_settings_from_mapping(
            *_case_review_section(review_folder, settings, sources), timezone
        )
    except CaseReviewConfigError as exc:
        raise ConfigError(str(exc)) from None
    rule_texts, rules = _rules(rules_dir, overlay_rules, policies, sources["policies.yaml"])
    return Config(
        timezone=timezone,
        nation=nation,
        matrices=matrices,
        policies=policies,
        rules=rules,
        evaluator_kind=evaluator_kind,
        sources=sources,
        rule_texts=rule_texts,
        policies_data=policies_data,
        routing=routing,
        measures=measures,
        retention=retention,
        case_review=case_review,
        **_deployment(settings, sources["settings.yaml"]),
    )


def _deployment(settings: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The `web:` and `sign_in:` settings, as Config's fields of those names."""
    try:
        web, sign_in = deployment_from(settings, where)
    except DeploymentConfigError as exc:
        raise ConfigError(str(exc)) from None
    return {"web": web, "sign_in": sign_in}


def _rules(
    rules_dir: str | None, overlay: str | None, policies: PolicyCatalogue, policy_source: str
) -> tuple[dict[str, str], RuleSet]:
    """The rule files' texts by name, and the ruleset they make with these policies."""
    rule_sources = read_rule_sources(rules_dir, overlay)
    try:
        rules = load_rule_files(rule_sources.values(), policies, policy_source)
    except RuleFileError as exc:
        raise ConfigError(f"the rule files have problems:\n{exc}", exc.problems) from None
    return {name: text for name, (_, text) in rule_sources.items()}, rules


def _case_review_section(
    folder: Path | None, settings: Mapping[str, Any], sources: dict[str, str]
) -> tuple[Any, str]:
    """`case_review:` in settings.yaml; a partnership may instead keep its review procedure
    in its own `case_review.yaml` (`threshold: N`, or the same `case_review:` section)."""
    if "case_review" in settings or folder is None or not (folder / "case_review.yaml").is_file():
        return settings.get("case_review"), sources["settings.yaml"]
    path = folder / "case_review.yaml"
    sources["case_review.yaml"] = str(path)
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc})") from None
    if isinstance(data, Mapping) and "case_review" in data:
        data = data["case_review"]
    return data, str(path)


def _evaluator_setting(settings: Mapping[str, Any]) -> str:
    """CASEWATCH_EVALUATOR, else settings.yaml's `evaluator`, else auto; an explicit
    `durable` where durable-rules cannot load is refused rather than quietly replaced."""
    kind = str(os.environ.get("CASEWATCH_EVALUATOR") or settings.get("evaluator", "auto"))
    if kind not in EVALUATORS:
        raise ConfigError(f"evaluator '{kind}' must be one of {', '.join(EVALUATORS)}")
    if kind == "durable" and not durable_loads():
        raise ConfigError(f"evaluator 'durable': {DURABLE_MISSING}")
    return kind


def configured_matcher(config_dir: str | None = None) -> str:
    """The active matcher of the configuration folder, without loading the rest of it."""
    folder = Path(config_dir) if config_dir else _env_config_dir()
    text, where = _read_text(folder, "settings.yaml")
    try:
        settings = load_yaml(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not valid YAML ({exc})") from None
    if not isinstance(settings, Mapping):
        raise ConfigError(f"{where}: expected a mapping of settings")
    return active_matcher(_evaluator_setting(settings))


def read_rule_texts(rules_dir: str | None = None) -> dict[str, str]:
    """The shipped rule files, with same-named files in the rules folder replacing them
    and other files there added."""
    return {name: text for name, (_, text) in read_rule_sources(rules_dir).items()}


def read_rule_sources(
    rules_dir: str | None = None, overlay: str | None = None
) -> dict[str, tuple[str, str]]:
    """Rule file name -> (where it was read from, its text): the shipped files, replaced
    or added to by the rules folder, and by the overlay folder over that. The places are
    written as `rules check` writes them, so a problem reads the same in both."""
    files = {
        entry.name: (f"casewatch/rules/{entry.name}", entry.read_text(encoding="utf-8"))
        for entry in sorted((resources.files("casewatch") / "rules").iterdir(), key=_name)
        if entry.name.endswith((".yaml", ".yml"))
    }
    for folder in (rules_dir or os.environ.get("CASEWATCH_RULES_DIR"), overlay):
        if folder:
            path = Path(folder)
            if not path.is_dir():
                raise ConfigError(f"rules folder {path} does not exist")
            for file in sorted(path.glob("*.y*ml")):
                # A folder may hold a whole proposal: its configuration files are not rules.
                if file.name not in (*KNOWN_CONFIG_FILES, *OPTIONAL_CONFIG_FILES):
                    files[file.name] = (str(file), file.read_text(encoding="utf-8"))
    return dict(sorted(files.items()))


def _name(entry: Any) -> str:
    return str(entry.name)


def _env_config_dir() -> Path | None:
    value = os.environ.get("CASEWATCH_CONFIG_DIR")
    return Path(value) if value else None


def _read_first(folders: Sequence[Path], name: str) -> tuple[str, str]:
    """A configuration file from the first folder holding it, else the shipped one."""
    for folder in folders[:-1]:
        if not folder.is_dir():
            raise ConfigError(f"configuration folder {folder} does not exist")
        if (folder / name).is_file():
            return _read_text(folder, name)
    return _read_text(folders[-1] if folders else None, name)


def _read_text(folder: Path | None, name: str) -> tuple[str, str]:
    if folder is not None:
        if not folder.is_dir():
            raise ConfigError(f"configuration folder {folder} does not exist")
        candidate = folder / name
        if candidate.is_file():
            try:
                return candidate.read_text(encoding="utf-8"), str(candidate)
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(f"{candidate}: cannot be read ({exc})") from None
    shipped = resources.files("casewatch") / "config" / name
    return shipped.read_text(encoding="utf-8"), f"casewatch/config/{name}"


KNOWN_CONFIG_FILES: Final = (
    "settings.yaml",
    "dash.yaml",
    "asb_matrix.yaml",
    "policies.yaml",
    "notifications.yaml",
    "measures.yaml",
    "retention.yaml",
)


OPTIONAL_CONFIG_FILES: Final = ("case_review.yaml",)  # read when a folder has one


def config_file_texts(config_dir: str | None = None) -> dict[str, str]:
    """Every configuration and rule file as this casewatch reads them (overrides laid over
    the shipped files): what an export carries so its cases can be replayed elsewhere."""
    folder = Path(config_dir) if config_dir else _env_config_dir()
    texts = {name: _read_text(folder, name)[0] for name in KNOWN_CONFIG_FILES}
    for name in OPTIONAL_CONFIG_FILES:
        if folder is not None and (folder / name).is_file():
            texts[name] = (folder / name).read_text(encoding="utf-8")
    texts.update({f"rules/{name}": text for name, text in read_rule_texts().items()})
    return texts


@frozen
class RulesCheck:
    files: list[str]
    rules: int
    policies: int
    version: str | None
    problems: list[str]
    matcher: str  # the rule matcher the configuration selects on this Python


def check_rules(path: str | None, config_dir: str | None = None) -> RulesCheck:
    """Validate rule and policy files: the configured ones, a folder of them, or one file
    in place of its configured namesake. Every problem names its file and line."""
    folder = Path(config_dir) if config_dir else _env_config_dir()
    policy_text, policy_source = _read_text(folder, "policies.yaml")
    texts = read_rule_texts()
    sources = {name: f"casewatch/rules/{name}" for name in texts}
    if path is not None:
        target = Path(path)
        if target.is_dir():
            local = {
                f.name: f
                for f in sorted(target.glob("*.y*ml"))
                if f.name not in (*KNOWN_CONFIG_FILES, *OPTIONAL_CONFIG_FILES)
            }
            if local:
                texts = {name: f.read_text(encoding="utf-8") for name, f in local.items()}
                sources = {name: str(f) for name, f in local.items()}
            if (target / "policies.yaml").is_file():
                policy_source = str(target / "policies.yaml")
                policy_text = (target / "policies.yaml").read_text(encoding="utf-8")
        elif target.name == "policies.yaml":
            policy_text, policy_source = target.read_text(encoding="utf-8"), str(target)
        else:
            texts[target.name] = target.read_text(encoding="utf-8")
            sources[target.name] = str(target)
    files = [policy_source, *sources.values()]
    matcher = configured_matcher(config_dir)
    try:
        _, policies = policies_from_text(policy_text, policy_source)
    except PolicyConfigError as exc:
        return RulesCheck(files, 0, 0, None, [str(exc)], matcher)
    named = [(sources[name], text) for name, text in texts.items()]
    try:
        rules = load_rule_files(named, policies, policy_source)
    except RuleFileError as exc:
        return RulesCheck(files, 0, len(policies.policies), None, exc.problems, matcher)
    return RulesCheck(files, len(rules.rules), len(policies.policies), rules.version, [], matcher)
