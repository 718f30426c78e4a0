-- Accounts of today's run manifests that have no report in that run: still
-- being collected, or failed (their failure record under failures/ says why).
SELECT m.run_id, m.account_id, m.account_name, m.status
FROM run_accounts AS m
LEFT JOIN (
    SELECT DISTINCT run_id, account_id
    FROM credential_reports_parsed
    WHERE report_date = current_date
) AS r ON r.run_id = m.run_id AND r.account_id = m.account_id
WHERE m.run_date = current_date AND r.account_id IS NULL
ORDER BY m.run_id, m.account_id
