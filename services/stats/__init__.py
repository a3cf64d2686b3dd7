"""Aggregations shared by the stats API and the reports: one computation, so a report and
`GET /stats/...` for the same window always agree (the API only parses and answers)."""
