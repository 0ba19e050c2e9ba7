"""deploy/prometheus/ and deploy/grafana/ as Prometheus and Grafana read them: promtool accepts the
rules and the scrape config, the rules' unit tests pass (each alert firing and not firing), and the
dashboard's every query is PromQL promtool parses, over metrics the service serves.

promtool comes from Debian's prometheus package, put in the venv by ``make`` (scripts/install-promtool.sh).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
import yaml

from tests.conftest import ROOT

PROMETHEUS = ROOT / "deploy" / "prometheus"
DASHBOARD = ROOT / "deploy" / "grafana" / "notifier.json"

# What web and the workers serve on /metrics (the README's "Monitoring"). A histogram ``h`` is queried as
# ``h_bucket``, ``h_sum``, ``h_count``.
COUNTERS = ("notifier_notifications_created_total", "notifier_deliveries_total", "notifier_deferrals_total")
HISTOGRAMS = ("notifier_delivery_duration_seconds", "notifier_lateness_seconds")
GAUGES = (
    "notifier_due_backlog",
    "notifier_oldest_due_age_seconds",
    "notifier_dead_letters",
    "notifier_breaker_open",
    "notifier_beat_heartbeat_age_seconds",
)
SERVED = {*COUNTERS, *GAUGES, *(f"{h}_{suffix}" for h in HISTOGRAMS for suffix in ("bucket", "sum", "count"))}
METRIC_NAME = re.compile(r"\bnotifier_[a-z_]+")
# Grafana's own variables, which Prometheus never sees: a range Grafana fills in.
GRAFANA_RANGES = re.compile(r"\$__(rate_)?interval|\$__range")


def promtool(*args: str, cwd=PROMETHEUS) -> subprocess.CompletedProcess:
    binary = shutil.which("promtool")
    assert binary, "promtool is not on PATH: `make test` installs it into .venv/bin (scripts/install-promtool.sh)"
    return subprocess.run([binary, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


def alert_rules() -> list[dict]:
    return [
        rule for group in yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"] for rule in group["rules"]
    ]


def panels() -> list[dict]:
    return json.loads(DASHBOARD.read_text())["panels"]


def test_promtool_accepts_the_alert_rules():
    done = promtool("check", "rules", "alerts.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in done.stdout


def test_promtool_accepts_the_scrape_config(tmp_path):
    """With the token file it names (promtool checks that it exists), as a deployment has it."""
    for name in ("prometheus.yml", "alerts.yml"):
        shutil.copy(PROMETHEUS / name, tmp_path / name)
    (tmp_path / "notifier-metrics-token").write_text("a-token\n")
    done = promtool("check", "config", "prometheus.yml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_scrape_config_has_the_jobs_the_alerts_name_and_sends_the_token():
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"notifier-web", "notifier-worker"}
    for job in jobs.values():
        assert job["authorization"] == {"type": "Bearer", "credentials_file": "notifier-metrics-token"}
    assert jobs["notifier-worker"]["dns_sd_configs"][0]["port"] == 9808  # WORKER_METRICS_PORT's default
    alerts = (PROMETHEUS / "alerts.yml").read_text()
    assert 'job="notifier-worker"' in alerts and 'job="notifier-web"' in alerts


def test_every_alert_fires_and_stays_quiet_in_the_unit_tests():
    done = promtool("test", "rules", "alerts_test.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout
    tests = yaml.safe_load((PROMETHEUS / "alerts_test.yml").read_text())["tests"]
    checks = [check for test in tests for check in test["alert_rule_test"]]
    fired = {check["alertname"] for check in checks if check["exp_alerts"]}
    quiet = {check["alertname"] for check in checks if not check["exp_alerts"]}
    names = {rule["alert"] for rule in alert_rules()}
    assert fired == names, f"never tested firing: {names - fired}"
    assert quiet == names, f"never tested staying quiet: {names - quiet}"


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: rule["alert"])
def test_every_alert_has_a_severity_and_says_where_to_look(rule):
    assert rule["labels"]["severity"] in ("warning", "critical")
    assert rule["annotations"]["summary"].startswith("notifier: ")
    description = rule["annotations"]["description"]
    assert re.search(r"runbook|admin|README|Flower", description), description


def test_the_alerts_and_the_dashboard_query_only_served_metrics():
    used = set(METRIC_NAME.findall((PROMETHEUS / "alerts.yml").read_text()))
    used |= {name for panel in panels() for target in panel["targets"] for name in METRIC_NAME.findall(target["expr"])}
    assert used - SERVED == set()
    # Each metric has a panel: the dashboard is where an alert sends the operator.
    dashboard = DASHBOARD.read_text()
    assert [name for name in (*COUNTERS, *HISTOGRAMS, *GAUGES) if name not in dashboard] == []


def test_the_dashboard_is_an_importable_model_on_a_chosen_prometheus():
    model = json.loads(DASHBOARD.read_text())
    assert model["uid"] == "notifier" and model["title"] and model["schemaVersion"] >= 36
    variables = {v["name"]: v for v in model["templating"]["list"]}
    assert variables["DS_PROMETHEUS"]["type"] == "datasource"
    assert variables["DS_PROMETHEUS"]["query"] == "prometheus"
    ids = [panel["id"] for panel in model["panels"]]
    assert len(ids) == len(set(ids))
    for panel in model["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == panel["datasource"], panel["title"]


def test_the_dashboard_has_the_operators_panels():
    titles = " | ".join(panel["title"] for panel in panels()).lower()
    for words in (
        "created per second",
        "deliveries per second, by outcome",
        "failure ratio",
        "lateness p50 / p99",
        "delivery duration",
        "due backlog",
        "oldest due",
        "dead letters",
        "breakers open",
        "deferrals",
    ):
        assert words in titles
    lateness = next(panel for panel in panels() if panel["title"].startswith("Lateness"))
    exprs = [target["expr"] for target in lateness["targets"]]
    assert [expr.split(",")[0] for expr in exprs] == ["histogram_quantile(0.5", "histogram_quantile(0.99"]


def test_every_dashboard_query_is_promql_promtool_parses(tmp_path):
    """Each query becomes a recording rule, Grafana's ranges a fixed one: ``check rules`` parses them."""
    rules = [
        {"record": f"dashboard:panel_{panel['id']}:{target['refId']}", "expr": GRAFANA_RANGES.sub("5m", target["expr"])}
        for panel in panels()
        for target in panel["targets"]
    ]
    (tmp_path / "dashboard.yml").write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    done = promtool("check", "rules", "dashboard.yml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(rules)} rules found" in done.stdout


def test_a_broken_query_is_refused(tmp_path):
    """The check above can fail: promtool parses, it does not just read YAML."""
    rule = {"record": "dashboard:broken", "expr": "sum(rate(notifier_deliveries_total[5m])"}
    (tmp_path / "broken.yml").write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": [rule]}]}))
    assert promtool("check", "rules", "broken.yml", cwd=tmp_path).returncode != 0
