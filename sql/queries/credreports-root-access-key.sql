-- Active access keys of the root user (critical; CIS 1.4, Security Hub IAM.4):
-- one row per active key. The newest report of every account (last 7 days),
-- measured now.
SELECT account_id, "user", credential, arn, severity, days, run_id, report_date
FROM credential_findings
WHERE scope = 'current' AND check_id = 'root-access-key'
ORDER BY account_id, "user", credential
