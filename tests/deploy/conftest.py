"""Fixtures for the deploy tests: the README's Deploy recipe run with the real Appwrite CLI against an emulator.

One emulator and one copy of the repository per session (the CLI writes the project ID into `appwrite.json`,
so the checkout is never touched). The copy holds every file of the checkout plus the secret files a user
would have lying around. The README's recipe is pushed once per session and its deployment reused; pip in the
build installs from a wheelhouse kept in `.local/` when one could be filled.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from appwrite.client import Client
from appwrite.services.functions import Functions

from devkit.emulator import Emulator
from ops.provision import apply_schema
from tests.conftest import REPO_ROOT
from tests.examples.conftest import require_binary
from tests.harness import PROJECT_ID, TOKEN

FUNCTION_ID = "alert-processor"
METRICS_TOKEN = "test-metrics-token-fedcba9876543210"
CLI = REPO_ROOT / "node_modules" / ".bin" / "appwrite"
# Files a user may have next to the code, each holding a secret that must never be uploaded.
PLANTED_SECRETS = {
    ".env": f"WEBHOOK_TOKEN={TOKEN}\nMETRICS_TOKEN={METRICS_TOKEN}\n",
    ".env.production": "WEBHOOK_TOKEN=planted-env-production-secret\n",
    "prod.env": "WEBHOOK_TOKEN=planted-prod-env-secret\n",
    "token.txt": "planted-token-txt-secret\n",
    "deploy.pem": "planted-pem-secret\n",
    "tls.key": "planted-key-secret\n",
    "secrets/appwrite.json": '{"key": "planted-secrets-dir-secret"}\n',
    "src/.env": "WEBHOOK_TOKEN=planted-src-env-secret\n",
    "src/token.txt": "planted-src-token-secret\n",
    "src/secrets/key.txt": "planted-src-secrets-dir-secret\n",
    "schema/service-account.key": "planted-schema-key-secret\n",
    ".local/emulator.sqlite3": "planted-local-data-secret\n",
    ".venv/pyvenv.cfg": "home = planted-venv-secret\n",
    "node_modules/left-pad/index.js": "// planted-node-modules-secret\n",
}
SECRET_VALUES = [TOKEN, METRICS_TOKEN] + [re.findall(r"planted-[a-z-]+-secret", text)[0]
                                          for text in PLANTED_SECRETS.values() if "planted-" in text]


def _readme_blocks() -> dict[str, str]:
    """The README's Deploy commands, by the name of their `<!-- tested: NAME -->` marker."""
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("\n## Deploy\n", 1)[1].split("\n## ", 1)[0]
    found = re.findall(r"<!-- tested: ([\w-]+) -->\s*```sh\n(.*?)```", section, flags=re.DOTALL)
    return {name: "\n".join(line.strip() for line in body.splitlines()) for name, body in found}


README_BLOCKS = _readme_blocks()


@dataclass
class Recipe:
    """Runs README commands and the CLI in the project copy, as a CI job would: no tty, API key only."""

    project: Path
    environ: Mapping[str, str]

    def run(self, script: str, **extra: str) -> subprocess.CompletedProcess[str]:
        environment = {**self.environ, **extra}
        # The README's placeholder line is the one a user edits; the test fills in the same variables.
        script = "\n".join(line for line in script.splitlines() if not line.startswith("export APPWRITE_"))
        return subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=self.project, env=environment,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300, check=False)

    def block(self, name: str, **extra: str) -> subprocess.CompletedProcess[str]:
        done = self.run(README_BLOCKS[name], **extra)
        assert done.returncode == 0, f"README block {name} failed:\n{done.stdout}\n{done.stderr}"
        return done

    def push(self) -> str:
        """The README's push; returns the CLI's output after checking it reports the deployment as pushed."""
        done = self.block("deploy-push")
        output = done.stdout + done.stderr
        assert "Successfully pushed 1 functions" in output and "Error" not in output, output
        return output


@pytest.fixture(scope="session")
def appwrite_cli() -> Path:
    if not CLI.exists():
        require_binary("node")  # fails under CI, skips elsewhere, when Node is missing
        message = "node_modules/.bin/appwrite is missing: run ./dev (npm ci installs appwrite-cli 12.0.1)"
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return CLI


@pytest.fixture(scope="session")
def alertmanager_binary() -> str:
    return require_binary("prometheus-alertmanager")


def _wheelhouse() -> Path | None:
    """A directory holding wheels of requirements.txt, filled once per set of requirements, or None offline."""
    requirements = REPO_ROOT / "requirements.txt"
    digest = hashlib.sha256(requirements.read_bytes() + sys.version.encode()).hexdigest()[:16]
    wheelhouse = REPO_ROOT / ".local" / "wheelhouse" / digest
    if (wheelhouse / ".complete").exists():
        return wheelhouse
    done = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                           "-d", str(wheelhouse), "-r", str(requirements)], capture_output=True, check=False)
    if done.returncode != 0:
        return None
    (wheelhouse / ".complete").touch()
    return wheelhouse


@pytest.fixture(scope="session")
def build_from_wheelhouse() -> Iterator[None]:
    """Builds install the function's requirements from the local wheelhouse (no index) when there is one."""
    wheelhouse = _wheelhouse()
    saved = {name: os.environ.get(name) for name in ("PIP_FIND_LINKS", "PIP_NO_INDEX")}
    if wheelhouse is not None:
        os.environ["PIP_FIND_LINKS"] = str(wheelhouse)
        os.environ["PIP_NO_INDEX"] = "1"
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def deploy_emulator(build_from_wheelhouse: None) -> Iterator[Emulator]:
    with Emulator(processing_seconds=0.01) as emu:
        assert apply_schema(emu.endpoint, PROJECT_ID, emu.api_key)
        yield emu


def _checkout_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO_ROOT,
                            capture_output=True, check=True).stdout.decode()
    return [name for name in listed.split("\0") if name and (REPO_ROOT / name).is_file()]


@pytest.fixture(scope="session")
def project_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every file of the checkout, and the planted secret files, in a fresh directory."""
    project = tmp_path_factory.mktemp("project")
    for name in _checkout_files():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, project / name)
    for name, text in PLANTED_SECRETS.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text)
    return project


@pytest.fixture(scope="session")
def recipe(appwrite_cli: Path, deploy_emulator: Emulator, project_copy: Path,
           tmp_path_factory: pytest.TempPathFactory) -> Recipe:
    home = tmp_path_factory.mktemp("home")
    environ = {
        "PATH": f"{appwrite_cli.parent}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
        "HOME": str(home), "LANG": "C.UTF-8", "NO_COLOR": "1", "CI": "true",
        "APPWRITE_ENDPOINT": deploy_emulator.endpoint, "APPWRITE_PROJECT_ID": PROJECT_ID,
        "APPWRITE_API_KEY": deploy_emulator.api_key, "WEBHOOK_TOKEN": TOKEN, "METRICS_TOKEN": METRICS_TOKEN,
    }  # fmt: skip
    return Recipe(project_copy, environ)


@dataclass(frozen=True)
class Deployed:
    """The function after the README's first deploy: its first deployment ID and where it serves."""

    deployment_id: str
    url: str
    push_output: str


def functions_api(emulator: Emulator) -> Functions:
    return Functions(Client().set_endpoint(emulator.endpoint).set_project(PROJECT_ID).set_key(emulator.api_key))


def served_url(emulator: Emulator) -> str:
    """Where the emulator serves the active deployment (what it prints)."""
    import requests

    answer = requests.get(emulator.endpoint.removesuffix("/v1") + f"/_emulator/functions/{FUNCTION_ID}/url",
                          timeout=10)
    assert answer.status_code == 200, answer.text
    url: str = answer.json()["url"]
    return url


@pytest.fixture(scope="session")
def deployed(recipe: Recipe, deploy_emulator: Emulator) -> Deployed:
    """The README's recipe, once: connect, create the function and its secret variables, push."""
    recipe.block("deploy-connect")
    recipe.block("deploy-once")
    output = recipe.push()
    return Deployed(wait_until_active(deploy_emulator), served_url(deploy_emulator), output)


def wait_until_active(emulator: Emulator, *, timeout: float = 300) -> str:
    """The newest deployment's ID once it is built and serving: the CLI may report the push before the build
    (pip in a fresh virtualenv) has finished, as it does against a real Appwrite."""
    api = functions_api(emulator)
    deadline = time.monotonic() + timeout
    while True:
        newest = max(api.list_deployments(FUNCTION_ID).deployments, key=lambda d: d.createdat)
        if api.get(FUNCTION_ID).deploymentid == newest.id:
            return str(newest.id)
        assert newest.status.value != "failed", newest.buildlogs
        assert time.monotonic() < deadline, f"deployment {newest.id} still {newest.status.value}"
        time.sleep(0.2)
