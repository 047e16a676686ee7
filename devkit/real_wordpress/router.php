<?php
/**
 * Router for PHP's built-in server serving WordPress: the job of Apache's .htaccess.
 *
 * Existing files (static or .php) and directories with an index.php are served
 * as they are; everything else (pretty permalinks, /wp-json/...) goes to index.php.
 */
$root = rtrim( $_SERVER['DOCUMENT_ROOT'], '/' );
$path = urldecode( parse_url( $_SERVER['REQUEST_URI'], PHP_URL_PATH ) ?? '/' );

if ( '/' !== $path && false === strpos( $path, '..' ) ) {
	$full = $root . $path;
	if ( is_file( $full ) ) {
		return false;
	}
	if ( is_dir( $full ) && is_file( rtrim( $full, '/' ) . '/index.php' ) ) {
		if ( '/' !== substr( $path, -1 ) ) {
			header( 'Location: ' . $path . '/', true, 301 );
			return true;
		}
		return false;
	}
}

$_SERVER['SCRIPT_NAME']     = '/index.php';
$_SERVER['PHP_SELF']        = '/index.php';
$_SERVER['SCRIPT_FILENAME'] = $root . '/index.php';
chdir( $root );
require $root . '/index.php';
