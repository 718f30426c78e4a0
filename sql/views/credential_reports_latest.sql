-- The newest run of each account among the reports of today and the 7 days
-- before: the current credentials of every account that reported this week,
-- one run per account (an account's two runs of one day count as two runs).
WITH ranked AS (
    SELECT
        p.*,
        dense_rank() OVER (PARTITION BY p.account_id ORDER BY p.run_id DESC) AS run_rank
    FROM credential_reports_parsed AS p
    WHERE p.report_date >= current_date - INTERVAL '7' DAY
        AND p.run_id IS NOT NULL
        AND p.account_id IS NOT NULL
)
SELECT
    report_date, run_id, account_id, arn_account_id, "user", arn, is_root, user_creation_time,
    password_enabled, password_not_supported, password_last_used, password_last_changed,
    password_next_rotation, mfa_active,
    access_key_1_active, access_key_1_last_rotated, access_key_1_last_used_date,
    access_key_1_last_used_region, access_key_1_last_used_service,
    access_key_2_active, access_key_2_last_rotated, access_key_2_last_used_date,
    access_key_2_last_used_region, access_key_2_last_used_service,
    cert_1_active, cert_1_last_rotated, cert_2_active, cert_2_last_rotated,
    additional_credentials_info, run_time, source_path
FROM ranked
WHERE run_rank = 1
