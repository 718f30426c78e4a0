-- Active access keys never used, of IAM users that also have a console
-- password (medium; CIS 1.11): one row per key. The newest report of every
-- account (last 7 days), measured now.
SELECT account_id, "user", credential, arn, severity, days, run_id, report_date
FROM credential_findings
WHERE scope = 'current' AND check_id = 'initial-access-key'
ORDER BY account_id, "user", credential
