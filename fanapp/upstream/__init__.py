"""Every outbound call goes through here: one guarded session per upstream (pause flags after a 429,
the app-wide call budget), shared state in Redis. This package knows no source and no table."""
