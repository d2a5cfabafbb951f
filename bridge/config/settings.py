"""Settings, read once from the environment.

``Settings.from_env(os.environ)`` is the only place that reads configuration. Each group of
settings (the Graph side, the Lex side, the conversation, delivery, the web server, the
queue, logging) has its own module with its fields and its reader; ``from_env`` assembles
them, and raises one ``ConfigError`` naming each problem of every group and what the value
should look like. Secrets are kept out of ``repr``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bridge.config.conversation import ConversationSettings, read_conversation
from bridge.config.delivery import DeliverySettings, read_delivery
from bridge.config.env import EnvReader
from bridge.config.graph import GraphSettings, read_graph
from bridge.config.lex import LexSettings, page_lex, read_backend, read_bot, read_lex
from bridge.config.localmode import local_base_url
from bridge.config.logs import LogSettings, read_log
from bridge.config.pages import PageConfig, read_pages_file
from bridge.config.queue import QueueSettings, read_kind, read_queue
from bridge.config.web import WebSettings, read_port, read_recording, read_web
from bridge.errors import ConfigError

MODES = ("production", "local")
# What a Page of the pages file may set for itself (None there: the environment's value).
PAGE_CONVERSATION = (
    "fallback_text",
    "handover_intent",
    "no_text_inputs",
    "no_text_reply_kinds",
    "no_text_reply",
)


@dataclass(frozen=True)
class Settings:
    """Everything the bridge needs to know, validated, in one group per concern."""

    graph: GraphSettings
    lex: LexSettings = field(default_factory=LexSettings)
    conversation: ConversationSettings = field(default_factory=ConversationSettings)
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    web: WebSettings = field(default_factory=WebSettings)
    queue: QueueSettings = field(default_factory=QueueSettings)
    log: LogSettings = field(default_factory=LogSettings)
    mode: str = "production"
    pages_file: Path | None = None
    pages: tuple[PageConfig, ...] = ()

    @property
    def is_local(self) -> bool:
        """Local mode: Graph inbox and (with BRIDGE_BOT=local) Lex served by the bridge."""
        return self.mode == "local"

    @property
    def secret_values(self) -> list[str]:
        """The configured values that must never appear in a log line."""
        graph = self.graph
        values: list[str | None] = [graph.app_secret, graph.verify_token, graph.page_access_token]
        values += [
            self.web.metrics_token,
            self.web.api_token,
            *(page.access_token for page in self.pages),
        ]
        return [value for value in values if value]

    @property
    def served_pages(self) -> frozenset[str] | None:
        """The Pages whose events are handled (None: any Page, FB_PAGE_ID unset)."""
        if self.pages:
            return frozenset(page.page_id for page in self.pages)
        return None if self.graph.page_id is None else frozenset({self.graph.page_id})

    def for_page(self, page: PageConfig) -> Settings:
        """One Page of the pages file seen as a single-Page setup: its id and token, its bot
        and texts where the file sets them, the environment's settings otherwise."""
        graph = replace(self.graph, page_id=page.page_id, page_access_token=page.access_token)
        lex = self.lex
        if page.bot is not None:
            lex = page_lex(lex, page.bot, local_base=self.local_base_url)
        own: dict[str, Any] = {
            name: value for name in PAGE_CONVERSATION if (value := getattr(page, name)) is not None
        }
        conversation = replace(self.conversation, **own)
        return replace(
            self, graph=graph, lex=lex, conversation=conversation, pages=(), pages_file=None
        )

    @property
    def host(self) -> str:
        """Address to listen on: loopback only in local mode."""
        return "127.0.0.1" if self.is_local else "0.0.0.0"

    @property
    def metrics_listener(self) -> tuple[str, int] | None:
        """Where the metrics listener listens (address, port); None in local mode, which
        serves /metrics on its one loopback port."""
        if self.is_local:
            return None
        return self.web.metrics_bind, self.web.metrics_port

    @property
    def local_base_url(self) -> str:
        """Where this bridge's own local endpoints are reached."""
        return local_base_url(self.web.port)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Build settings from environment variables; raise ``ConfigError`` listing all problems.

        The groups are read in the order their problems are listed (the order is pinned)."""
        env = EnvReader(environ)
        mode = env.choice("BRIDGE_MODE", MODES, "production")
        local = mode == "local"
        port = read_port(env)
        backend = read_backend(env, local=local)
        pages_file = env.optional_path("BRIDGE_PAGES_FILE")
        kind = read_kind(env)
        pages = _read_pages(env, pages_file, local=local)
        # The environment's bot is needed unless every Page of the file names its own.
        required = pages_file is None or any(page.bot is None for page in pages)
        bot = read_bot(env, backend, port, required=required)
        graph = read_graph(env, local=local, port=port, pages_file=pages_file)
        lex = read_lex(env, bot)
        conversation = read_conversation(env)
        queue = read_queue(env, kind)
        web = read_web(env, port, local=local)
        delivery = read_delivery(env)
        web = read_recording(env, web)
        settings = cls(
            graph=graph,
            lex=lex,
            conversation=conversation,
            delivery=delivery,
            web=web,
            queue=queue,
            log=read_log(env),
            mode=mode,
            pages_file=pages_file,
            pages=pages,
        )
        if env.problems:
            raise ConfigError(env.problems)
        return settings


def _read_pages(env: EnvReader, path: Path | None, *, local: bool) -> tuple[PageConfig, ...]:
    """The pages file's Pages (see bridge.config.pages), its problems added to the others."""
    if path is None:
        return ()
    pages, problems = read_pages_file(path, local=local)
    env.problems += problems
    return pages
