"""The report: the answer read from a result set, and its renderings (the HTML page, summary.md,
junit.xml, the badge, the terminal), with `dlmatrix explain`'s telling of one cell."""
