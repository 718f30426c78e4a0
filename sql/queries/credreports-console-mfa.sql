-- IAM users with a console password and no MFA (high; CIS 1.10, Security Hub
-- IAM.5). The newest report of every account (last 7 days), measured now.
SELECT account_id, "user", credential, arn, severity, days, run_id, report_date
FROM credential_findings
WHERE scope = 'current' AND check_id = 'console-mfa'
ORDER BY account_id, "user", credential
