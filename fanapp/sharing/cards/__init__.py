"""Share images: layouts drawn with Pillow (`render`), text with font fallback (`text`), cover art
fetched safely (`covers`), rendered once and cached (`cache`)."""
