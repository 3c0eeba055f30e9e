"""Integrations with vendor SDKs; each imports its vendor package only when used.

:func:`wrap` picks the integration from the client's package, so applications
write ``heron.wrap(client)`` whatever the vendor.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from heron.sdk._diagnostics import log

T = TypeVar("T")


def wrap(
    client: T,
    *,
    provider: str | None = None,
    user_id: str | None = None,
    conversation_id: str | None = None,
    app_version: str | None = None,
    prompt_version: str | None = None,
    experiment: str | None = None,
    variant: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> T:
    """Record every LLM call made through ``client``; the keyword arguments are defaults for each record.

    Supported: ``openai.OpenAI``, ``openai.AsyncOpenAI`` (and their Azure
    variants). Any other object is returned unchanged with a warning: a
    monitoring library must not stop an application from starting.
    """
    vendor = type(client).__module__.partition(".")[0]
    if vendor == "openai":
        from heron.sdk.integrations import openai

        try:
            return openai.wrap(
                client,
                provider=provider,
                user_id=user_id,
                conversation_id=conversation_id,
                app_version=app_version,
                prompt_version=prompt_version,
                experiment=experiment,
                variant=variant,
                tags=tags,
            )
        except Exception as exc:
            log.warning("wrap", "heron: could not wrap %s: %r; calls are not recorded", type(client).__name__, exc)
            return client
    log.warning("wrap", "heron: cannot wrap %s (supported: openai clients); calls are not recorded", type(client))
    return client
