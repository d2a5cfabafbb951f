"""The Dockerfile's contract, and its exact CMD run from a clean virtualenv, without an engine.

tests/test_image.py builds the image with a real engine (podman or docker) and runs it; these
tests need none, so they run everywhere, in seconds:

- the contract tests read the Dockerfile (base pinned by digest, non-root user, /data volume,
  port, health check, the hashed lock installed before the code with build secrets for pip,
  what is copied, labels) and the .dockerignore;
- the end-to-end tests build what the image would contain without an engine: a virtualenv
  made only from ``requirements.lock`` (``--require-hashes --no-deps``, as the image installs
  it), a working directory holding only what the Dockerfile COPYs (filtered by
  .dockerignore), the image's ENV (volume paths moved into tmp), and run the Dockerfile's CMD
  exactly as written, then its HEALTHCHECK command, then stop it with SIGTERM as
  ``docker stop`` does. ``make docker-lint`` (part of ``make lint``) runs hadolint.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from bridge.config.localmode import LOCAL_VERIFY_TOKEN
from bridge.config.settings import Settings
from tests.conftest import wait_for
from tests.support.servers import Bridge, body_of, free_port, text

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
APP_FILES = {"bridge/", "wsgi.py", "gunicorn.conf.py"}


# --- Reading the Dockerfile ------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, RUN, COPY, …
    args: str  # everything after the keyword, continuation lines joined
    line: int


def parse_dockerfile(source: str) -> list[Instruction]:
    """Instructions in order; comments dropped, ``\\`` continuations joined (Docker's rules)."""
    instructions: list[Instruction] = []
    buffer: list[str] = []
    start = 0
    for number, raw in enumerate(source.splitlines(), 1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and buffer):
            continue  # a comment, or an empty line inside a continuation
        if not stripped:
            continue
        if not buffer:
            start = number
        if stripped.endswith("\\"):
            buffer.append(stripped[:-1].strip())
            continue
        buffer.append(stripped)
        keyword, _, args = " ".join(buffer).partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip(), start))
        buffer = []
    assert not buffer, "the Dockerfile ends inside a continuation line"
    return instructions


def exec_form(args: str) -> list[str]:
    """A JSON array of strings (exec form), or an assertion error saying what it is instead."""
    try:
        value = json.loads(args)
    except json.JSONDecodeError:
        raise AssertionError(f"not exec form (a JSON array): {args}") from None
    assert isinstance(value, list) and value and all(isinstance(v, str) for v in value), args
    return value


def copy_parts(args: str) -> tuple[list[str], str]:
    """COPY's sources and destination (flags such as --chown dropped)."""
    words = exec_form(args) if args.startswith("[") else shlex.split(args)
    words = [word for word in words if not word.startswith("--")]
    return words[:-1], words[-1]


def env_pairs(args: str) -> dict[str, str]:
    words = shlex.split(args)
    if "=" not in words[0]:  # the legacy ``ENV NAME value`` form
        return {words[0]: " ".join(words[1:])}
    return dict(word.split("=", 1) for word in words)


@dataclass(frozen=True)
class Dockerfile:
    instructions: list[Instruction]

    @classmethod
    def load(cls) -> Dockerfile:
        return cls(parse_dockerfile(DOCKERFILE.read_text()))

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def one(self, keyword: str) -> Instruction:
        found = self.all(keyword)
        assert len(found) == 1, f"expected one {keyword}, found {len(found)}"
        return found[0]

    def index(self, instruction: Instruction) -> int:
        return self.instructions.index(instruction)

    @property
    def cmd(self) -> list[str]:
        return exec_form(self.one("CMD").args)

    @property
    def env(self) -> dict[str, str]:
        env: dict[str, str] = {}
        for instruction in self.all("ENV"):
            env.update(env_pairs(instruction.args))
        return env

    @property
    def volumes(self) -> list[str]:
        paths: list[str] = []
        for instruction in self.all("VOLUME"):
            args = instruction.args
            paths += exec_form(args) if args.startswith("[") else args.split()
        return paths

    @property
    def workdir(self) -> str:
        return self.all("WORKDIR")[-1].args

    @property
    def healthcheck(self) -> tuple[dict[str, str], list[str]]:
        """The HEALTHCHECK's options (--interval=30s → {"interval": "30s"}) and its command."""
        match = re.fullmatch(r"((?:--\S+\s+)*)CMD\s+(.+)", self.one("HEALTHCHECK").args)
        assert match, "HEALTHCHECK must have options and a CMD"
        options = dict(option[2:].split("=", 1) for option in match.group(1).split())
        return options, exec_form(match.group(2))

    def copies(self) -> list[tuple[Instruction, list[str], str]]:
        return [(i, *copy_parts(i.args)) for i in self.all("COPY")]


@pytest.fixture(scope="module")
def dockerfile() -> Dockerfile:
    return Dockerfile.load()


def default_port() -> int:
    """PORT's default, as the settings read it."""
    return Settings.from_env({"BRIDGE_MODE": "local"}).web.port


# --- Reading the .dockerignore ---------------------------------------------------------------


def _glob_regex(pattern: str) -> str:
    """A .dockerignore pattern (Go's filepath.Match plus ``**``) as a regular expression."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 1 :]:
            end = pattern.index("]", i + 1)
            body = pattern[i + 1 : end]
            out.append("[" + ("^" + body[1:] if body.startswith(("^", "!")) else body) + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


def dockerignore() -> list[tuple[bool, re.Pattern[str]]]:
    """(exception?, pattern) for each rule, in order."""
    rules = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        exception = line.startswith("!")
        pattern = posixpath.normpath(line.lstrip("!").strip()).lstrip("/")
        rules.append((exception, re.compile(_glob_regex(pattern))))
    return rules


def ignored(relative: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Whether the build context leaves out ``relative`` (a path or a parent matched; last wins)."""
    parts = relative.strip("/").split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    result = False
    for exception, pattern in rules:
        if any(pattern.fullmatch(prefix) for prefix in prefixes):
            result = not exception
    return result


def context_files(source: Path) -> list[Path]:
    """The files under ``source`` (a file or a folder) that the build context would send."""
    rules = dockerignore()
    candidates = [source] if source.is_file() else sorted(source.rglob("*"))
    return [
        path
        for path in candidates
        if path.is_file() and not ignored(path.relative_to(ROOT).as_posix(), rules)
    ]


# --- The contract ----------------------------------------------------------------------------


def test_base_image_is_an_official_slim_python_pinned_by_digest(dockerfile: Dockerfile) -> None:
    (from_,) = dockerfile.all("FROM")  # one stage: what is built is what runs
    assert from_.args == "${BASE}", "FROM ${BASE}, so a build can name a mirror's copy"
    (base,) = [a for a in dockerfile.all("ARG") if a.args.startswith("BASE=")]
    assert dockerfile.index(base) < dockerfile.index(from_)
    match = re.fullmatch(r"python:3\.(\d+)-slim(?:-[a-z]+)?@sha256:[0-9a-f]{64}", base.args[5:])
    assert match, f"expected python:3.X-slim[-debian]@sha256:<digest>, got {base.args}"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    minimum = re.fullmatch(r">=\s*3\.(\d+)", project["requires-python"])
    assert minimum and int(match.group(1)) >= int(minimum.group(1)), project["requires-python"]
    source = DOCKERFILE.read_text()
    assert "imagetools inspect" in source and "crane digest" in source, "how to update it"


def test_runs_as_a_fixed_non_root_uid_that_owns_the_data_volume(dockerfile: Dockerfile) -> None:
    user = dockerfile.all("USER")[-1]
    uid, _, gid = user.args.partition(":")
    assert uid.isdigit() and gid.isdigit(), "USER uid:gid, numeric (runAsNonRoot can check it)"
    assert int(uid) != 0 and int(gid) != 0, "the bridge must not run as root"
    assert dockerfile.index(user) < dockerfile.index(dockerfile.one("CMD"))
    # every RUN happens as root, before USER; /data is created owned by the same uid:gid
    assert all(dockerfile.index(run) < dockerfile.index(user) for run in dockerfile.all("RUN"))
    creates = [run for run in dockerfile.all("RUN") if "/data" in run.args]
    assert creates and re.search(rf"\b{uid}\b", creates[0].args), "/data owned by the user"
    assert re.search(rf"useradd\b.*--uid {uid}\b", creates[0].args)


def test_the_queue_database_lives_on_the_data_volume(dockerfile: Dockerfile) -> None:
    assert dockerfile.volumes == ["/data"]
    assert dockerfile.env["BRIDGE_DB"].startswith("/data/")
    # VOLUME after the RUN that chowns /data: a new named volume copies that ownership
    volume = dockerfile.one("VOLUME")
    assert all(dockerfile.index(run) < dockerfile.index(volume) for run in dockerfile.all("RUN"))


def test_python_runs_unbuffered_and_writes_no_bytecode(dockerfile: Dockerfile) -> None:
    assert dockerfile.env["PYTHONUNBUFFERED"] == "1"
    assert dockerfile.env["PYTHONDONTWRITEBYTECODE"] == "1"
    baked = {"FB_APP_SECRET", "FB_VERIFY_TOKEN", "FB_PAGE_ACCESS_TOKEN", "AWS_SECRET_ACCESS_KEY"}
    assert not baked & set(dockerfile.env), "configuration comes from the environment only"
    assert "BRIDGE_MODE" not in dockerfile.env and "PORT" not in dockerfile.env


def test_exposes_the_default_port(dockerfile: Dockerfile) -> None:
    assert dockerfile.one("EXPOSE").args.split() == [str(default_port())]


def test_the_healthcheck_asks_healthz_with_python_alone(dockerfile: Dockerfile) -> None:
    options, command = dockerfile.healthcheck
    assert command[:2] == ["python", "-c"], "the image has python, not curl or wget"
    code = command[2]
    assert "urllib.request" in code and "127.0.0.1" in code and "/healthz" in code
    assert "os.environ.get('PORT'" in code and f"'{default_port()}'" in code
    assert options.keys() >= {"interval", "timeout", "start-period", "retries"}


def test_the_hashed_lock_is_installed_in_its_own_layer_before_the_code(
    dockerfile: Dockerfile,
) -> None:
    copies = dockerfile.copies()
    lock = [i for i, sources, _ in copies if sources == ["requirements.lock"]]
    assert len(lock) == 1, "COPY requirements.lock alone, first"
    installs = [r for r in dockerfile.all("RUN") if "pip install" in r.args]
    assert len(installs) == 1
    install = installs[0].args
    assert re.search(r"-r requirements\.lock\b", install)
    for option in ("--require-hashes", "--no-deps", "--no-cache-dir"):
        assert option in install, option
    assert "pip check" in install, "--no-deps: check that the lock is complete"
    code = [i for i, sources, _ in copies if set(sources) & APP_FILES]
    assert code
    assert (
        dockerfile.index(lock[0])
        < dockerfile.index(installs[0])
        < min(dockerfile.index(i) for i in code)
    )


def test_pip_gets_its_configuration_and_ca_bundle_as_build_secrets(
    dockerfile: Dockerfile,
) -> None:
    (install,) = [r for r in dockerfile.all("RUN") if "pip install" in r.args]
    secrets = {}
    for flag in re.findall(r"--mount=(\S+)", install.args):
        mount = dict(item.split("=", 1) for item in flag.split(","))
        assert mount.pop("type") == "secret", flag
        secrets[mount["id"]] = mount["target"]
    assert secrets == {"pipconf": "/etc/pip.conf", "cacert": "/run/secrets/cacert"}
    assert "PIP_CERT=/run/secrets/cacert" in install.args, "pip trusts the CA bundle given"
    # HTTP(S)_PROXY are predefined build arguments, kept out of the history unless declared
    assert all("PROXY" not in arg.args for arg in dockerfile.all("ARG"))


def test_copies_the_application_and_nothing_else(dockerfile: Dockerfile) -> None:
    sources = {source for _, copied, _ in dockerfile.copies() for source in copied}
    assert sources == APP_FILES | {"requirements.lock"}
    assert not dockerfile.all("ADD")
    assert dockerfile.workdir.startswith("/")


def test_cmd_is_the_gunicorn_command_of_the_readme_and_the_tests(dockerfile: Dockerfile) -> None:
    command = dockerfile.cmd
    assert command[0] == "gunicorn" and not dockerfile.all("ENTRYPOINT")
    assert f"`{' '.join(command)}`" in (ROOT / "README.md").read_text()
    server = (ROOT / "tests" / "support" / "servers.py").read_text()
    assert ", ".join(json.dumps(arg) for arg in command[1:]) in server


def test_labels_follow_the_oci_annotations(dockerfile: Dockerfile) -> None:
    labels: dict[str, str] = {}
    for label in dockerfile.all("LABEL"):
        labels.update(env_pairs(label.args))
    license_ = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"]["text"]
    assert labels["org.opencontainers.image.title"] == "messenger-lex-bridge"
    assert labels["org.opencontainers.image.licenses"] == license_
    for name in ("description", "version", "revision"):
        assert labels.get(f"org.opencontainers.image.{name}"), name


def test_the_build_context_leaves_out_secrets_data_and_tests(dockerfile: Dockerfile) -> None:
    rules = dockerignore()
    for path in (
        ".git/HEAD",
        ".venv/bin/python",
        "config.env",
        "production.env",
        "var/bridge.db",
        "bridge.db",
        "bridge.db-wal",
        "bridge/__pycache__/app.cpython-311.pyc",
        "tests/e2e/test_docker.py",
        "docs/emulator.png",
        "bench/ledger_window.py",
        ".mypy_cache/3.11/x.json",
        "requirements-dev.txt",
    ):
        assert ignored(path, rules), f"{path} would be sent to the Docker daemon"
    for _, sources, _ in dockerfile.copies():
        for source in sources:
            assert not ignored(source, rules), f"COPY {source} would find nothing"
    shipped = {p.relative_to(ROOT).as_posix() for p in context_files(ROOT / "bridge")}
    assert {"bridge/app.py", "bridge/local/sample_bot/data/conditions.json"} <= shipped
    assert any(p.startswith("bridge/local/static/") for p in shipped)


def test_the_compose_example_runs_the_image_as_documented(dockerfile: Dockerfile) -> None:
    yaml = pytest.importorskip("yaml")  # PyYAML comes with responses (requirements-dev.txt)
    compose = yaml.safe_load((ROOT / "docker-compose.example.yml").read_text())
    bridge = compose["services"]["bridge"]
    assert bridge["build"] == "." and bridge["env_file"] == "config.env"
    (volume,) = dockerfile.volumes
    (mount,) = bridge["volumes"]
    name, target = mount.split(":")
    assert target == volume and name in compose["volumes"], "a named volume on /data"
    assert "ports" not in bridge, "only the proxy reaches the bridge"
    assert bridge["restart"] in ("always", "unless-stopped")
    assert "healthcheck" not in bridge and "command" not in bridge, "both come from the image"
    graceful = Settings.from_env({"BRIDGE_MODE": "local"}).lex.read_timeout + 20
    assert float(bridge["stop_grace_period"].removesuffix("s")) > graceful
    proxy = compose["services"]["proxy"]
    assert sorted(proxy["ports"]) == ["443:443", "80:80"] and proxy["depends_on"] == ["bridge"]
    caddyfile = next(v.split(":")[0] for v in proxy["volumes"] if v.endswith("Caddyfile:ro"))
    text = (ROOT / caddyfile.removeprefix("./")).read_text()
    for limit in ("read_header", "read_body", "max_size", "request_buffers", "bridge:8000"):
        assert limit in text, f"deploy/Caddyfile: {limit}"
    # TLS: Caddy's own certificate for the domain Meta calls, kept on a volume across restarts
    assert re.search(r"^\{\$BRIDGE_DOMAIN\} \{$", text, re.MULTILINE), "the site is the domain"
    assert proxy["environment"]["BRIDGE_DOMAIN"].startswith("${BRIDGE_DOMAIN:?")
    certificates = [v for v in proxy["volumes"] if v.endswith(":/data")]
    assert len(certificates) == 1 and certificates[0].split(":")[0] in compose["volumes"]


# --- The image's CMD, run from a clean virtualenv --------------------------------------------


@pytest.fixture(scope="session")
def clean_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv with requirements.lock and nothing else, installed as the image installs
    it, built once per test session."""
    venv = tmp_path_factory.mktemp("image-venv")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=env, timeout=120)
    pip = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-input",
            "--require-hashes",
            "--no-deps",
            "-r",
            str(ROOT / "requirements.lock"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=420,
    )
    assert pip.returncode == 0, f"pip install -r requirements.lock failed:\n{pip.stderr}"
    return venv


@dataclass
class ImageRun:
    bridge: Bridge
    env: dict[str, str]  # the container's environment
    app: Path  # the image's WORKDIR
    data: Path  # the /data volume
    files_before: set[str]


def build_workdir(dockerfile: Dockerfile, workdir: Path) -> None:
    """Lay out what the COPY instructions put in WORKDIR, from the build context only."""
    for _, sources, destination in dockerfile.copies():
        target = workdir / posixpath.relpath(
            posixpath.join(dockerfile.workdir, destination), dockerfile.workdir
        )
        for source in sources:
            base = ROOT / source
            for path in context_files(base):
                if base.is_dir():
                    out = target / path.relative_to(base)
                elif destination.endswith("/") or len(sources) > 1:
                    out = target / path.name
                else:
                    out = target
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, out)


def image_environment(dockerfile: Dockerfile, venv: Path, data: Path, home: Path) -> dict[str, str]:
    """The container's environment: the image's ENV, volume paths moved to ``data``."""
    (volume,) = dockerfile.volumes
    env = {
        # the python image's own ENV (its PATH starts with the interpreter's bin folder)
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
        "LANG": "C.UTF-8",
        "HOME": str(home),  # does not exist, like the bridge user's /nonexistent
    }
    for name, value in dockerfile.env.items():
        if value == volume or value.startswith(volume + "/"):
            value = str(data) + value[len(volume) :]
        env[name] = value
    return env


def file_tree(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


@pytest.fixture(scope="module")
def image(
    dockerfile: Dockerfile, clean_venv: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ImageRun]:
    root = tmp_path_factory.mktemp("container")
    app, data = root / "app", root / "data"
    build_workdir(dockerfile, app)
    data.mkdir()
    port = free_port()
    env = {
        **image_environment(dockerfile, clean_venv, data, root / "nonexistent"),
        # what `docker run --env-file config.env` would add, for local mode
        "BRIDGE_MODE": "local",
        "PORT": str(port),
    }
    executable = shutil.which(dockerfile.cmd[0], path=env["PATH"])
    assert executable and Path(executable).parent == clean_venv / "bin", executable
    files_before = file_tree(app)
    log = root / "container.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            dockerfile.cmd,  # exactly the CMD; PATH finds the virtualenv's gunicorn
            cwd=app,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    run = ImageRun(
        Bridge(f"http://127.0.0.1:{port}", process, log, requests.Session()),
        env,
        app,
        data,
        files_before,
    )

    def listening() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"the CMD exited with {process.returncode}:\n{log.read_text()}")
        try:
            requests.get(f"{run.bridge.url}/webhook", timeout=1)
        except requests.ConnectionError:
            return False
        return True

    try:
        wait_for(listening, timeout=30, interval=0.1, what="the image's CMD to listen")
        yield run
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        run.bridge.http.close()


def run_healthcheck(
    dockerfile: Dockerfile, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    options, command = dockerfile.healthcheck
    timeout = float(options["timeout"].removesuffix("s"))
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.e2e
def test_the_cmd_answers_the_webhook_handshake(image: ImageRun) -> None:
    url = f"{image.bridge.url}/webhook"
    challenge = {"hub.mode": "subscribe", "hub.challenge": "1158201444"}
    assert requests.get(url, timeout=5).status_code == 403
    wrong = requests.get(url, params={**challenge, "hub.verify_token": "wrong"}, timeout=5)
    assert wrong.status_code == 403
    right = requests.get(
        url, params={**challenge, "hub.verify_token": LOCAL_VERIFY_TOKEN}, timeout=5
    )
    assert (right.status_code, right.text) == (200, "1158201444")


@pytest.mark.e2e
def test_the_cmd_accepts_a_signed_webhook_and_the_bot_answers(image: ImageRun) -> None:
    body = body_of(text("7000000000000001", "hello", "m_docker_1"))
    assert image.bridge.post(body, secret="not-the-app-secret").status_code == 403
    response = image.bridge.post(body)
    assert response.status_code == 200, response.text
    # delivery threads, the sample bot through boto3 and the Send API, all from the lock
    replies = wait_for(
        lambda: image.bridge.messages("7000000000000001"), timeout=30, what="the bot's answer"
    )
    assert replies[0].get("text"), replies


@pytest.mark.e2e
def test_the_healthcheck_command_sees_a_live_server(
    dockerfile: Dockerfile, image: ImageRun
) -> None:
    nobody = {**image.env, "PORT": str(free_port())}
    assert run_healthcheck(dockerfile, nobody).returncode == 1, "nothing listening: unhealthy"
    response = requests.get(f"{image.bridge.url}/healthz", timeout=5)
    check = run_healthcheck(dockerfile, image.env)
    if response.status_code == 404:
        assert check.returncode == 1, "a 404 from /healthz must read as unhealthy"
        pytest.skip("/healthz is not served yet (issue 6, part 3): 200 not checked")
    assert (response.status_code, response.text.strip().lower()) == (200, "ok")
    assert check.returncode == 0, check.stderr


@pytest.mark.e2e
def test_sigterm_stops_the_cmd_cleanly_without_writing_to_the_image(image: ImageRun) -> None:
    process = image.bridge.process
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)  # docker stop
    code = process.wait(timeout=60)
    log = image.bridge.log.read_text()
    assert code == 0, log
    assert time.monotonic() - started < 30, "an idle bridge stops at once"
    assert "Traceback" not in log, log
    # the app folder is root-owned in the image: nothing may be written there (no bytecode,
    # no var/); the queue went to the volume
    assert file_tree(image.app) == image.files_before
    assert (image.data / "bridge.db").is_file()
