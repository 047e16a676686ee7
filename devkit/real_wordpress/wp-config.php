<?php
/**
 * wp-config of the throwaway, loopback-only test site (devkit/real_wordpress).
 *
 * Where the database socket is and which URL the site answers on come from the
 * environment of the PHP process, so one prepared copy serves any port.
 */
define( 'DB_NAME', 'wordpress' );
define( 'DB_USER', 'root' );
define( 'DB_PASSWORD', '' );
define( 'DB_HOST', 'localhost:' . getenv( 'ATR_RWP_DB_SOCKET' ) );
define( 'DB_CHARSET', 'utf8mb4' );
define( 'DB_COLLATE', '' );
foreach ( array( 'AUTH_KEY', 'SECURE_AUTH_KEY', 'LOGGED_IN_KEY', 'NONCE_KEY', 'AUTH_SALT',
		'SECURE_AUTH_SALT', 'LOGGED_IN_SALT', 'NONCE_SALT' ) as $atr_rwp_key ) {
	define( $atr_rwp_key, 'loopback-only-' . $atr_rwp_key );
}
$table_prefix = 'wp_';

define( 'WP_HOME', getenv( 'ATR_RWP_URL' ) );
define( 'WP_SITEURL', getenv( 'ATR_RWP_URL' ) );
// Application Passwords need HTTPS unless the environment type is 'local'.
define( 'WP_ENVIRONMENT_TYPE', 'local' );
// No outbound requests at all: update checks, pingbacks, oEmbed discovery.
define( 'WP_HTTP_BLOCK_EXTERNAL', true );
define( 'AUTOMATIC_UPDATER_DISABLED', true );
define( 'WP_AUTO_UPDATE_CORE', false );
define( 'DISALLOW_FILE_MODS', true );
// No self-requests to wp-cron.php: what a test sees does not depend on timing.
define( 'DISABLE_WP_CRON', true );
define( 'FS_METHOD', 'direct' );
define( 'WP_DEBUG', true );
// Notices go to the log, never into a JSON answer.
define( 'WP_DEBUG_DISPLAY', false );
define( 'WP_DEBUG_LOG', getenv( 'ATR_RWP_LOG_DIR' ) . '/wp-debug.log' );

if ( ! defined( 'ABSPATH' ) ) {
	define( 'ABSPATH', __DIR__ . '/' );
}
require_once ABSPATH . 'wp-settings.php';
