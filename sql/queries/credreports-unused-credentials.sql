-- Console passwords and active access keys of IAM users unused for more than
-- 45 days (medium; CIS 1.12, Security Hub IAM.22); a never-used one counts
-- from its change or rotation, else the user's creation; days is its age. The
-- newest report of every account (last 7 days), measured now.
SELECT account_id, "user", credential, arn, severity, days, run_id, report_date
FROM credential_findings
WHERE scope = 'current' AND check_id = 'unused-credentials'
ORDER BY account_id, "user", credential
