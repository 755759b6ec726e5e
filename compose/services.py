"""The one factory: settings in, the tool's parts out, each built lazily on first use.

The CLI asks this object for what a command needs; tests build it with fakes (`chat_model=`,
`embedder=`) so the same wiring runs with and without real models.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from groundhog.core.errors import BadInput
from groundhog.core.interfaces import Embedder
from groundhog.core.settings import Settings

if TYPE_CHECKING:
    from groundhog.library.store import Library
    from groundhog.memory.chroma_server import ChromaRun
    from groundhog.memory.store import LogStore
    from groundhog.providers.client import ModelClient
    from groundhog.researchers.personas import PersonaRegistry
    from groundhog.store.database import Database
    from groundhog.store.queue import ReviewQueue


class Services:
    def __init__(
        self,
        settings: Settings,
        *,
        chat_model: Any = None,
        critic_chat_model: Any = None,
        embedder: Embedder | None = None,
        chroma_client: Any = None,
    ) -> None:
        self.settings = settings
        self._chat_model = chat_model
        self._critic_chat_model = critic_chat_model
        self._embedder = embedder
        self._chroma_client = chroma_client
        self.chroma_server: ChromaRun | None = None  # a `chroma run` of this process's own, once started

    def ensure_home(self) -> None:
        home = self.settings.home
        try:
            home.mkdir(parents=True, exist_ok=True)
            probe = home / ".write-test"
            probe.write_text("ok")
            probe.unlink()
        except OSError as exc:
            raise BadInput(f"--home: cannot write to {home}: {exc.strerror or exc}") from exc

    @cached_property
    def embedder(self) -> Embedder:
        from groundhog.memory.embeddings import CachedEmbedder

        if self._embedder is not None:
            return CachedEmbedder(self._embedder)
        from groundhog.memory.embeddings import build_embedder

        return CachedEmbedder(build_embedder(self.settings.embedding))

    @cached_property
    def chroma(self) -> Any:
        if self._chroma_client is not None:
            return self._chroma_client
        if self.chroma_server is not None:  # its heartbeat waited for here: it started with the night
            from groundhog.memory.store import chroma_settings

            return self.chroma_server.client(chroma_settings())
        if not self.settings.chroma_url:
            self.ensure_home()  # the embedded store lives in the home; a server needs none (a Ray worker)
        from groundhog.memory.store import open_chroma

        return open_chroma(self.settings.home, self.settings.chroma_url)

    def start_chroma_process(self) -> bool:
        """From now on, the home's store is served by Chroma's own server, in a process of its own
        (`chroma run`, memory/chroma_server.py): for a night with several personas at once. It starts at
        once, and opens while the night gets ready. False, and nothing changes, when the store is a
        server, injected, or already open here."""
        if self.settings.chroma_url or self._chroma_client is not None or "chroma" in self.__dict__:
            return False
        if self.chroma_server is None:
            self.ensure_home()
            from groundhog.memory.chroma_server import ChromaRun

            self.chroma_server = ChromaRun(self.settings.home / "chroma")
        return True

    @cached_property
    def log(self) -> LogStore:
        from groundhog.memory.store import LogStore

        return LogStore(self.chroma, self.embedder)

    @cached_property
    def library(self) -> Library:
        """The home's papers, in the log's store, embedded by its embedder."""
        from groundhog.library.store import library_beside

        return library_beside(self.log)

    @cached_property
    def db(self) -> Database:
        """The SQLite file in the home, or PostgreSQL when `database_url` is set: the same tables."""
        from groundhog.core.extras import require_database
        from groundhog.store.database import open_store

        require_database(self.settings.database_url)
        if not self.settings.database_url:
            self.ensure_home()
        return open_store(self.settings.home, self.settings.database_url)

    @cached_property
    def queue(self) -> ReviewQueue:
        from groundhog.store.queue import ReviewQueue

        return ReviewQueue(self.db)

    @cached_property
    def personas(self) -> PersonaRegistry:
        from groundhog.researchers.personas import PersonaRegistry

        return PersonaRegistry(self.settings.home)

    @cached_property
    def babble_model(self) -> ModelClient:
        from groundhog.providers.factory import build_model_client

        return build_model_client(self.settings, "babble", chat_model=self._chat_model)

    @cached_property
    def critic_model(self) -> ModelClient:
        if self.settings.critic is None and self._critic_chat_model is None:
            return self.babble_model  # one model, loaded once
        from groundhog.providers.factory import build_model_client

        return build_model_client(self.settings, "critic", chat_model=self._critic_chat_model or self._chat_model)

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.close()
        if self.chroma_server is not None:  # its writes in flight finish, then it ends
            self.chroma_server.close()
