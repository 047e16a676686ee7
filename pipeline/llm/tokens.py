"""Offline token estimates: an upper bound of what a provider will count, with no download.

``tiktoken`` fetches its tables on first use, which fails on a worker without
internet, and Gemini's tokenizer is not public. The limiter only needs an
estimate that is never below the real count, because the reservation is
corrected from the usage the API reports once the call returns. So each
Hangul syllable counts as one token (BPE vocabularies merge about two), each
run of Latin letters as one token per 3 letters (about 4 in practice), digits
as one per 2, and every other visible character as one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Final

__all__ = ["MESSAGE_OVERHEAD", "REQUEST_OVERHEAD", "estimate_request", "estimate_tokens"]

#: Tokens a chat format adds per message (role, separators), and per request.
MESSAGE_OVERHEAD: Final = 8
REQUEST_OVERHEAD: Final = 16
_PIECE: Final = re.compile(r"[가-힣]+|[A-Za-z]+|[0-9]+|\S")


def estimate_tokens(text: str) -> int:
    """An upper bound of the tokens of ``text`` for the OpenAI and Gemini tokenizers."""
    total = 0
    for match in _PIECE.finditer(text):
        piece = match.group()
        first = piece[0]
        if "가" <= first <= "힣":
            total += len(piece)
        elif first.isascii() and first.isalpha():
            total += math.ceil(len(piece) / 3)
        elif first.isascii() and first.isdigit():
            total += math.ceil(len(piece) / 2)
        else:
            total += 1
    return total


def estimate_request(texts: Iterable[str], max_output_tokens: int) -> int:
    """Tokens to reserve for one call: its messages (and schema) plus the output cap."""
    prompt = sum(estimate_tokens(t) + MESSAGE_OVERHEAD for t in texts)
    return REQUEST_OVERHEAD + prompt + max_output_tokens
