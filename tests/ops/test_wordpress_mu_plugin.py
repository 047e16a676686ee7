"""The must-use plugin ops/wordpress/atr-seo-meta.php, run by the real PHP interpreter.

No WordPress here: a small harness defines the four WordPress functions the
plugin calls, runs its ``init`` hook and reports what it registered, so the
keys, the REST flags and the edit check are what the workers rely on.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from pipeline.settings import Settings
from pipeline.wordpress.seo_meta import SEO_META_KEYS

PLUGIN = Path(__file__).parents[2] / "ops" / "wordpress" / "atr-seo-meta.php"

HARNESS = r"""<?php
define('ABSPATH', '/tmp/');
$hooks = array(); $registered = array();
function add_action($hook, $callback) { global $hooks; $hooks[$hook][] = $callback; }
function register_post_meta($type, $key, $args) {
    global $registered; $registered[$key] = array('type' => $type, 'args' => $args);
}
// The bot may edit post 101 only.
function current_user_can($cap, $id = null) { return $cap === 'edit_post' && $id === 101; }
require getenv('PLUGIN');
foreach ($hooks['init'] as $callback) { $callback(); }
$out = array();
foreach ($registered as $key => $r) {
    $a = $r['args'];
    $out[$key] = array('object' => $r['type'], 'show_in_rest' => $a['show_in_rest'],
        'single' => $a['single'], 'type' => $a['type'], 'sanitize' => $a['sanitize_callback'],
        'may_edit_101' => $a['auth_callback'](false, $key, 101),
        'may_edit_102' => $a['auth_callback'](false, $key, '102'));
}
echo json_encode($out);
"""


def test_the_plugin_has_no_syntax_error() -> None:
    result = subprocess.run(["php", "-l", str(PLUGIN)], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0 and "No syntax errors detected" in result.stdout, \
        result.stdout + result.stderr


def test_the_plugin_registers_every_key_the_workers_write_for_rest(tmp_path: Path) -> None:
    harness = tmp_path / "harness.php"
    harness.write_text(HARNESS, encoding="utf-8")
    result = subprocess.run(["php", str(harness)], capture_output=True, text=True,
                            check=False, env={"PLUGIN": str(PLUGIN)})
    assert result.returncode == 0, result.stdout + result.stderr
    registered = json.loads(result.stdout)
    wanted = {key for keys in SEO_META_KEYS.values() for key in keys.values()}
    wanted.add(Settings.from_env({"REDIS_URL": "redis://127.0.0.1:1/0"}).ads_meta_key)
    assert set(registered) == wanted
    for key, info in registered.items():
        assert info == {"object": "post", "show_in_rest": True, "single": True,
                        "type": "string", "sanitize": "sanitize_text_field",
                        "may_edit_101": True, "may_edit_102": False}, key
