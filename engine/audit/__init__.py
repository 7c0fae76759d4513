"""`lexgate audit`: a processing register (GDPR Art. 30; PIPL Art. 54 compliance audits)
decided activity by activity, reported as JSON and self-contained HTML, and exported in the
columns of Art. 30(1). docs/AUDIT.md."""

from .register import Activity, Register, RegisterError, read_register, set_fact_paths
from .report import report_html, report_json, write_report
from .run import ActivityResult, AuditResult, Range, content_version, run_audit

__all__ = [
    "Activity",
    "ActivityResult",
    "AuditResult",
    "Range",
    "Register",
    "RegisterError",
    "content_version",
    "read_register",
    "report_html",
    "report_json",
    "run_audit",
    "set_fact_paths",
    "write_report",
]
