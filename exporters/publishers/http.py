"""HTTP for publishers: retries on 409/429/503 honouring the service's wait headers.

Zenodo answers 429 with `X-RateLimit-Reset` (epoch seconds) and sometimes `Retry-After`;
it answers 409 while a record is still being integrated. Both mean "the same request
will work later", so `RemoteClient` waits (the header's time, else exponential backoff)
and retries, up to `RetryPolicy.attempts`. A transport failure (connection refused or
dropped, timeout) is not retried here: whether the service acted on the request is
unknown, so the publisher's resume logic decides on the next run.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from catalog.domain.errors import PublishRemoteError

RETRY_STATUSES = frozenset({409, 429, 503})


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying; `sleep` and `clock` are replaceable (tests use a fake clock)."""

    attempts: int = 6
    backoff_s: float = 1.0
    max_wait_s: float = 120.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time


def wait_seconds(response: httpx.Response, attempt: int, policy: RetryPolicy) -> float:
    """The service's requested wait (Retry-After, X-RateLimit-Reset), else backoff."""
    retry_after = response.headers.get("retry-after")
    if retry_after:
        seconds = _retry_after_seconds(retry_after, policy.clock())
        if seconds is not None:
            return min(max(seconds, 0.0), policy.max_wait_s)
    reset = response.headers.get("x-ratelimit-reset")
    if reset:
        try:
            return min(max(float(reset) - policy.clock(), 0.0), policy.max_wait_s)
        except ValueError:
            pass
    return min(policy.backoff_s * 2**attempt, policy.max_wait_s)


def _retry_after_seconds(value: str, now: float) -> float | None:
    """Retry-After is either delta-seconds or an HTTP date."""
    try:
        return float(value)
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return parsed.timestamp() - now if parsed else None


class RemoteClient:
    """An httpx client bound to one service, with retries and readable failures."""

    def __init__(
        self,
        service: str,
        base_url: str,
        *,
        headers: dict[str, str] | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
        policy: RetryPolicy | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.service = service
        self.policy = policy or RetryPolicy()
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, auth=auth, timeout=timeout
        )

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, url: str, step: str, **kwargs: Any) -> httpx.Response:
        """Send, retrying what the service asks to retry; raise on transport failure."""
        attempt = 0
        while True:
            response = self._send(method, url, step, kwargs)
            if response.status_code not in RETRY_STATUSES or attempt + 1 >= self.policy.attempts:
                return response
            self.policy.sleep(wait_seconds(response, attempt, self.policy))
            attempt += 1

    def _send(self, method: str, url: str, step: str, kwargs: dict[str, Any]) -> httpx.Response:
        content = kwargs.get("content")
        if callable(content):  # a body factory: a fresh stream for every attempt
            kwargs = {**kwargs, "content": content()}
        try:
            return self._http.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            raise PublishRemoteError(
                f"could not reach {self.service} while {step} ({type(exc).__name__}: {exc}); "
                "nothing is lost: run the same publish command again and it resumes the "
                "same deposition"
            ) from exc
