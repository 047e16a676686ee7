"""Build the providers and the chain from settings: the one place that knows them all."""

from __future__ import annotations

from typing import Final

import redis

from pipeline.errors import ConfigError
from pipeline.llm.chain import LlmChain
from pipeline.llm.provider import Provider
from pipeline.llm.ratelimit import Limits, SharedLimiter
from pipeline.llm.request import AnswerBounds
from pipeline.names import LLM_PROVIDERS
from pipeline.settings import Settings

__all__ = ["PROVIDERS", "build_chain", "build_provider", "provider_limits"]

#: Every provider name settings accept, in the default fallback order.
PROVIDERS: Final = LLM_PROVIDERS


def build_provider(name: str, settings: Settings) -> Provider:
    """The provider ``name`` configured from ``settings``; ConfigError names what is missing."""
    if name == "openai":
        from pipeline.llm.openai_provider import OpenAIProvider

        if not settings.openai_api_key:
            raise ConfigError("OPENAI_API_KEY is required for the openai provider")
        return OpenAIProvider(api_key=settings.openai_api_key,
                              base_url=settings.openai_base_url, model=settings.openai_model,
                              timeout_s=settings.llm_timeout_s,
                              max_output_tokens=settings.llm_max_output_tokens)
    if name == "gemini":
        from pipeline.llm.gemini_provider import GeminiProvider

        if not settings.gemini_api_key:
            raise ConfigError("GEMINI_API_KEY is required for the gemini provider")
        return GeminiProvider(api_key=settings.gemini_api_key,
                              base_url=settings.gemini_base_url,
                              api_version=settings.gemini_api_version,
                              model=settings.gemini_model, timeout_s=settings.llm_timeout_s,
                              max_output_tokens=settings.llm_max_output_tokens)
    if name == "offline":
        from pipeline.llm.offline import OfflineProvider

        return OfflineProvider()
    raise ConfigError(f"unknown LLM provider {name!r}; expected one of {', '.join(PROVIDERS)}")


def provider_limits(settings: Settings) -> dict[str, Limits]:
    """RPM and TPM per provider name, from ``ATR_<PROVIDER>_RPM`` / ``_TPM``."""
    return {"openai": Limits(settings.openai_rpm, settings.openai_tpm),
            "gemini": Limits(settings.gemini_rpm, settings.gemini_tpm)}


def build_chain(settings: Settings, client: redis.Redis,
                chain: tuple[str, ...] | None = None) -> LlmChain:
    """The chain ``chain`` (default: ``settings.llm_chain``) sharing budgets through ``client``.

    Requests that name no bounds are asked for the configured quality guide's
    (``ATR_SEO_*``), so ``seo_suggest`` and ``atr llm try`` ask what the SEO job accepts.
    """
    names = chain or settings.llm_chain
    return LlmChain([build_provider(n, settings) for n in names],
                    SharedLimiter(client, settings.llm_window_s), provider_limits(settings),
                    attempts=settings.llm_attempts, zone=settings.zone,
                    bounds=AnswerBounds.from_settings(settings))
