-- Every account with a report in the last 7 days, its name and OU path from
-- the newest run manifest that names it, and its failing credentials now, by
-- severity; the most critical accounts first.
WITH reported AS (
    SELECT DISTINCT account_id, run_id, report_date
    FROM credential_reports_latest
),
names AS (
    SELECT
        account_id,
        max_by(account_name, run_id) AS account_name,
        max_by(ou_path, run_id) AS ou_path
    FROM run_accounts
    -- manifests that give the account's details (ou_path is '' at the root)
    WHERE run_date >= current_date - INTERVAL '7' DAY AND ou_path IS NOT NULL
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
    n.ou_path,
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
