"""Tables (`models`), the engine and sessions for jobs and commands (`session`), migrations (`migrate`)."""
