<?php
/**
 * Installs WordPress into an empty database without a browser or WP-CLI.
 *
 *   ATR_RWP_DB_SOCKET=... ATR_RWP_URL=... ATR_RWP_LOG_DIR=... php bootstrap.php SITE_DIR
 *
 * Creates the database, runs wp_install(), turns on pretty permalinks, adds an
 * editor and a subscriber, makes one application password per user and prints
 * the credentials as one JSON object on stdout (everything else goes to stderr).
 */
if ( PHP_SAPI !== 'cli' ) {
	exit( 1 );
}
$site = rtrim( $argv[1] ?? '', '/' );
if ( ! is_file( "$site/wp-load.php" ) ) {
	fwrite( STDERR, "usage: php bootstrap.php SITE_DIR\n" );
	exit( 2 );
}

$db = new mysqli( 'localhost', 'root', '', '', 0, getenv( 'ATR_RWP_DB_SOCKET' ) );
$db->query( 'CREATE DATABASE IF NOT EXISTS wordpress CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci' );
$db->close();

$url                    = parse_url( getenv( 'ATR_RWP_URL' ) );
$_SERVER['HTTP_HOST']   = $url['host'] . ':' . $url['port'];
$_SERVER['SERVER_NAME'] = $url['host'];
$_SERVER['REQUEST_URI'] = '/';

define( 'WP_INSTALLING', true );
// There is no MTA: the install's notification mail would only fail.
function wp_new_blog_notification( $blog_title, $blog_url, $user_id, $password ) {}

require "$site/wp-load.php";
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
require_once ABSPATH . 'wp-admin/includes/user.php';

$installed = wp_install( 'ATR 테스트 블로그', 'admin', 'admin@example.invalid', false, '',
	wp_slash( 'admin-loopback-only' ) );
wp_delete_post( 1, true );  // "Hello world!": the tests make their own posts
wp_delete_post( 2, true );  // "Sample Page"
wp_set_current_user( $installed['user_id'] );

update_option( 'timezone_string', 'Asia/Seoul' );
update_option( 'default_comment_status', 'closed' );
update_option( 'default_ping_status', 'closed' );
update_option( 'default_pingback_flag', 0 );
update_option( 'blog_public', 0 );
global $wp_rewrite;
$wp_rewrite->set_permalink_structure( '/%postname%/' );
update_option( 'rewrite_rules', '' );

$users = array( 'admin' => get_user_by( 'id', $installed['user_id'] ) );
foreach ( array( 'editor' => 'editor', 'reader' => 'subscriber' ) as $login => $role ) {
	$id = wp_insert_user(
		array(
			'user_login' => $login,
			'user_pass'  => wp_generate_password( 24, false ),
			'user_email' => "$login@example.invalid",
			'role'       => $role,
		)
	);
	if ( is_wp_error( $id ) ) {
		fwrite( STDERR, "creating user $login failed: " . $id->get_error_message() . "\n" );
		exit( 1 );
	}
	$users[ $login ] = get_user_by( 'id', $id );
}

$out = array( 'wordpress' => $GLOBALS['wp_version'], 'users' => array() );
foreach ( $users as $login => $user ) {
	$created = WP_Application_Passwords::create_new_application_password(
		$user->ID, array( 'name' => 'atr-acceptance' ) );
	if ( is_wp_error( $created ) ) {
		fwrite( STDERR, "application password for $login failed: " . $created->get_error_message() . "\n" );
		exit( 1 );
	}
	$out['users'][ $login ] = array( 'id' => $user->ID, 'role' => $user->roles[0],
		'application_password' => $created[0] );
}
echo wp_json_encode( $out ), "\n";
