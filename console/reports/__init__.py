"""Reports (研判): the daily and weekly report of the risk centre, from the SQL task store.

``store`` reads (read-only queries), ``aggregate`` computes (pure), ``charts`` draws SVG,
``pdf`` writes the PDF; the console page and ``riskloop report`` share all four, so the page
and the file say the same thing.
"""
