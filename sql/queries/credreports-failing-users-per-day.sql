-- Failing users per check per day over the last 30 days: every report measured
-- at the start of its run, so each day shows what that day's reports said (an
-- account's two runs on one day count a failing user once).
SELECT
    report_date,
    check_id,
    severity,
    count(DISTINCT account_id || '/' || "user") AS failing_users,
    count(DISTINCT account_id) AS accounts
FROM credential_findings
WHERE scope = 'run' AND report_date >= current_date - INTERVAL '30' DAY
GROUP BY report_date, check_id, severity
ORDER BY report_date DESC, check_id
