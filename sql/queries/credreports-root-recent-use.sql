-- Root users used in the last day: the most recent use of the password or
-- either access key is at most 1 day old (high; CIS 1.7); days is that use's
-- age. The newest report of every account (last 7 days), measured now.
SELECT account_id, "user", credential, arn, severity, days, run_id, report_date
FROM credential_findings
WHERE scope = 'current' AND check_id = 'root-recent-use'
ORDER BY account_id, "user", credential
