"""Findings: the CIS IAM checks of ../shared/FINDINGS.md over credential reports.

Plain logic, no AWS calls: ``report`` reads a report's CSV, ``catalogue``
holds the checks as data, ``engine`` evaluates them, ``formats`` writes the
results (json, csv, OCSF).
"""
