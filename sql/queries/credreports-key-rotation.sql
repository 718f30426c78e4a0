-- Active access keys (the root's included) last rotated more than 90 days ago
-- (medium; CIS 1.14, Security Hub IAM.3): one row per key; days is the key's
-- age. The newest report of every account (last 7 days), measured now.
SELECT account_id, "user", credential, arn, severity, days, run_id, report_date
FROM credential_findings
WHERE scope = 'current' AND check_id = 'key-rotation'
ORDER BY account_id, "user", credential
