"""The container image, built from the Dockerfile by a real engine and run as the README says.

With podman (preferred) or docker installed and answering (``IMAGE_ENGINE`` chooses;
tests/support/image.py, which also says which options a sandboxed machine adds), the module
builds the image once (podman with ``--format docker``, as the README says) and runs it:

- the build keeps the HEALTHCHECK, and the two build secrets (a pip configuration and a CA
  bundle, each carrying a random marker) leave nothing in the image's files, history or
  configuration;
- the image's size is printed, and the Dockerfile's own layers stay within 60 MB;
- production mode (fake credentials from an ``--env-file``, ``-p 127.0.0.1:<port>:8000``,
  the /data volume): PID 1 runs as uid 10001, ``/healthz`` and the webhook handshake answer
  through the published port, ``/data`` is writable and ``/app`` is not, and the image's
  HEALTHCHECK command exits 0 inside the container (1 when pointed at a closed port; with
  podman ``podman healthcheck run`` as well);
- local mode with the README's own command (read from the README; the test adds only a
  unique ``--name`` and ``-e PORT=<free port>``): ``/healthz``, the handshake, the emulator,
  and a signed webhook posted from the host answered by the sample bot and read back from
  the local Graph inbox, all on 127.0.0.1 of the host;
- ``stop`` ends each container with exit code 0.

The build needs PyPI: pip inside the build downloads the locked packages (the image build's
own registry access; the tests themselves talk to 127.0.0.1 only). The host's CA bundle is
passed as the ``cacert`` secret (``PIP_CERT``, ``REQUESTS_CA_BUNDLE`` or ``SSL_CERT_FILE``,
else OpenSSL's default), so a machine behind a TLS-intercepting proxy builds as a user there
would. The base is the Dockerfile's pinned ``python:3.11-slim-bookworm@sha256:…`` when the
engine has it or can pull it; otherwise (no registry reachable, as in CI) a stand-in built
from Debian's own packages by tests/support/standin_base.py and passed as
``--build-arg BASE=localhost/python:3.11-slim-bookworm``. How the stand-in differs from the
real base: its interpreter is Debian's build of CPython 3.11 (3.11.2 with Debian's security
patches, linked against Debian's OpenSSL, SQLite and expat) in ``/usr/bin``, reached through
``python``/``pip`` links in ``/usr/local/bin``, instead of the latest 3.11 release built from
source into ``/usr/local``; pip is Debian's 23.0.1 (Debian's setuptools and wheel beside it)
and installs into ``/usr/local/lib/python3.11/dist-packages``, with Debian's
EXTERNALLY-MANAGED marker removed; the image has the real one's ``PATH``, ``LANG`` and
``CMD`` but not its other variables, labels or history; it is built for this machine's
architecture only, from the Debian packages of the day. Its size, and so the whole image's,
differs too; the layers the Dockerfile adds are measured the same either way.

``REQUIRE_IMAGE=1`` (set by .ci/run) turns a missing engine into an error instead of a skip.
A cold run (debootstrap, then the build) takes a few minutes; later runs reuse the stand-in
tarball in var/image/ and the engine's layer cache.
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import ssl
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import certifi
import pytest
import requests

from bridge.config.localmode import LOCAL_APP_SECRET, LOCAL_VERIFY_TOKEN
from bridge.messenger.signature import sign
from tests.conftest import wait_for
from tests.support import standin_base
from tests.support.image import (
    Engine,
    build,
    container,
    find_engine,
    healthcheck,
    image_size,
    unique_name,
)
from tests.support.servers import body_of, free_port, text

ROOT = Path(__file__).resolve().parent.parent
TAG = "localhost/messenger-lex-bridge:image-test"
OWN_LAYERS_MAX = 60 * 1000 * 1000  # bytes the Dockerfile may add to its base (issue 17)
MB = 1000 * 1000

try:
    ENGINE, WHY_NOT = find_engine(), "neither podman nor docker answers"
except RuntimeError as error:  # installed, but this machine needs what is missing
    ENGINE, WHY_NOT = None, str(error)
if ENGINE is None and os.environ.get("REQUIRE_IMAGE") == "1":  # set by .ci/run
    raise RuntimeError(f"REQUIRE_IMAGE=1 but no container engine can be used: {WHY_NOT}")

pytestmark = [pytest.mark.image, pytest.mark.skipif(ENGINE is None, reason=WHY_NOT)]


@dataclass(frozen=True)
class Built:
    engine: Engine
    base: str  # the image built on
    base_kind: str  # how it was chosen, for the printed summary
    marker: str  # inside each build secret, and nowhere in the image


@dataclass(frozen=True)
class Running:
    name: str
    url: str  # as the host reaches it
    verify_token: str

    def handshake(self, token: str) -> requests.Response:
        challenge = {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "7"}
        return requests.get(f"{self.url}/webhook", params=challenge, timeout=5)


# --- building --------------------------------------------------------------------------------


def pinned_base() -> str:
    match = re.search(r"^ARG BASE=(\S+)$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert match, "the Dockerfile pins its base in ARG BASE=…"
    return match.group(1)


def choose_base(engine: Engine) -> tuple[str, str]:
    """The pinned base if the engine has it or can pull it, else the Debian stand-in."""
    pinned = pinned_base()
    if engine.run("image", "inspect", pinned).returncode == 0:
        return pinned, "the pinned base"
    pulled = engine.run("pull", pinned, timeout=900)
    if pulled.returncode == 0:
        return pinned, "the pinned base, pulled"
    reason = (pulled.stderr.strip().splitlines() or ["no output"])[-1]
    return standin_base.ensure(list(engine.command)), f"the Debian stand-in ({reason})"


def host_ca_bundle() -> Path:
    """The CA bundle this machine's pip and requests trust."""
    for name in ("PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        if os.environ.get(name) and Path(os.environ[name]).is_file():
            return Path(os.environ[name])
    default = ssl.get_default_verify_paths().cafile
    if default and Path(default).is_file():
        return Path(default)
    return Path(certifi.where())


def build_secrets(folder: Path, marker: str) -> dict[str, Path]:
    """A harmless pip.conf and the host's CA bundle, each with ``marker`` in a comment."""
    pipconf, cacert = folder / "pip.conf", folder / "ca-bundle.pem"
    pipconf.write_text(f"[global]\n# {marker}\ntimeout = 120\n")
    cacert.write_text(f"# {marker}\n{host_ca_bundle().read_text()}")
    return {"pipconf": pipconf, "cacert": cacert}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    assert ENGINE is not None
    base, kind = choose_base(ENGINE)
    marker = f"image-test-secret-{uuid.uuid4().hex}"
    folder = tmp_path_factory.mktemp("build-secrets")
    build(ENGINE, TAG, {"BASE": base}, build_secrets(folder, marker))
    return Built(ENGINE, base, kind, marker)


def exported_files_hold(engine: Engine, image: str, needle: bytes) -> bool:
    """Whether any file of ``image`` (exported as a tar stream) contains ``needle``."""
    name = unique_name("bridge-image-export")
    engine.check("create", "--name", name, image)
    try:
        command = [*engine.command, "export", name]
        with subprocess.Popen(command, stdout=subprocess.PIPE) as export:
            assert export.stdout is not None
            tail = b""
            while chunk := export.stdout.read(1 << 20):
                if needle in tail + chunk:
                    export.kill()
                    return True
                tail = chunk[-len(needle) :]
        assert export.returncode == 0, f"{engine.name} export exited {export.returncode}"
        return False
    finally:
        engine.run("rm", "-f", "-v", name)


# --- running ---------------------------------------------------------------------------------


def logs(engine: Engine, name: str) -> str:
    done = engine.run("logs", name)
    return done.stdout + done.stderr


def wait_healthy(engine: Engine, name: str, url: str) -> None:
    """Until ``url``/healthz answers 200; fails at once if the container stops."""

    def up() -> bool:
        state = engine.inspect("container", "inspect", name)["State"]
        if not state.get("Running"):
            raise AssertionError(f"{name} stopped ({state}):\n{logs(engine, name)}")
        try:
            return requests.get(f"{url}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    wait_for(up, timeout=60, interval=0.2, what=f"{name} to answer /healthz")


def production_env(folder: Path) -> tuple[Path, str]:
    """An --env-file with production settings that start the bridge (nothing is called with
    them), and its verify token."""
    token = secrets.token_hex(16)
    settings = {
        "FB_APP_SECRET": secrets.token_hex(16),
        "FB_VERIFY_TOKEN": token,
        "FB_PAGE_ACCESS_TOKEN": f"EAA{secrets.token_hex(20)}",
        "LEX_BOT_ID": "IMAGETEST1",
        "LEX_BOT_ALIAS_ID": "TSTALIASID",
        "AWS_REGION": "us-east-1",
    }
    path = folder / "config.env"
    path.write_text("".join(f"{name}={value}\n" for name, value in settings.items()))
    return path, token


@pytest.fixture(scope="module")
def production(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    env_file, token = production_env(tmp_path_factory.mktemp("production"))
    name, port = unique_name("bridge-image-test"), free_port()
    published = ["-p", f"127.0.0.1:{port}:8000"]  # the anonymous /data volume goes with rm -v
    args = ["-d", "--name", name, "--env-file", str(env_file), *published, TAG]
    with container(built.engine, name, args):
        running = Running(name, f"http://127.0.0.1:{port}", token)
        wait_healthy(built.engine, name, running.url)
        yield running


def readme_local_command() -> list[str]:
    """The README's one-line local-mode ``docker run``, split into words."""
    lines = re.findall(r"^docker run .*--network host.*$", (ROOT / "README.md").read_text(), re.M)
    local = [line for line in lines if "BRIDGE_MODE=local" in line]
    assert len(local) == 1, f"one local-mode docker run in the README, found {local}"
    return shlex.split(local[0])


@pytest.fixture(scope="module")
def local(built: Built) -> Iterator[Running]:
    words = readme_local_command()
    assert words[:3] == ["docker", "run", "-d"] and words[-1] == "messenger-lex-bridge", words
    name, port = unique_name("bridge-image-demo"), free_port()
    options = words[3:-1]
    options[options.index("--name") + 1] = name  # the README's name, made unique
    args = ["-d", *options, "-e", f"PORT={port}", TAG]  # PORT: a free port of this machine
    with container(built.engine, name, args):
        running = Running(name, f"http://127.0.0.1:{port}", LOCAL_VERIFY_TOKEN)
        wait_healthy(built.engine, name, running.url)
        yield running


# --- the image -------------------------------------------------------------------------------


def test_the_build_keeps_the_healthcheck_and_leaves_the_secrets_out(built: Built) -> None:
    engine = built.engine
    check = healthcheck(engine, TAG)
    assert check[:3] == ["CMD", "python", "-c"] and "/healthz" in check[3], check
    history = engine.check("history", "--no-trunc", TAG)
    configuration = engine.check("image", "inspect", TAG)
    for where, found in (("history", history), ("configuration", configuration)):
        assert built.marker not in found, f"a build secret is in the image's {where}"
    environment = engine.inspect("image", "inspect", TAG)["Config"].get("Env") or []
    assert not [pair for pair in environment if pair.startswith("PIP_")], environment
    assert not exported_files_hold(engine, TAG, built.marker.encode()), "a secret's file"


def test_the_image_adds_at_most_60_mb_to_its_base(
    built: Built, capsys: pytest.CaptureFixture[str]
) -> None:
    whole = image_size(built.engine, TAG)
    own = whole - image_size(built.engine, built.base)
    with capsys.disabled():
        print(
            f"\n[image] {TAG}: {whole / MB:.1f} MB, of which the Dockerfile's own layers"
            f" {own / MB:.1f} MB, on {built.base_kind}: {built.base}"
        )
    assert 0 < own <= OWN_LAYERS_MAX, f"the Dockerfile's layers take {own / MB:.1f} MB"


# --- production mode -------------------------------------------------------------------------


def exec_python(engine: Engine, name: str, code: str, *options: str) -> str:
    """``python -c code`` inside the container, as its default user: its stdout."""
    return engine.check("exec", *options, name, "python", "-c", code).strip()


def test_it_runs_as_uid_10001_with_data_writable_and_app_read_only(
    built: Built, production: Running
) -> None:
    probe = (
        "import os\n"
        "def writable(folder):\n"
        "    try:\n"
        "        open(os.path.join(folder, 'probe'), 'w').close()\n"
        "    except PermissionError:\n"
        "        return 'read-only'\n"
        "    return 'writable'\n"
        "pid1 = [l.split()[1] for l in open('/proc/1/status') if l.startswith('Uid:')][0]\n"
        "print(pid1, os.getuid(), writable('/data'), writable('/app'),"
        " os.path.isfile('/data/bridge.db'))"
    )
    found = exec_python(built.engine, production.name, probe).split()
    assert found == ["10001", "10001", "writable", "read-only", "True"], found


def test_production_answers_through_the_published_port(production: Running) -> None:
    health = requests.get(f"{production.url}/healthz", timeout=5)
    assert (health.status_code, health.text.strip()) == (200, "ok")
    assert production.handshake("wrong-token-wrong-token").status_code == 403
    right = production.handshake(production.verify_token)
    assert (right.status_code, right.text) == (200, "7")
    assert requests.get(f"{production.url}/local/graph/inbox", timeout=5).status_code == 404


def test_the_healthcheck_runs_inside_the_container(built: Built, production: Running) -> None:
    engine = built.engine
    command = healthcheck(engine, TAG)[1:]
    assert engine.run("exec", production.name, *command).returncode == 0
    closed = engine.run("exec", "-e", "PORT=1", production.name, *command)
    assert closed.returncode == 1, "nothing listening must read as unhealthy"
    if engine.name == "podman":
        assert engine.run("healthcheck", "run", production.name).returncode == 0


# --- local mode, with the README's command ---------------------------------------------------


def test_local_mode_from_the_readme_answers_the_host(local: Running) -> None:
    assert requests.get(f"{local.url}/healthz", timeout=5).status_code == 200
    right = local.handshake(local.verify_token)
    assert (right.status_code, right.text) == (200, "7")
    emulator = requests.get(f"{local.url}/", timeout=5)
    assert emulator.status_code == 200 and emulator.headers["Content-Type"].startswith("text/html")
    psid = "7000000000000017"
    body = body_of(text(psid, "hello", "m_image_1"))
    headers = {"Content-Type": "application/json"}
    forged = {**headers, "X-Hub-Signature-256": sign("not-the-app-secret", body)}
    assert requests.post(f"{local.url}/webhook", data=body, headers=forged, timeout=10).ok is False
    signed = {**headers, "X-Hub-Signature-256": sign(LOCAL_APP_SECRET, body)}
    posted = requests.post(f"{local.url}/webhook", data=body, headers=signed, timeout=10)
    assert posted.status_code == 200, posted.text

    def replies() -> list[str]:
        inbox = requests.get(
            f"{local.url}/local/graph/inbox", params={"recipient": psid}, timeout=5
        )
        assert inbox.status_code == 200, inbox.text
        entries = inbox.json()["entries"]
        return [e["body"]["message"].get("text", "") for e in entries if "message" in e["body"]]

    answered = wait_for(replies, timeout=30, what="the sample bot's answer in the inbox")
    assert answered[0], answered


# --- stopping --------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["production", "local"])
def test_stop_ends_the_container_with_exit_code_0(
    built: Built, which: str, request: pytest.FixtureRequest
) -> None:
    running: Running = request.getfixturevalue(which)
    started = time.monotonic()
    built.engine.check("stop", "-t", "70", running.name, timeout=90)
    took = time.monotonic() - started
    state = built.engine.inspect("container", "inspect", running.name)["State"]
    output = logs(built.engine, running.name)
    assert state["ExitCode"] == 0, output
    assert took < 30, f"an idle bridge stops at once, not after {took:.1f} s"
    assert "Traceback" not in output, output
