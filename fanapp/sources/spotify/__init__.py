"""Spotify: sign-in (`oauth`), Web API clients and their error policy (`client`), a listener's history
(`history`), the catalogue and playlists (`catalog`), and finding other sources' songs on Spotify
(`matching`). Only this package talks to Spotify; its errors are `SourceError`s a visitor can read."""
