"""Real WordPress 6.1.9 on loopback for the acceptance tests (see :mod:`.harness`)."""

from devkit.real_wordpress.harness import (
    RealWordPress,
    RealWordPressError,
    User,
    cache_root,
    prepare,
)

__all__ = ["RealWordPress", "RealWordPressError", "User", "cache_root", "prepare"]
