"""RSS/Atom over HTTP: every feed concurrently, with a total deadline, a size cap and conditional GET."""

from __future__ import annotations

import asyncio
import http as http_status
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Literal, TypeVar

import httpx

from myassistant.core import http
from myassistant.core.retry import RetryPolicy, retry_after_seconds

MAX_FEED_BYTES = 5 * 1024 * 1024
DEFAULT_TIMEOUT_S = 15.0
DEFAULT_CONCURRENCY = 8
DEFAULT_RETRIES = 2
DEFAULT_RETRY_BACKOFF_S = 0.5
MAX_RETRY_AFTER_S = 30.0
MAX_BACKOFF_S = 8.0
# Answers worth asking again: the site is overloaded or restarting, not refusing us.
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})

Outcome = Literal["ok", "not_modified", "error"]
T = TypeVar("T")


@dataclass(frozen=True)
class FeedRequest:
    url: str
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class FetchOptions:
    timeout_s: float = DEFAULT_TIMEOUT_S
    concurrency: int = DEFAULT_CONCURRENCY
    max_bytes: int = MAX_FEED_BYTES
    retries: int = DEFAULT_RETRIES  # further attempts after a transient failure
    retry_backoff_s: float = DEFAULT_RETRY_BACKOFF_S  # doubles per retry; Retry-After wins when longer


@dataclass(frozen=True)
class FeedResponse:
    """What one feed answered: the body on 200, nothing on 304, the reason on error."""

    url: str
    outcome: Outcome
    http_status: int | None = None
    content: bytes | None = None
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None
    elapsed_ms: float = 0.0
    attempts: int = 1
    retry_after_s: float | None = None  # what the server asked for, on 429/503


class _TooLarge(Exception):
    pass


def _conditional_headers(request: FeedRequest) -> dict[str, str]:
    headers = {"Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5"}
    if request.etag:
        headers["If-None-Match"] = request.etag
    if request.last_modified:
        headers["If-Modified-Since"] = request.last_modified
    return headers


async def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    """The (decompressed) body, refusing to hold more than `max_bytes` of it."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _TooLarge
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > max_bytes:
            raise _TooLarge
    return bytes(body)


def _describe(exc: BaseException, options: FetchOptions) -> str:
    """Our own words for a failure: the exception texts can quote what the other side sent."""
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return f"timed out after {options.timeout_s:g} s"
    if isinstance(exc, _TooLarge):
        return (
            f"response too large: more than {options.max_bytes} bytes ({options.max_bytes / 2**20:g} MB cap)"
        )
    if isinstance(exc, http.NonPublicAddress):
        return f"refused: {exc} (set NEWS_ALLOW_PRIVATE_HOSTS=1 to fetch from it)"
    if isinstance(exc, httpx.TooManyRedirects):
        return "too many redirects"
    if isinstance(exc, httpx.ConnectError):
        return "TLS handshake failed" if _caused_by(exc, ssl.SSLError) else "connection failed"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the server's answer is not valid HTTP"
    return f"request failed ({type(exc).__name__})"


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _status_text(status: int) -> str:
    """`HTTP 404 Not Found`, with the standard phrase rather than the one the server sent."""
    try:
        return f"HTTP {status} {http_status.HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


async def _fetch_one(client: httpx.AsyncClient, request: FeedRequest, options: FetchOptions) -> FeedResponse:
    """One feed, asked again after a transient failure (connection, 429, 5xx) with backoff."""
    started = time.perf_counter()
    attempt = 1
    while True:
        response, transient = await _attempt(client, request, options)
        if not transient or attempt > options.retries:
            break
        await asyncio.sleep(_backoff_s(options, attempt, response.retry_after_s))
        attempt += 1
    elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    return replace(response, elapsed_ms=elapsed_ms, attempts=attempt)


async def _attempt(
    client: httpx.AsyncClient, request: FeedRequest, options: FetchOptions
) -> tuple[FeedResponse, bool]:
    """One request, and whether its failure is worth retrying (a timeout is not: its budget is spent)."""
    try:
        # One deadline for the whole exchange: httpx's timeouts are per read, so a feed that
        # trickles bytes would otherwise never time out.
        async with asyncio.timeout(options.timeout_s):
            response = await _exchange(client, request, options)
    except (httpx.ConnectError, httpx.RemoteProtocolError) as exc:
        return FeedResponse(url=request.url, outcome="error", error=_describe(exc, options)), True
    except (httpx.HTTPError, TimeoutError, _TooLarge, httpx.InvalidURL) as exc:
        return FeedResponse(url=request.url, outcome="error", error=_describe(exc, options)), False
    return response, response.outcome == "error" and response.http_status in TRANSIENT_STATUSES


def _backoff_s(options: FetchOptions, attempt: int, retry_after_s: float | None) -> float:
    policy = RetryPolicy(
        attempts=options.retries + 1,
        backoff_base_s=options.retry_backoff_s,
        max_retry_after_s=MAX_RETRY_AFTER_S,
    )
    return policy.delay(attempt, min(retry_after_s or 0.0, MAX_RETRY_AFTER_S))


async def _exchange(client: httpx.AsyncClient, request: FeedRequest, options: FetchOptions) -> FeedResponse:
    async with client.stream("GET", request.url, headers=_conditional_headers(request)) as response:
        status = response.status_code
        if status == httpx.codes.NOT_MODIFIED:
            return FeedResponse(url=request.url, outcome="not_modified", http_status=status)
        if status >= httpx.codes.BAD_REQUEST:
            error = _status_text(status)
            return FeedResponse(
                url=request.url,
                outcome="error",
                http_status=status,
                error=error,
                retry_after_s=retry_after_seconds(response.headers),
            )
        content = await _read_capped(response, options.max_bytes)
        return FeedResponse(
            url=request.url,
            outcome="ok",
            http_status=status,
            content=content,
            content_type=response.headers.get("content-type"),
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
        )


async def fetch_all(
    requests: Sequence[FeedRequest],
    *,
    options: FetchOptions | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    on_done: Callable[[FeedResponse], None] | None = None,
    allow_private: bool = False,
) -> list[FeedResponse]:
    """Fetch every feed concurrently (at most `options.concurrency` at once), results in input order.

    Hosts that resolve to loopback, private, link-local or other non-public addresses are refused
    (redirects included) unless `allow_private`: a feed URL comes from the caller.
    """
    options = options or FetchOptions()
    limit = asyncio.Semaphore(max(1, options.concurrency))

    async def bounded(client: httpx.AsyncClient, request: FeedRequest) -> FeedResponse:
        async with limit:
            response = await _fetch_one(client, request, options)
        if on_done is not None:
            on_done(response)
        return response

    async with http.async_client(
        timeout_s=options.timeout_s,
        max_connections=max(1, options.concurrency),
        transport=transport,
        public_only=not allow_private,
    ) as client:
        return list(await asyncio.gather(*(bounded(client, request) for request in requests)))


def run_coroutine(factory: Callable[[], Awaitable[T]]) -> T:
    """Run async work from sync code: directly when no loop runs here, else in a helper thread."""

    async def main() -> T:
        return await factory()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="news-fetch") as pool:
        return pool.submit(asyncio.run, main()).result()


def fetch_all_sync(
    requests: Sequence[FeedRequest],
    *,
    options: FetchOptions | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    on_done: Callable[[FeedResponse], None] | None = None,
    allow_private: bool = False,
) -> list[FeedResponse]:
    """`fetch_all` for sync callers (routes, CLI, scheduler threads)."""
    return run_coroutine(
        lambda: fetch_all(
            requests, options=options, transport=transport, on_done=on_done, allow_private=allow_private
        )
    )
