"""Building and running a function deployment the way Appwrite does, from the uploaded archive alone.

`build_deployment` unpacks the archive into a fresh directory, makes a fresh virtualenv (no system site
packages) and runs the deployment's `commands` there with the function's variables in the environment.
`DeployedFunction` then serves that unpacked copy (never the working tree) with the local Open Runtimes
host, its variables as environment and the build's site-packages on `PYTHONPATH`, as the Python runtime
puts its build environment on the path.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from devkit.runtime.host import FunctionHost

BUILD_TIMEOUT_SECONDS = 900
# Variables a build may inherit from the emulator's own environment (pip's network and cache settings).
_BUILD_PASSTHROUGH = ("PATH", "HOME", "LANG", "TMPDIR", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL",
                      "PIP_FIND_LINKS", "PIP_NO_INDEX", "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY")  # fmt: skip


@dataclass(frozen=True)
class BuildResult:
    ok: bool
    logs: str
    code_dir: Path
    site_packages: Path
    seconds: float


def _safe_members(archive: tarfile.TarFile, target: Path) -> list[tarfile.TarInfo]:
    members = []
    for member in archive.getmembers():
        destination = (target / member.name).resolve()
        if not destination.is_relative_to(target.resolve()) or member.issym() or member.islnk():
            raise ValueError(f"archive entry {member.name!r} points outside the deployment")
        members.append(member)
    return members


def _site_packages(venv: Path) -> Path:
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return venv / "lib" / version / "site-packages"


def build_deployment(archive: Path, workdir: Path, commands: str, variables: Mapping[str, str]) -> BuildResult:
    """Unpack `archive` into `workdir/code`, create `workdir/venv` and run `commands`; never raises."""
    started = time.monotonic()
    code_dir = workdir / "code"
    venv = workdir / "venv"
    logs: list[str] = []
    shutil.rmtree(workdir, ignore_errors=True)
    code_dir.mkdir(parents=True)
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(code_dir, members=_safe_members(tar, code_dir), filter="data")
    except (tarfile.TarError, ValueError, OSError) as exc:
        return BuildResult(False, f"Failed to extract the deployment archive: {exc}\n", code_dir, venv, 0.0)
    logs.append("Preparing for build ...\n")
    created = subprocess.run(
        [sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True, check=False
    )
    if created.returncode != 0:
        logs.append(created.stdout + created.stderr)
        return BuildResult(False, "".join(logs), code_dir, _site_packages(venv), time.monotonic() - started)
    environment = {key: os.environ[key] for key in _BUILD_PASSTHROUGH if key in os.environ}
    environment.update(variables)
    environment["VIRTUAL_ENV"] = str(venv)
    environment["PATH"] = f"{venv / 'bin'}{os.pathsep}{environment.get('PATH', os.defpath)}"
    ok = True
    if commands.strip():
        logs.append(f"Executing: {commands}\n")
        try:
            completed = subprocess.run(
                ["bash", "-c", commands], cwd=code_dir, env=environment, capture_output=True, text=True,
                timeout=BUILD_TIMEOUT_SECONDS, check=False,
            )
            logs.append(completed.stdout + completed.stderr)
            ok = completed.returncode == 0
            if not ok:
                logs.append(f"Build failed: the commands exited with code {completed.returncode}\n")
        except subprocess.TimeoutExpired:
            ok = False
            logs.append(f"Build timed out after {BUILD_TIMEOUT_SECONDS} seconds\n")
    if ok:
        logs.append("Build finished.\n")
    return BuildResult(ok, "".join(logs), code_dir, _site_packages(venv), time.monotonic() - started)


class DeployedFunction:
    """The active deployment of one function, served over HTTP by the local runtime host."""

    def __init__(
        self,
        build: BuildResult,
        *,
        function_id: str,
        deployment_id: str,
        entrypoint: str,
        timeout_seconds: float,
        environment: Mapping[str, str],
        api_key: str,
    ) -> None:
        env = dict(environment)
        env["PYTHONPATH"] = str(build.site_packages)
        env["APPWRITE_FUNCTION_DEPLOYMENT"] = deployment_id
        self.deployment_id = deployment_id
        self._host = FunctionHost(
            build.code_dir,
            env=env,
            api_key=api_key,
            entrypoint=entrypoint,
            function_id=function_id,
            timeout_seconds=timeout_seconds,
            echo=False,
        )

    @property
    def url(self) -> str:
        return self._host.url

    def start(self) -> None:
        self._host.start()

    def stop(self) -> None:
        self._host.stop()
