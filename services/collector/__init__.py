"""The collector: fetch sources safely, parse them into items, hand them to the store.

`fetching` does the HTTP (SSRF-guarded, bounded), `feeds` the pure feed parsing,
`runner` one collection of one feed, `social/` one module per platform, `web/` pages
and forums, `dispatch` picks the collector for a source's kind, and `scheduler` runs
every source on its interval. Import the module you need: this package imports
nothing, so using `fetching` does not load the scheduler or every connector.
"""
