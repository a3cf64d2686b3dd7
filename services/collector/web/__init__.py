"""Web pages: articles and their comments, forum threads, and what a URL would give.

`extract` reads an article page, `forums` one module per forum engine (plus YAML
selectors for any other), `detect` tells which kind of page a URL serves, and
`preview` fetches a URL safely and shows what would be collected.
"""
