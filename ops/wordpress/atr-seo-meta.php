<?php
/**
 * Plugin Name: ATR SEO meta for the REST API
 * Description: Registers the Yoast SEO and Rank Math post meta keys and the ad-mode key that atr-workers writes, so the REST API accepts and returns them.
 * Version:     1.0.0
 * License:     GPL-2.0-or-later
 *
 * What it does
 *   Yoast SEO and Rank Math keep a post's focus keyword, meta description and
 *   SEO title in post meta but do not register those keys for the REST API.
 *   WordPress then answers a REST write of them with 200 and silently drops
 *   them (and shows "meta": [] when no key is registered). This file registers
 *   the keys below with show_in_rest, as single strings, cleaned with
 *   sanitize_text_field. Writing needs the right to edit that very post
 *   (edit_post); the Yoast keys start with "_" (protected meta), which REST
 *   refuses to write unless an auth_callback allows it.
 *
 * Where to install
 *   Copy this file to wp-content/mu-plugins/atr-seo-meta.php on the site
 *   (create wp-content/mu-plugins/ if it does not exist). Must-use plugins load
 *   by themselves: there is nothing to activate. It is harmless next to either
 *   SEO plugin and does nothing else.
 *
 * The ad mode
 *   monetize writes each post's ad mode ("on", "reduced" or "off") to the meta
 *   key atr_ad_mode (ATR_ADS_META_KEY). If you change that setting, define the
 *   same key in wp-config.php: define( 'ATR_ADS_META_KEY', 'my_ad_key' );
 *   A theme reads it with get_post_meta( get_the_ID(), 'atr_ad_mode', true ).
 *
 * How to verify
 *   curl -u 'user:app-password' 'https://site/wp-json/wp/v2/posts/1?context=edit' | jq .meta
 *   must show an object with the seven keys ("" until a value is written). "[]"
 *   or missing keys: the file is not in wp-content/mu-plugins/ or has a syntax
 *   error (see the PHP error log). atr-workers reports the same case as
 *   MetaNotRegisteredError, naming the keys it could not write.
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

add_action(
	'init',
	static function () {
		$keys = array(
			// Yoast SEO (ATR_SEO_PLUGIN=yoast).
			'_yoast_wpseo_focuskw',
			'_yoast_wpseo_metadesc',
			'_yoast_wpseo_title',
			// Rank Math (ATR_SEO_PLUGIN=rankmath).
			'rank_math_focus_keyword',
			'rank_math_description',
			'rank_math_title',
			// Ad mode written by monetize (ATR_ADS_META_KEY): on, reduced or off.
			defined( 'ATR_ADS_META_KEY' ) ? ATR_ADS_META_KEY : 'atr_ad_mode',
		);
		foreach ( $keys as $key ) {
			register_post_meta(
				'post',
				$key,
				array(
					'show_in_rest'      => true,
					'single'            => true,
					'type'              => 'string',
					'sanitize_callback' => 'sanitize_text_field',
					// Called as ( $allowed, $meta_key, $object_id, ... ): may this user edit this post?
					'auth_callback'     => static function ( $allowed, $meta_key, $object_id ) {
						return current_user_can( 'edit_post', (int) $object_id );
					},
				)
			);
		}
	}
);
