"""The record after an incident: for an alert, or for areas over a time range, one
timeline of what CityPulse stored (crowd readings as stored, rule decisions with the
figures they used, texts and their delivery, acknowledgements, comments, operator
actions), as JSON, CSV, PDF and a printable page (dashboard_api/web/record.js).

    entries.py   stored rows -> entries (pure)
    timeline.py  the Record and `assemble` (pure)
    export.py    CSV (pure);  pdf.py  PDF (pure, fpdf2 + Nanum Gothic)
    load.py      gathers the rows from the tables' owners
"""
