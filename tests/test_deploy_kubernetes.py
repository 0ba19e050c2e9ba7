"""deploy/kubernetes/ as a cluster would take it: every manifest passes kubernetes-validate's strict
schema check (offline: the package bundles Kubernetes' schemas), the probes point at /healthz and
/readyz with a Host Django accepts, every container asks for resources, and each process runs the
Procfile's own command."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml

from bench.stack import procfile
from tests.conftest import ROOT

KUBERNETES = ROOT / "deploy" / "kubernetes"
MANIFESTS = sorted(path for path in KUBERNETES.glob("*.yaml") if path.name != "kustomization.yaml")
# A release of the last year, and the newest the validator knows.
KUBERNETES_VERSIONS = ("1.33.0", "1.37.0")


def documents() -> list[dict]:
    return [doc for path in MANIFESTS for doc in yaml.safe_load_all(path.read_text()) if doc]


def by_kind(kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in documents() if doc["kind"] == kind}


def deployment(component: str) -> dict:
    return by_kind("Deployment")[f"notifier-{component}"]


def pod_spec(workload: dict) -> dict:
    return workload["spec"]["template"]["spec"]


def main_container(workload: dict) -> dict:
    (container,) = pod_spec(workload)["containers"]
    return container


def config() -> dict[str, str]:
    return by_kind("ConfigMap")["notifier-config"]["data"]


def validate(*paths, version: str) -> subprocess.CompletedProcess:
    binary = shutil.which("kubernetes-validate")
    assert binary, "kubernetes-validate is not on PATH: `make test` installs requirements-dev.txt"
    return subprocess.run(
        [binary, "--strict", "--kubernetes-version", version, *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_manifest_passes_the_strict_schema_check(version):
    done = validate(*MANIFESTS, version=version)
    assert done.returncode == 0, done.stdout + done.stderr
    passed = re.findall(r"^INFO .* passed for resource (\S+)", done.stdout + done.stderr, re.M)
    assert len(passed) == len(documents()), done.stdout + done.stderr


def test_the_strict_check_refuses_a_field_kubernetes_does_not_have(tmp_path):
    service = yaml.safe_load((KUBERNETES / "flower.yaml").read_text().split("\n---\n")[1])
    service["spec"]["portz"] = service["spec"].pop("ports")
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(service))
    done = validate(tmp_path / "broken.yaml", version=KUBERNETES_VERSIONS[0])
    assert done.returncode != 0
    assert "'portz' was unexpected" in done.stdout + done.stderr


def test_the_kustomization_applies_every_manifest_in_one_namespace():
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == [path.name for path in MANIFESTS]
    assert kustomization["namespace"] == by_kind("Namespace")["notifier"]["metadata"]["name"]
    assert [image["name"] for image in kustomization["images"]] == ["notifier"]


@pytest.mark.parametrize("component", ["web", "worker", "beat", "flower"])
def test_each_process_runs_its_procfile_line(component):
    """Through a shell, as the Procfile's ``${VAR:-default}`` needs; ``exec`` so SIGTERM reaches the process."""
    assert main_container(deployment(component))["command"] == ["sh", "-c", f"exec {procfile()[component]}"]


def test_the_release_job_runs_the_procfiles_release_line():
    job = by_kind("Job")["notifier-release"]
    assert main_container(job)["command"] == ["sh", "-c", procfile()["release"]]
    assert pod_spec(job)["restartPolicy"] == "Never"


def test_web_probes_liveness_on_healthz_and_readiness_on_readyz_with_an_allowed_host():
    web = main_container(deployment("web"))
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    allowed = config()["ALLOWED_HOSTS"].split(",")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        headers = {h["name"]: h["value"] for h in web[probe]["httpGet"]["httpHeaders"]}
        assert headers["Host"] in allowed, f"{probe}: Django answers 400 to a Host outside ALLOWED_HOSTS"


def test_web_answers_prometheus_at_the_pods_own_address():
    """Prometheus sends the pod's address as Host; Django refuses a Host outside ALLOWED_HOSTS."""
    env = {item["name"]: item for item in main_container(deployment("web"))["env"]}
    assert env["POD_IP"]["valueFrom"] == {"fieldRef": {"fieldPath": "status.podIP"}}
    # Kubernetes expands $(NAME) from the variables before it: envFrom's ConfigMap, then POD_IP.
    assert env["ALLOWED_HOSTS"]["value"] == "$(ALLOWED_HOSTS),$(POD_IP)"
    assert list(env) == ["POD_IP", "ALLOWED_HOSTS"]


def test_worker_liveness_is_its_metrics_port():
    worker = main_container(deployment("worker"))
    (port,) = worker["ports"]
    assert port["containerPort"] == int(config()["WORKER_METRICS_PORT"]) == 9808
    assert worker["livenessProbe"]["tcpSocket"]["port"] == port["name"]


def test_only_one_beat_ever_runs():
    beat = deployment("beat")
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}


@pytest.mark.parametrize(
    "workload",
    [*by_kind("Deployment").values(), *by_kind("Job").values()],
    ids=lambda workload: workload["metadata"]["name"],
)
def test_every_container_requests_and_limits_cpu_and_memory(workload):
    spec = pod_spec(workload)
    for container in [*spec.get("initContainers", []), *spec["containers"]]:
        resources = container["resources"]
        for kind in ("requests", "limits"):
            assert set(resources[kind]) == {"cpu", "memory"}, f"{container['name']} {kind}"
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert spec["securityContext"]["runAsNonRoot"] is True


@pytest.mark.parametrize(
    "workload",
    [*by_kind("Deployment").values(), *by_kind("Job").values()],
    ids=lambda workload: workload["metadata"]["name"],
)
def test_every_container_reads_the_config_and_the_secret(workload):
    spec = pod_spec(workload)
    for container in [*spec.get("initContainers", []), *spec["containers"]]:
        sources = [next(iter(source.values()))["name"] for source in container["envFrom"]]
        assert sources == ["notifier-config", "notifier-secrets"]


def test_the_secret_holds_only_placeholders_for_the_servers_and_keys():
    secret = by_kind("Secret")["notifier-secrets"]["stringData"]
    for name in (
        "SECRET_KEY",
        "DATABASE_URL",
        "CELERY_BROKER_URL",
        "REDIS_URL",
        "NOTIFY_ENCRYPTION_KEYS",
        "METRICS_TOKEN",
    ):
        assert "change-me" in secret[name], name
    assert not set(secret) & set(config()), "a setting in both the Secret and the ConfigMap"


def test_every_setting_of_the_manifests_is_one_the_service_documents():
    documented = (ROOT / ".env.example").read_text()
    names = [*config(), *by_kind("Secret")["notifier-secrets"]["stringData"]]
    assert [name for name in names if not re.search(rf"^#? ?{name}=", documented, re.M)] == []


def test_services_expose_web_and_flower_and_prometheus_finds_every_pod():
    services = by_kind("Service")
    assert services["notifier-web"]["spec"]["ports"][0]["port"] == 8000
    assert services["notifier-flower"]["spec"]["ports"][0]["port"] == 5555
    scrape = (ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text()
    for component, port in (("web", 8000), ("worker", 9808)):
        pods = services[f"notifier-{component}-pods"]["spec"]
        assert pods["clusterIP"] == "None" and pods["ports"][0]["port"] == port
        assert f"notifier-{component}-pods.notifier.svc.cluster.local" in scrape
        annotations = deployment(component)["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/port"] == str(port)
