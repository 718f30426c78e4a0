-- Users (the root included) with both access keys active (medium; CIS 1.13).
-- The newest report of every account (last 7 days), measured now.
SELECT account_id, "user", credential, arn, severity, days, run_id, report_date
FROM credential_findings
WHERE scope = 'current' AND check_id = 'two-active-keys'
ORDER BY account_id, "user", credential
