"""The import use case: start it (inline or on RQ: `jobs`), fetch once and store whole (`store`), and the
Spotify tokens it needs for as long as it runs (`tokens`)."""
