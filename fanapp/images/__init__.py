"""Share images of published episodes, drawn with Pillow: `render` (the design), `text` (fonts, fallback,
bidi, fitting), `covers` (allowlisted cover art), `cache` (rendered PNGs and their ETags).

Fonts shipped in `fonts/` are under the SIL Open Font License 1.1 (`fonts/OFL.txt`); see `text` for the
system fonts used as fallbacks and their licences.
"""
