"""Reports: a definition (brand or saved search, period, language, sections), its figures
computed through the stats API's own functions, rendered to HTML and PDF, kept under the
data directory, scheduled and emailed."""
