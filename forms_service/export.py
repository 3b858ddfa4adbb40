"""Exports for the research committee: pure functions rows → CSV / XLSX / JSON, streamed.

(Being written: see the export contract in the team notes.)
"""


def export_response(db, filters, fmt, lang, actor):  # replaced by the real implementation
    raise NotImplementedError
