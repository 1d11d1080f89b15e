"""Bot API calls over aiohttp instead of PTB's default httpx.

PTB lets a bot bring its own HTTP client (`telegram.request.BaseRequest`); this is that, and
nothing more: the calls, their data and their errors stay PTB's. The reason is CPU. Over HTTP,
httpx and httpcore took more than half of the bot's CPU per update, most of it in walking the
connection pool and checking every idle connection with a system call before each request and
after each response (`bench/http_bot.py`, `bench/NOTES.md`). aiohttp keeps its idle connections
in a queue and parses HTTP in C.

The semantics follow `HTTPXRequest`: form fields for plain calls, multipart for files, the four
timeouts (pool, connect, read, write) per call with the same defaults, `TimedOut` for a timeout
and `NetworkError` for everything else that stops a call.
"""

from __future__ import annotations

import ssl

import aiohttp
import certifi
import yarl
from aiohttp.helpers import get_env_proxy_for_url
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

Timeout = float | None
Proxy = tuple[yarl.URL | None, aiohttp.BasicAuth | None]

DEFAULT_TIMEOUT = 5.0
"""HTTPXRequest's default for the connect, read, write and pool timeouts."""
MEDIA_WRITE_TIMEOUT = 20.0
"""HTTPXRequest's write timeout for calls that upload a file."""


class AiohttpRequest(BaseRequest):
    """One aiohttp session with at most `pool_size` connections, opened when PTB initializes the
    bot (aiohttp wants the running event loop) and closed at its shutdown."""

    __slots__ = ("_pool_size", "_proxies", "_session", "_timeouts")

    def __init__(
        self,
        pool_size: int = 1,
        *,
        read_timeout: Timeout = DEFAULT_TIMEOUT,
        write_timeout: Timeout = DEFAULT_TIMEOUT,
        connect_timeout: Timeout = DEFAULT_TIMEOUT,
        pool_timeout: Timeout = 1.0,
    ) -> None:
        self._pool_size = pool_size
        self._timeouts = (read_timeout, write_timeout, connect_timeout, pool_timeout)
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[str, Proxy] = {}

    @property
    def read_timeout(self) -> Timeout:
        return self._timeouts[0]

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            # As with httpx: certifi's certificates, so a Python without system ones still
            # reaches Telegram.
            context = ssl.create_default_context(cafile=certifi.where())
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size, ssl=context),
                headers={"User-Agent": self.USER_AGENT},
                timeout=aiohttp.ClientTimeout(total=None),
            )
            self._proxies.clear()

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Timeout | object = BaseRequest.DEFAULT_NONE,
        write_timeout: Timeout | object = BaseRequest.DEFAULT_NONE,
        connect_timeout: Timeout | object = BaseRequest.DEFAULT_NONE,
        pool_timeout: Timeout | object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        files = request_data is not None and request_data.contains_files
        read, write, connect, pool = (
            default if given is BaseRequest.DEFAULT_NONE else given
            for given, default in zip(
                (read_timeout, write_timeout, connect_timeout, pool_timeout),
                self._timeouts,
                strict=True,
            )
        )
        if files and write_timeout is BaseRequest.DEFAULT_NONE:
            write = MEDIA_WRITE_TIMEOUT
        # aiohttp has no write timeout: the wait for the answer covers sending a file as well.
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=_seconds(pool),
            sock_connect=_seconds(connect),
            sock_read=_longest(_seconds(read), _seconds(write) if files else 0.0),
        )
        proxy, proxy_auth = self._proxy(url)
        try:
            async with session.request(
                method,
                url,
                data=_body(request_data),
                timeout=timeout,
                proxy=proxy,
                proxy_auth=proxy_auth,
            ) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc

    def _proxy(self, url: str) -> Proxy:
        """The proxy from HTTPS_PROXY, NO_PROXY and ~/.netrc, as httpx honoured them, looked up
        once per host: aiohttp's own `trust_env` reads the environment and ~/.netrc again for
        every request, a tenth of the bot's CPU."""
        origin = url[: url.find("/", url.find("://") + 3)]
        found = self._proxies.get(origin)
        if found is None:
            try:
                found = get_env_proxy_for_url(yarl.URL(url))
            except LookupError:
                found = (None, None)
            self._proxies[origin] = found
        return found


def _body(request_data: RequestData | None) -> aiohttp.FormData | None:
    if request_data is None:
        return None
    fields = request_data.json_parameters
    files = request_data.multipart_data if request_data.contains_files else None
    if not files:
        return aiohttp.FormData(fields) if fields else None
    form = aiohttp.FormData(fields)
    for name, (filename, content, mime) in files.items():
        form.add_field(name, content, filename=filename, content_type=mime)
    return form


def _seconds(value: Timeout | object) -> Timeout:
    return value if isinstance(value, int | float) else None


def _longest(a: Timeout, b: Timeout) -> Timeout:
    return None if a is None or b is None else max(a, b)
