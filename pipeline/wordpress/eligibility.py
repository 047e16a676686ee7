"""Which posts the automation leaves alone: in the trash, a draft, or password-protected.

A trashed post is on its way out, a draft is still being written (its title
and text will change), and a password-protected post is not meant for search
engines or social previews. The jobs skip such a post with a reason instead
of failing: nothing is wrong, and a retry would not change the answer.
"""

from __future__ import annotations

from typing import Final

from pipeline.wordpress.posts import Post

__all__ = ["SKIPPED_STATUSES", "skip_reason"]

#: Post statuses the jobs do not touch, with the reason they give.
SKIPPED_STATUSES: Final = {
    "trash": "the post is in the trash",
    "draft": "the post is a draft",
    "auto-draft": "the post is an unsaved draft",
}


def skip_reason(post: Post) -> str | None:
    """Why the jobs leave ``post`` alone, or None when they may work on it."""
    if post.status in SKIPPED_STATUSES:
        return f"{SKIPPED_STATUSES[post.status]} (status {post.status!r})"
    if post.password:
        return "the post is password-protected"
    return None
