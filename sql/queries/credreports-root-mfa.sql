-- Root users that can sign in (a password, or an active access key) without
-- MFA (critical; CIS 1.5, Security Hub IAM.9). The newest report of every
-- account (last 7 days), measured now.
SELECT account_id, "user", credential, arn, severity, days, run_id, report_date
FROM credential_findings
WHERE scope = 'current' AND check_id = 'root-mfa'
ORDER BY account_id, "user", credential
