"""Configuration of the decision service: environment variables `LEXGATE_*`, or CLI flags."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# `--log none` turns the decision log off; only for measuring its cost (bench/api_load.py).
NO_LOG = "none"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEXGATE_", extra="forbid")

    policies: Path = Field(Path("policies"), description="policy bundle directory")
    host: str = Field("127.0.0.1", description="address to bind")
    port: int = Field(8080, ge=0, le=65535, description="port to bind")
    log_url: str = Field(
        "sqlite:///var/lexgate.db",
        description="decision log: sqlite:///path, postgresql://…, or `none` (benchmarks only)",
    )
    keys_url: str | None = Field(
        None, description="API key store; default: the decision log's database"
    )
    max_body_bytes: int = Field(1_048_576, gt=0, description="largest request body (413 above)")
    max_batch: int = Field(1000, gt=0, description="most operations in one batch request")
    watch: bool = Field(False, description="reload the policies when their files change")
    watch_debounce_ms: int = Field(500, ge=0, description="quiet time before a watched reload")
    workers: int = Field(1, ge=1, description="server processes sharing the port")
    reload_stamp: Path | None = Field(
        None,
        description="file naming the bundle every worker must serve; set by `serve --workers` "
        "so that a reload in one worker reaches the others",
    )
    reload_poll_ms: int = Field(500, gt=0, description="how often workers read reload_stamp")
    header_timeout_s: float = Field(
        10.0,
        gt=0,
        le=3600,
        description="seconds a client has to send a request's headers (408 and close after)",
    )
    body_timeout_s: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="seconds a client has to send a request's body once its headers are in "
        "(408 after)",
    )
    keep_alive_s: float = Field(
        5.0, gt=0, le=3600, description="seconds an idle keep-alive connection stays open"
    )
    decision_timeout_s: float = Field(
        2.0,
        gt=0,
        le=600,
        description="time budget of one decision request; past it the answer is 503",
    )
    max_log_entry_bytes: int = Field(
        1_048_576,
        gt=0,
        description="largest decision log entry (operation and decision); larger is a 422",
    )
    checkpoint_every: int = Field(
        1000,
        gt=0,
        description="entries between signed checkpoints of the decision log",
    )
    playground: bool | None = Field(
        None,
        description="serve the policy playground at /playground, without a key; default: on "
        "when bound to a loopback address, off elsewhere",
    )
    signing_key: Path | None = Field(
        None,
        description="Ed25519 key signing the log's checkpoints, kept outside the database; "
        "default: `<log file>.signing-key` for SQLite, var/log-signing-key for PostgreSQL",
    )

    @property
    def log_enabled(self) -> bool:
        return self.log_url.strip().lower() != NO_LOG

    @property
    def resolved_keys_url(self) -> str:
        if self.keys_url:
            return self.keys_url
        if self.log_enabled:
            return self.log_url
        return "sqlite:///var/keys.db"

    @property
    def resolved_signing_key(self) -> Path:
        if self.signing_key is not None:
            return self.signing_key
        from .decision_log import default_signing_key

        return default_signing_key(self.log_url)


def to_environment(settings: Settings) -> dict[str, str]:
    """The `LEXGATE_*` variables that make `Settings()` equal `settings` in a worker process."""
    env = {}
    for name, value in settings.model_dump().items():
        if value is not None:
            text = str(value).lower() if isinstance(value, bool) else str(value)
            env[f"LEXGATE_{name.upper()}"] = text
    return env


def ensure_sqlite_parent(url: str) -> None:
    """Create the directory of an SQLite store (`var/` on a fresh checkout)."""
    from .decision_log import parse_store_url

    kind, target = parse_store_url(url)
    if kind == "sqlite" and target != ":memory:":
        private_directory(Path(target).parent)


def private_directory(path: Path) -> None:
    """Create `path` (and missing parents) readable by this user only (0700); an existing
    directory is left as its owner set it."""
    if not path.exists():
        path.mkdir(parents=True, mode=0o700, exist_ok=True)
        path.chmod(0o700)  # mkdir's mode is filtered by the umask
