-- Every account with a report in the last 7 days, its name from the newest
-- run manifest that names it (NULL while manifests carry no names), and its
-- failing credentials now, by severity; the most critical accounts first.
WITH reported AS (
    SELECT DISTINCT account_id, run_id, report_date
    FROM credential_reports_latest
),
names AS (
    SELECT account_id, max_by(account_name, run_id) AS account_name
    FROM run_accounts
    WHERE run_date >= current_date - INTERVAL '7' DAY AND account_name IS NOT NULL
    GROUP BY account_id
),
counts AS (
    SELECT
        account_id,
        count_if(severity = 'critical') AS critical,
        count_if(severity = 'high') AS high,
        count_if(severity = 'medium') AS medium,
        count(*) AS failing,
        count(DISTINCT "user") AS failing_users
    FROM credential_findings
    WHERE scope = 'current'
    GROUP BY account_id
)
SELECT
    r.account_id,
    n.account_name,
    coalesce(c.critical, 0) AS critical,
    coalesce(c.high, 0) AS high,
    coalesce(c.medium, 0) AS medium,
    coalesce(c.failing, 0) AS failing,
    coalesce(c.failing_users, 0) AS failing_users,
    r.run_id,
    r.report_date
FROM reported AS r
LEFT JOIN names AS n ON n.account_id = r.account_id
LEFT JOIN counts AS c ON c.account_id = r.account_id
ORDER BY critical DESC, high DESC, medium DESC, r.account_id
