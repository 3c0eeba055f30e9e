"""The web dashboard: a static single-page app served by Heron itself (no CDN), reading the query API."""
