"""The README's Deploy recipe with the real Appwrite CLI 12 against the emulator: what is uploaded, how it is
built and served, that variables survive pushes, failed builds and rollback.

The session's first deployment (fixture `deployed`) is reused; tests that push again say so and leave the
function serving a working deployment.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import time
from pathlib import Path

import pytest
import requests
from appwrite.exception import AppwriteException
from appwrite.input_file import InputFile

from devkit.emulator import Emulator
from tests.deploy.conftest import (
    FUNCTION_ID,
    PLANTED_SECRETS,
    SECRET_VALUES,
    Deployed,
    Recipe,
    functions_api,
    served_url,
    wait_until_active,
)
from tests.harness import TOKEN

pytestmark = pytest.mark.deploy


def wait_for_status(emulator: Emulator, deployment_id: str, *, timeout: float = 300) -> str:
    deadline = time.monotonic() + timeout
    while True:
        status: str = functions_api(emulator).get_deployment(FUNCTION_ID, deployment_id).status.value
        if status in ("ready", "failed"):
            return status
        assert time.monotonic() < deadline, f"deployment {deployment_id} still {status}"
        time.sleep(0.1)


def archive_of(emulator: Emulator, deployment_id: str) -> dict[str, bytes]:
    raw = functions_api(emulator).get_deployment_download(FUNCTION_ID, deployment_id)
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as tar:
        return {member.name.removeprefix("./"): tar.extractfile(member).read()  # type: ignore[union-attr]
                for member in tar.getmembers() if member.isfile()}


def expected_archive(project: Path) -> set[str]:
    """The function and nothing else: src/ (no caches), requirements.txt and schema/, minus planted secrets."""
    names = {"requirements.txt"}
    for top in ("src", "schema"):
        names |= {str(path.relative_to(project)) for path in (project / top).rglob("*")
                  if path.is_file() and "__pycache__" not in path.parts}
    return names - set(PLANTED_SECRETS)


def test_push_builds_the_archive_and_serves_it(deployed: Deployed, deploy_emulator: Emulator) -> None:
    """`appwrite push functions` uploads a deployment that is built (pip in a fresh venv) and then answers."""
    deployment = functions_api(deploy_emulator).get_deployment(FUNCTION_ID, deployed.deployment_id)
    assert deployment.status.value == "ready"
    assert "pip install --no-cache-dir -r requirements.txt" in deployment.buildlogs
    assert "appwrite-27.0.0" in deployment.buildlogs or "appwrite==27.0.0" in deployment.buildlogs
    answer = requests.get(deployed.url + "/", timeout=10)
    assert answer.status_code == 200 and answer.json()["status"] == "ok"


def test_archive_holds_only_the_function_and_no_secret(deployed: Deployed, deploy_emulator: Emulator,
                                                       project_copy: Path) -> None:
    """The uploaded archive is src/, requirements.txt and schema/ only: no .env, tooling or any secret value."""
    files = archive_of(deploy_emulator, deployed.deployment_id)
    assert set(files) == expected_archive(project_copy)
    for name, content in files.items():
        for secret in SECRET_VALUES:
            assert secret.encode() not in content, f"{name} holds a secret"


def test_secret_variables_are_set_but_never_returned(deployed: Deployed, deploy_emulator: Emulator) -> None:
    """The secret variables keep no readable value in the API, yet the deployed function checks the token."""
    variables = functions_api(deploy_emulator).list_variables(FUNCTION_ID).variables
    assert {(v.key, v.secret, v.value) for v in variables} == {("WEBHOOK_TOKEN", True, ""),
                                                               ("METRICS_TOKEN", True, "")}
    body = json.dumps({"version": "4", "status": "firing", "alerts": []})
    refused = requests.post(deployed.url + "/", data=body, headers={"Authorization": "Bearer wrong"}, timeout=10)
    assert refused.status_code == 401


def test_execution_route_runs_the_deployed_function(deployed: Deployed, deploy_emulator: Emulator) -> None:
    """POST /functions/{id}/executions answers with the deployed function's response."""
    execution = functions_api(deploy_emulator).create_execution(FUNCTION_ID, method="GET", path="/")
    assert execution.responsestatuscode == 200
    assert json.loads(execution.responsebody)["status"] == "ok"
    assert execution.deploymentid == functions_api(deploy_emulator).get(FUNCTION_ID).deploymentid


def test_unknown_function_is_function_not_found(deploy_emulator: Emulator) -> None:
    """Reading an absent function fails like Appwrite: 404 function_not_found."""
    with pytest.raises(AppwriteException) as raised:
        functions_api(deploy_emulator).get("no-such-function")
    assert (raised.value.code, raised.value.type) == (404, "function_not_found")


def test_first_push_with_an_api_key_needs_the_function_created(recipe: Recipe, deployed: Deployed) -> None:
    """As the README warns, pushing a function that does not exist yet with only an API key does not deploy."""
    config = recipe.project / "appwrite.json"
    original = config.read_text()
    try:
        config.write_text(original.replace(f'"$id": "{FUNCTION_ID}"', '"$id": "not-created-first"'))
        done = recipe.run("appwrite push functions --function-id not-created-first --force")
    finally:
        config.write_text(original)
    assert "Session not found" in done.stdout + done.stderr


def small_main(directory: Path) -> Path:
    path = directory / "main.py"
    path.write_text("def main(context):\n    return context.res.text('hello')\n")
    return path


def test_large_archive_is_chunked_and_a_failing_build_is_failed_with_its_log(
    deployed: Deployed, deploy_emulator: Emulator, tmp_path: Path
) -> None:
    """An archive over 10 MB arrives in three Content-Range chunks and downloads byte for byte; its failing build
    command makes it `failed` with the build log kept, and the active deployment keeps serving."""
    archive = tmp_path / "big.tar.gz"
    payload = tmp_path / "blob.bin"
    payload.write_bytes(os.urandom(11 * 1024 * 1024))  # random, so the gzip stays over 10 MB
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(small_main(tmp_path), arcname="src/main.py")
        tar.add(payload, arcname="src/blob.bin")
    api = functions_api(deploy_emulator)
    active = api.get(FUNCTION_ID).deploymentid
    route = "POST /functions/{functionId}/deployments"
    uploads_before = deploy_emulator.control.calls().get(route, 0)
    created = api.create_deployment(
        FUNCTION_ID, InputFile.from_path(str(archive)), activate=True, entrypoint="src/main.py",
        commands="echo building; python -c 'raise SystemExit(\"the build broke\")'",
    )
    assert archive.stat().st_size > 10 * 1024 * 1024
    assert deploy_emulator.control.calls()[route] - uploads_before == 3
    assert api.get_deployment_download(FUNCTION_ID, created.id) == archive.read_bytes()
    assert wait_for_status(deploy_emulator, created.id) == "failed"
    logs = api.get_deployment(FUNCTION_ID, created.id).buildlogs
    assert "building" in logs and "the build broke" in logs
    assert api.get(FUNCTION_ID).deploymentid == active
    assert requests.get(served_url(deploy_emulator) + "/", timeout=10).status_code == 200


def test_second_push_keeps_variables_and_rollback_restores(recipe: Recipe, deployed: Deployed,
                                                           deploy_emulator: Emulator) -> None:
    """A second README push keeps every variable; the README rollback makes the first deployment active again."""
    api = functions_api(deploy_emulator)
    before = {(v.id, v.key, v.secret) for v in api.list_variables(FUNCTION_ID).variables}
    recipe.push()
    second = wait_until_active(deploy_emulator)
    assert second != deployed.deployment_id
    assert {(v.id, v.key, v.secret) for v in api.list_variables(FUNCTION_ID).variables} == before
    # The token still opens the door (not 401) and the function is still configured (not 503).
    checked = requests.post(served_url(deploy_emulator) + "/", data="{}", timeout=10,
                            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    assert checked.status_code not in (401, 503), checked.text

    listed = recipe.block("deploy-rollback", PREVIOUS_DEPLOYMENT_ID=deployed.deployment_id)
    assert deployed.deployment_id in listed.stdout and second in listed.stdout
    assert api.get(FUNCTION_ID).deploymentid == deployed.deployment_id
    assert requests.get(served_url(deploy_emulator) + "/", timeout=10).status_code == 200
