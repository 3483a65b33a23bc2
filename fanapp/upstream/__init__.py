"""Every outbound call goes through here: one guarded session per upstream (`session`) with the pause
flags after a 429 (`pauses`), the app-wide call budget (`budget`), one retry policy (`retry`),
Retry-After parsed once (`retry_after`) and bounded body reads (`reading`); shared state in Redis
(`shared`). This package knows no source and no table."""
