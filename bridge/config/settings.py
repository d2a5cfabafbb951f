"""Settings, read once from the environment.

``Settings.from_env(os.environ)`` is the only place that reads configuration. It checks every
variable and raises one ``ConfigError`` naming each problem and what the value should look
like. Secrets are kept out of ``repr``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from bridge.config import patterns
from bridge.config.pages import PageConfig, read_pages_file
from bridge.config.patterns import NO_TEXT_KINDS
from bridge.errors import ConfigError

T = TypeVar("T")

MODES = ("production", "local")
BOTS = ("lexv2", "lexv1", "local")
SESSION_IDS = ("psid", "page_psid")
QUEUES = ("sqlite", "sqs")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("json", "text")

# Local mode: the bridge signs, answers and records everything itself, on loopback.
LOCAL_APP_SECRET = "local-app-secret"
LOCAL_VERIFY_TOKEN = "local-verify-token"
LOCAL_PAGE_ACCESS_TOKEN = "local-page-token"
LOCAL_PAGE_ID = "100000000000001"
LOCAL_LEX_BOT_ID = "LOCALBOT01"
LOCAL_LEX_ALIAS_ID = "TSTALIASID"
LOCAL_PREFIX = "/local"

_GRAPH_VERSION = re.compile(r"^v\d+\.\d+$")
_URL = re.compile(r"^https?://[^\s/]+(/[^\s]*)?$")
_TOKEN = re.compile(r"^[\x21-\x7e]{16,}$")  # printable, no spaces: fits an Authorization header
DEFAULT_FORWARDED_ALLOW_IPS = "127.0.0.1,::1"  # gunicorn's own default
MAX_INPUT_TEXT = 1024  # Lex's limit on the text of a turn
HUMAN_IDLE = 24 * 3600.0  # Meta: thread control expires after 24 h without activity
_SQS_QUEUE_URL = re.compile(r"^https?://[^\s/]+/\d{12}/[A-Za-z0-9_-]{1,75}\.fifo$")
_TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")


@dataclass(frozen=True)
class AwsQueueSettings:
    """The shared queue of ``BRIDGE_QUEUE=sqs``: an SQS FIFO queue and a DynamoDB table."""

    queue_url: str
    table: str
    region: str | None = None  # AWS_REGION; None: boto3's own chain decides
    visibility_timeout: int = 30
    wait_time: int = 10


@dataclass(frozen=True)
class Settings:
    """Everything the bridge needs to know, validated."""

    app_secret: str = field(repr=False)
    verify_token: str = field(repr=False)
    page_access_token: str = field(repr=False)
    page_id: str | None = None
    app_id: str | None = None
    pages_file: Path | None = None
    pages: tuple[PageConfig, ...] = ()
    mode: str = "production"
    graph_api_url: str = "https://graph.facebook.com"
    graph_api_version: str = "v25.0"
    graph_timeout: float = 10.0
    bot: str = "lexv2"
    lex_bot_id: str = ""
    lex_bot_alias_id: str = ""
    lex_locale_id: str = "en_US"
    lex_endpoint_url: str | None = None
    lex_bot_name: str = ""
    lex_bot_alias: str = ""
    aws_region: str | None = None
    lex_read_timeout: float = 40.0
    v1_attributes: bool = False
    session_id: str = "psid"
    handover_intent: str | None = None
    human_idle: float = HUMAN_IDLE
    fallback_text: str = "Sorry, something went wrong on our side. Please try again in a moment."
    no_text_inputs: tuple[tuple[str, str], ...] = ()
    no_text_reply_kinds: frozenset[str] = frozenset()
    no_text_reply: str = "Sorry, I can only read text messages."
    sender_actions: bool = True
    db_path: Path = Path("var/bridge.db")
    queue: str = "sqlite"
    aws_queue: AwsQueueSettings | None = None
    port: int = 8000
    web_workers: int = 2
    web_threads: int = 8
    forwarded_allow_ips: str = DEFAULT_FORWARDED_ALLOW_IPS
    metrics_token: str | None = field(default=None, repr=False)
    max_body_bytes: int = 1024 * 1024
    delivery_threads: int = 4
    poll_interval: float = 0.2
    max_attempts: int = 8
    max_event_age: float = 24 * 3600.0
    answer_deadline: float = 25.0
    typing_refresh: float = 15.0
    probe_interval: float = 30.0
    record_dir: Path | None = None
    record_redact: bool = True
    log_level: str = "INFO"
    log_format: str = "json"

    @property
    def is_local(self) -> bool:
        """Local mode: Graph inbox and (with BRIDGE_BOT=local) Lex served by the bridge."""
        return self.mode == "local"

    @property
    def secret_values(self) -> list[str]:
        """The configured values that must never appear in a log line."""
        values = [self.app_secret, self.verify_token, self.page_access_token, self.metrics_token]
        values += [page.access_token for page in self.pages]
        return [value for value in values if value]

    @property
    def served_pages(self) -> frozenset[str] | None:
        """The Pages whose events are handled (None: any Page, FB_PAGE_ID unset)."""
        if self.pages:
            return frozenset(page.page_id for page in self.pages)
        return None if self.page_id is None else frozenset({self.page_id})

    def for_page(self, page: PageConfig) -> Settings:
        """One Page of the pages file seen as a single-Page setup: its id and token, its bot
        and texts where the file sets them, the environment's settings otherwise."""
        changes: dict[str, Any] = {
            "page_id": page.page_id,
            "page_access_token": page.access_token,
            "pages": (),
            "pages_file": None,
        }
        if page.bot is not None:
            bot = page.bot
            local = bot.type == "local"
            changes |= {
                "bot": bot.type,
                "lex_bot_id": LOCAL_LEX_BOT_ID if local else bot.bot_id,
                "lex_bot_alias_id": LOCAL_LEX_ALIAS_ID if local else bot.alias_id,
                "lex_locale_id": bot.locale_id or self.lex_locale_id,
                "lex_endpoint_url": f"{self.local_base_url}/lex" if local else None,
                "lex_bot_name": bot.bot_name,
                "lex_bot_alias": bot.bot_alias,
            }
        for name in (
            "fallback_text",
            "handover_intent",
            "no_text_inputs",
            "no_text_reply_kinds",
            "no_text_reply",
        ):
            value = getattr(page, name)
            if value is not None:
                changes[name] = value
        return replace(self, **changes)

    @property
    def host(self) -> str:
        """Address to listen on: loopback only in local mode."""
        return "127.0.0.1" if self.is_local else "0.0.0.0"

    @property
    def local_base_url(self) -> str:
        """Where this bridge's own local endpoints are reached."""
        return f"http://127.0.0.1:{self.port}{LOCAL_PREFIX}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Build settings from environment variables; raise ``ConfigError`` listing all problems."""
        env = _Reader(environ)
        mode = env.choice("BRIDGE_MODE", MODES, "production")
        local = mode == "local"
        port = env.integer("PORT", 8000, low=1, high=65535)
        bot = env.choice("BRIDGE_BOT", BOTS, "local" if local else "lexv2")
        if bot == "local" and not local:
            env.problem("BRIDGE_BOT=local needs BRIDGE_MODE=local (the sample bot runs only there)")
        pages_file = env.optional_path("BRIDGE_PAGES_FILE")
        queue = env.choice("BRIDGE_QUEUE", QUEUES, "sqlite")
        pages = env.pages(pages_file, local=local)
        # The environment's bot is needed unless every Page of the file names its own.
        lex = _lex_settings(
            env, bot, port, required=pages_file is None or any(p.bot is None for p in pages)
        )
        settings = cls(
            app_secret=env.secret(
                "FB_APP_SECRET",
                LOCAL_APP_SECRET if local else None,
                "the App Secret from App settings › Basic",
            ),
            verify_token=env.secret(
                "FB_VERIFY_TOKEN",
                LOCAL_VERIFY_TOKEN if local else None,
                "any string you also type into the webhook's Verify Token",
            ),
            page_access_token=_page_token(env, local=local, pages_file=pages_file),
            page_id=_page_id(env, pages_file),
            app_id=env.matching(
                "FB_APP_ID", patterns.APP_ID, "digits, e.g. 1517776481860111", None
            ),
            pages_file=pages_file,
            pages=pages,
            mode=mode,
            graph_api_url=env.matching(
                "FB_GRAPH_API_URL",
                _URL,
                "a URL such as https://graph.facebook.com",
                f"http://127.0.0.1:{port}{LOCAL_PREFIX}/graph"
                if local
                else "https://graph.facebook.com",
            ).rstrip("/"),
            graph_api_version=env.matching(
                "FB_GRAPH_API_VERSION", _GRAPH_VERSION, "a pinned version such as v25.0", "v25.0"
            ),
            graph_timeout=env.number("FB_GRAPH_TIMEOUT", 10.0, low=0.5, high=120),
            bot=bot,
            lex_bot_id=lex.bot_id,
            lex_bot_alias_id=lex.alias_id,
            lex_locale_id=lex.locale,
            lex_endpoint_url=lex.endpoint_url,
            lex_bot_name=lex.bot_name,
            lex_bot_alias=lex.bot_alias,
            # botocore reads only AWS_DEFAULT_REGION; AWS_REGION (what other SDKs and the CLI
            # read first) is passed on explicitly. Unset: boto3's own chain decides.
            aws_region=env.text("AWS_REGION", "") or None,
            lex_read_timeout=env.number("LEX_READ_TIMEOUT", 40.0, low=31, high=300),
            v1_attributes=env.boolean("BRIDGE_V1_ATTRIBUTES", False),
            session_id=env.choice("BRIDGE_SESSION_ID", SESSION_IDS, "psid"),
            handover_intent=env.matching(
                "BRIDGE_HANDOVER_INTENT", patterns.INTENT_NAME, patterns.INTENT_NAME_HINT, None
            ),
            human_idle=env.number("BRIDGE_HUMAN_IDLE", HUMAN_IDLE, low=60, high=7 * 24 * 3600),
            fallback_text=env.text("BRIDGE_FALLBACK_TEXT", cls.fallback_text),
            no_text_inputs=env.kind_texts("BRIDGE_NO_TEXT_INPUTS", NO_TEXT_KINDS),
            no_text_reply_kinds=env.kinds("BRIDGE_NO_TEXT_REPLY_KINDS", NO_TEXT_KINDS),
            no_text_reply=env.text("BRIDGE_NO_TEXT_REPLY", cls.no_text_reply),
            sender_actions=env.boolean("BRIDGE_SENDER_ACTIONS", True),
            db_path=Path(env.text("BRIDGE_DB", "var/bridge.db")),
            queue=queue,
            aws_queue=_aws_queue(env, queue),
            port=port,
            web_workers=env.integer("WEB_CONCURRENCY", 2, low=1, high=64),
            web_threads=env.integer("BRIDGE_WEB_THREADS", 8, low=1, high=256),
            forwarded_allow_ips=env.address_list(
                "FORWARDED_ALLOW_IPS", DEFAULT_FORWARDED_ALLOW_IPS
            ),
            metrics_token=env.matching(
                "BRIDGE_METRICS_TOKEN",
                _TOKEN,
                "at least 16 printable characters without spaces, e.g. from `openssl rand -hex 32`",
                None,
            ),
            max_body_bytes=env.integer(
                "BRIDGE_MAX_BODY_BYTES", 1024 * 1024, low=1024, high=64 * 1024 * 1024
            ),
            delivery_threads=env.integer("BRIDGE_DELIVERY_THREADS", 4, low=0, high=256),
            poll_interval=env.number("BRIDGE_POLL_INTERVAL", 0.2, low=0.01, high=10),
            max_attempts=env.integer("BRIDGE_MAX_ATTEMPTS", 8, low=1, high=100),
            max_event_age=env.number(
                "BRIDGE_MAX_EVENT_AGE", 24 * 3600.0, low=60, high=30 * 24 * 3600
            ),
            answer_deadline=env.number("BRIDGE_ANSWER_DEADLINE", 25.0, low=1, high=29),
            typing_refresh=env.number("BRIDGE_TYPING_REFRESH", 15.0, low=1, high=19),
            probe_interval=env.number("BRIDGE_PROBE_INTERVAL", 30.0, low=1, high=3600),
            record_dir=env.optional_path("BRIDGE_RECORD_DIR"),
            record_redact=env.boolean("BRIDGE_RECORD_REDACT", True),
            log_level=env.choice("LOG_LEVEL", LOG_LEVELS, "INFO", upper=True),
            log_format=env.choice("LOG_FORMAT", LOG_FORMATS, "json"),
        )
        if env.problems:
            raise ConfigError(env.problems)
        return settings


def aws_queue_settings(environ: Mapping[str, str]) -> AwsQueueSettings | None:
    """The SQS queue and table alone (for ``bridge queue`` and ``init-aws``, which need no
    Page or bot); None unless ``BRIDGE_QUEUE=sqs``. Raises ``ConfigError`` listing problems."""
    env = _Reader(environ)
    settings = _aws_queue(env, env.choice("BRIDGE_QUEUE", QUEUES, "sqlite"))
    if env.problems:
        raise ConfigError(env.problems)
    return settings


def _aws_queue(env: _Reader, queue: str) -> AwsQueueSettings | None:
    """BRIDGE_QUEUE=sqs: the queue's URL and the table's name are required. Otherwise they must
    be unset: containers that each use their own SQLite file share nothing."""
    if queue != "sqs":
        for name in ("BRIDGE_SQS_QUEUE_URL", "BRIDGE_DYNAMODB_TABLE"):
            if env.is_set(name):
                env.problem(
                    f"{name} is set but BRIDGE_QUEUE is {queue}: set BRIDGE_QUEUE=sqs to share"
                    f" the SQS queue and DynamoDB table, or unset {name}"
                )
        return None
    url = env.matching(
        "BRIDGE_SQS_QUEUE_URL",
        _SQS_QUEUE_URL,
        "a FIFO queue's URL, e.g. https://sqs.us-east-1.amazonaws.com/123456789012/"
        "messenger-lex-bridge.fifo (`python -m bridge init-aws` prints it)",
        "",
        required=True,
    )
    table = env.matching(
        "BRIDGE_DYNAMODB_TABLE",
        _TABLE_NAME,
        "a DynamoDB table name (3-255 letters, digits, _ . -), e.g. messenger-lex-bridge",
        "",
        required=True,
    )
    return AwsQueueSettings(
        queue_url=url,
        table=table,
        region=env.text("AWS_REGION", "") or None,
        visibility_timeout=env.integer("BRIDGE_SQS_VISIBILITY_TIMEOUT", 30, low=2, high=3600),
        wait_time=env.integer("BRIDGE_SQS_WAIT_TIME", 10, low=0, high=20),
    )


class _Lex(NamedTuple):
    bot_id: str = ""
    alias_id: str = ""
    locale: str = "en_US"
    endpoint_url: str | None = None
    bot_name: str = ""
    bot_alias: str = ""


def _page_token(env: _Reader, *, local: bool, pages_file: Path | None) -> str:
    """FB_PAGE_ACCESS_TOKEN: required, unless the pages file gives each Page its token."""
    if pages_file is None:
        return env.secret(
            "FB_PAGE_ACCESS_TOKEN",
            LOCAL_PAGE_ACCESS_TOKEN if local else None,
            "the Page access token (starts with EAA…)",
        )
    if env.is_set("FB_PAGE_ACCESS_TOKEN"):
        env.problem(
            "FB_PAGE_ACCESS_TOKEN is set together with BRIDGE_PAGES_FILE: give that Page its"
            " access_token in the file instead, and unset FB_PAGE_ACCESS_TOKEN"
        )
    return ""


def _page_id(env: _Reader, pages_file: Path | None) -> str | None:
    """FB_PAGE_ID: optional (local mode too: recorded deliveries for any Page can be
    replayed); with a pages file, the file says which Pages are served."""
    if pages_file is not None and env.is_set("FB_PAGE_ID"):
        env.problem(
            "FB_PAGE_ID is set together with BRIDGE_PAGES_FILE: the file lists the Pages served;"
            " unset FB_PAGE_ID"
        )
        return None
    return env.matching("FB_PAGE_ID", patterns.PAGE_ID, patterns.PAGE_ID_HINT, None)


def _lex_settings(env: _Reader, bot: str, port: int, *, required: bool = True) -> _Lex:
    """The chosen backend's bot: V2 ids, locale and endpoint override, or V1 name and alias.
    ``required``: a missing id is a problem (not when every Page of the file has its bot)."""
    locale = env.matching("LEX_LOCALE_ID", patterns.LOCALE, patterns.LOCALE_HINT, "en_US")
    if bot == "local":
        return _Lex(
            LOCAL_LEX_BOT_ID,
            LOCAL_LEX_ALIAS_ID,
            locale,
            f"http://127.0.0.1:{port}{LOCAL_PREFIX}/lex",
        )
    if bot == "lexv1":
        name = env.matching(
            "LEX_BOT_NAME",
            patterns.LEX_V1_BOT_NAME,
            patterns.LEX_V1_BOT_NAME_HINT,
            "",
            required=required,
        )
        alias = env.matching(
            "LEX_BOT_ALIAS",
            patterns.LEX_V1_ALIAS,
            patterns.LEX_V1_ALIAS_HINT,
            "",
            required=required,
        )
        return _Lex(locale=locale, bot_name=name, bot_alias=alias)
    bot_id = env.matching(
        "LEX_BOT_ID", patterns.LEX_BOT_ID, patterns.LEX_BOT_ID_HINT, "", required=required
    )
    alias_id = env.matching(
        "LEX_BOT_ALIAS_ID",
        patterns.LEX_ALIAS_ID,
        patterns.LEX_ALIAS_ID_HINT,
        "",
        required=required,
    )
    return _Lex(bot_id, alias_id, locale)


class _Reader:
    """Reads variables and collects every problem instead of stopping at the first."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        self.problems: list[str] = []

    def problem(self, message: str) -> None:
        self.problems.append(message)

    def _raw(self, name: str) -> str | None:
        value = self._environ.get(name)
        if value is None or value.strip() == "":
            return None
        return value.strip()

    def is_set(self, name: str) -> bool:
        return self._raw(name) is not None

    def text(self, name: str, default: str) -> str:
        return self._raw(name) or default

    def pages(self, path: Path | None, *, local: bool) -> tuple[PageConfig, ...]:
        """The pages file's Pages (see bridge.config.pages), its problems added to the others."""
        if path is None:
            return ()
        pages, problems = read_pages_file(path, local=local)
        self.problems += problems
        return pages

    def optional_path(self, name: str) -> Path | None:
        value = self._raw(name)
        return None if value is None else Path(value)

    def address_list(self, name: str, default: str) -> str:
        """Comma-separated IP addresses or networks (``10.0.0.0/8``), or ``*`` for any."""
        value = self._raw(name)
        if value is None:
            return default
        entries = [entry.strip() for entry in value.split(",") if entry.strip()]
        for entry in entries:
            if entry == "*":
                continue
            try:
                ipaddress.ip_network(entry)
            except ValueError:
                self.problem(
                    f"{name} has {entry!r}: expected IP addresses or networks separated by"
                    " commas (e.g. 127.0.0.1,10.0.0.0/8), or *"
                )
        return ",".join(entries) or default

    def secret(self, name: str, default: str | None, hint: str) -> str:
        value = self._raw(name) or default
        if value is None:
            self.problem(f"{name} is missing: set it to {hint}")
            return ""
        return value

    def matching(
        self, name: str, pattern: re.Pattern[str], hint: str, default: T, *, required: bool = False
    ) -> str | T:
        value = self._raw(name)
        if value is None:
            if required:
                self.problem(f"{name} is missing: set it to {hint}")
            return default
        if not pattern.match(value):
            self.problem(f"{name} is malformed: expected {hint}")
        return value

    def choice(
        self, name: str, options: tuple[str, ...], default: str, *, upper: bool = False
    ) -> str:
        value = self._raw(name)
        if value is None:
            return default
        value = value.upper() if upper else value.lower()
        if value not in options:
            self.problem(f"{name}={value!r} is not allowed: expected one of {', '.join(options)}")
            return default
        return value

    def _parsed(self, name: str, default: T, parse: Callable[[str], T], hint: str) -> T:
        value = self._raw(name)
        if value is None:
            return default
        try:
            return parse(value)
        except ValueError:
            self.problem(f"{name}={value!r} is malformed: expected {hint}")
            return default

    def integer(self, name: str, default: int, *, low: int, high: int) -> int:
        hint = f"a whole number from {low} to {high}"
        number = self._parsed(name, default, int, hint)
        if not low <= number <= high:
            self.problem(f"{name}={number} is out of range: expected {hint}")
        return number

    def number(self, name: str, default: float, *, low: float, high: float) -> float:
        hint = f"a number from {low:g} to {high:g}"
        number = self._parsed(name, default, float, hint)
        if not low <= number <= high:
            self.problem(f"{name}={number:g} is out of range: expected {hint}")
        return number

    def kinds(self, name: str, known: tuple[str, ...]) -> frozenset[str]:
        """Comma-separated names from ``known``, or ``all`` for every one of them."""
        value = self._raw(name)
        if value is None:
            return frozenset()
        names = [part.strip().lower() for part in value.split(",") if part.strip()]
        if names == ["all"]:
            return frozenset(known)
        for unknown in [entry for entry in names if entry not in known]:
            self.problem(
                f"{name} has {unknown!r}: expected all, or some of {', '.join(known)}"
                " separated by commas"
            )
        return frozenset(entry for entry in names if entry in known)

    def kind_texts(self, name: str, known: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
        """``kind=text`` pairs separated by commas, each kind from ``known``."""
        value = self._raw(name)
        if value is None:
            return ()
        pairs: dict[str, str] = {}
        for part in (part for part in value.split(",") if part.strip()):
            kind, equals, text = (piece.strip() for piece in part.partition("="))
            kind = kind.lower()
            if not equals or kind not in known or not text or len(text) > MAX_INPUT_TEXT:
                self.problem(
                    f"{name} has {part.strip()!r}: expected kind=text pairs separated by commas,"
                    f" each kind one of {', '.join(known)} and each text 1-{MAX_INPUT_TEXT}"
                    " characters without commas, e.g. image=photo,like=yes"
                )
                continue
            pairs[kind] = text
        return tuple(pairs.items())

    def boolean(self, name: str, default: bool) -> bool:
        def parse(value: str) -> bool:
            lowered = value.lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)

        return self._parsed(name, default, parse, "true or false")
