"""The acceptance suite's fixtures: one real WordPress 6.1.9 for the whole session.

:class:`devkit.real_wordpress.RealWordPress` starts a copy of the prepared
site (Debian's package on PHP's built-in server, a private MariaDB, the
project's must-use plugin installed) on a free loopback port. Tests make
their own posts, so they never depend on each other's leftovers.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit.real_wordpress import RealWordPress
from tests.acceptance.rest import Rest

MU_PLUGIN = Path(__file__).parents[2] / "ops" / "wordpress" / "atr-seo-meta.php"


@pytest.fixture(scope="session")
def real_wordpress() -> Iterator[RealWordPress]:
    """Real WordPress on 127.0.0.1 with ``ops/wordpress/atr-seo-meta.php`` installed."""
    with RealWordPress(mu_plugins=[MU_PLUGIN]) as site:
        yield site


@pytest.fixture
def admin(real_wordpress: RealWordPress) -> Iterator[Rest]:
    """A REST client as the administrator: sets the scene the way a person would."""
    with Rest(real_wordpress.rest_root, real_wordpress.users["admin"].token) as client:
        yield client


@pytest.fixture
def editor_token(real_wordpress: RealWordPress) -> str:
    """``BRIDGE_TOKEN`` of the editor, the role the runbook asks for."""
    return real_wordpress.users["editor"].token
