"""Validate 837P text with pyx12, an X12 validator this project did not write.

`pyx12_errors(text)` returns every error pyx12 reports (empty list = valid). The x12valid command
exits 1 even on success, so this uses the Python API and reads its JSON error output.
"""

from __future__ import annotations

import io
import json
import logging
from typing import Any


def pyx12_errors(text: str) -> list[dict[str, Any]]:
    """Errors pyx12 finds in one X12 interchange (`[]` when it is valid)."""
    import pyx12.params
    import pyx12.x12n_document

    param = pyx12.params.params()
    fd_json = io.StringIO()
    fd_997 = io.StringIO()
    captured = _Capture()
    logger = logging.getLogger("pyx12")
    logger.addHandler(captured)
    try:
        ok = pyx12.x12n_document.x12n_document(
            param=param,
            src_file=io.StringIO(text),
            fd_997=fd_997,
            fd_html=None,
            fd_xmldoc=None,
            fd_json=fd_json,
        )
    finally:
        logger.removeHandler(captured)
    errors: list[dict[str, Any]] = []
    raw = fd_json.getvalue().strip()
    if raw:
        parsed = json.loads(raw)
        errors.extend(_flatten(parsed))
    errors.extend({"source": "log", "message": m} for m in captured.messages)
    if not ok and not errors:
        errors.append({"source": "pyx12", "message": "document reported invalid"})
    return errors


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _flatten(node: Any, where: str = "") -> list[dict[str, Any]]:
    """Error objects anywhere in pyx12's JSON output, each with where it was found."""
    if isinstance(node, list):
        return [e for item in node for e in _flatten(item, where)]
    if not isinstance(node, dict):
        return []
    if "err_cde" in node:
        return [{**node, "where": where}]
    here = where
    if "seg_id" in node:
        here = f"{where} segment {node['seg_id']} #{node.get('seg_count')} ({node.get('name')})"
    elif "ele_pos" in node:
        here = f"{where} element {node.get('ele_pos')}.{node.get('subele_pos')} {node.get('name')}"
    return [e for v in node.values() for e in _flatten(v, here.strip())]
