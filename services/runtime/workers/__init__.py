"""Background loops and jobs: analysis, alert evaluation, scheduled reports, re-analysis."""
