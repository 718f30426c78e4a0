-- Every row of every collected credential report, typed: one row per IAM user
-- (and the root user) per account per run, for every day the bucket holds.
-- The run and the account come from the object's key
-- ({prefix}reports/date=DAY/run=RUN/account=ACCOUNT/credential-report.csv),
-- the account from the arn where the key has none; "no value" (N/A,
-- no_information, not_supported, empty) reads as NULL, and
-- password_not_supported marks the historical root row.
WITH located AS (
    SELECT
        r.*,
        r."$path" AS source_path,
        nullif(regexp_extract(r."$path", '/run=([0-9]{8}T[0-9]{6}Z)/', 1), '') AS path_run_id,
        nullif(regexp_extract(r."$path", '/account=([0-9]{12})/', 1), '') AS path_account_id,
        nullif(regexp_extract(r.arn, '^arn:[^:]*:iam::([0-9]+):', 1), '') AS arn_account_id
    FROM credential_reports AS r
)
SELECT
    report_date,
    path_run_id AS run_id,
    coalesce(path_account_id, arn_account_id) AS account_id,
    arn_account_id,
    "user",
    arn,
    "user" = '<root_account>' AS is_root,
    -- AT TIME ZONE 'UTC' before the cast: Trino keeps an offset's wall clock otherwise
    CAST(try(from_iso8601_timestamp(user_creation_time)) AT TIME ZONE 'UTC' AS timestamp)
        AS user_creation_time,
    coalesce(lower(password_enabled) = 'true', false) AS password_enabled,
    coalesce(password_enabled = 'not_supported', false) AS password_not_supported,
    CAST(try(from_iso8601_timestamp(password_last_used)) AT TIME ZONE 'UTC' AS timestamp)
        AS password_last_used,
    CAST(try(from_iso8601_timestamp(password_last_changed)) AT TIME ZONE 'UTC' AS timestamp)
        AS password_last_changed,
    CAST(try(from_iso8601_timestamp(password_next_rotation)) AT TIME ZONE 'UTC' AS timestamp)
        AS password_next_rotation,
    coalesce(lower(mfa_active) = 'true', false) AS mfa_active,
    coalesce(lower(access_key_1_active) = 'true', false) AS access_key_1_active,
    CAST(try(from_iso8601_timestamp(access_key_1_last_rotated)) AT TIME ZONE 'UTC' AS timestamp)
        AS access_key_1_last_rotated,
    CAST(try(from_iso8601_timestamp(access_key_1_last_used_date)) AT TIME ZONE 'UTC' AS timestamp)
        AS access_key_1_last_used_date,
    CASE WHEN access_key_1_last_used_region
        NOT IN ('', 'N/A', 'n/a', 'no_information', 'not_supported')
        THEN access_key_1_last_used_region END AS access_key_1_last_used_region,
    CASE WHEN access_key_1_last_used_service
        NOT IN ('', 'N/A', 'n/a', 'no_information', 'not_supported')
        THEN access_key_1_last_used_service END AS access_key_1_last_used_service,
    coalesce(lower(access_key_2_active) = 'true', false) AS access_key_2_active,
    CAST(try(from_iso8601_timestamp(access_key_2_last_rotated)) AT TIME ZONE 'UTC' AS timestamp)
        AS access_key_2_last_rotated,
    CAST(try(from_iso8601_timestamp(access_key_2_last_used_date)) AT TIME ZONE 'UTC' AS timestamp)
        AS access_key_2_last_used_date,
    CASE WHEN access_key_2_last_used_region
        NOT IN ('', 'N/A', 'n/a', 'no_information', 'not_supported')
        THEN access_key_2_last_used_region END AS access_key_2_last_used_region,
    CASE WHEN access_key_2_last_used_service
        NOT IN ('', 'N/A', 'n/a', 'no_information', 'not_supported')
        THEN access_key_2_last_used_service END AS access_key_2_last_used_service,
    coalesce(lower(cert_1_active) = 'true', false) AS cert_1_active,
    CAST(try(from_iso8601_timestamp(cert_1_last_rotated)) AT TIME ZONE 'UTC' AS timestamp)
        AS cert_1_last_rotated,
    coalesce(lower(cert_2_active) = 'true', false) AS cert_2_active,
    CAST(try(from_iso8601_timestamp(cert_2_last_rotated)) AT TIME ZONE 'UTC' AS timestamp)
        AS cert_2_last_rotated,
    CASE WHEN additional_credentials_info
        NOT IN ('', 'N/A', 'n/a', 'no_information', 'not_supported')
        THEN additional_credentials_info END AS additional_credentials_info,
    -- when the run started (its id, YYYYMMDDTHHMMSSZ, in UTC)
    date_parse(path_run_id, '%Y%m%dT%H%i%sZ') AS run_time,
    source_path
FROM located
