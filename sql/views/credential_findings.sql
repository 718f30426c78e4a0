-- Every failing credential of the check catalogue (FINDINGS.md), with the
-- semantics and default thresholds of the Python engine (credreports.findings):
-- one row per failing (check, account, user, credential). Ages are whole days,
-- rounded down, from as_of; "more than N days" is an age above N.
-- scope 'current': the newest report of each account (credential_reports_latest),
-- measured now; scope 'run': every report, measured at the start of its run.
-- Each report row is read once and set against every check (no scan per check).
WITH thresholds AS (
    SELECT 45 AS unused_days, 90 AS rotation_days, 1 AS root_use_days
),
-- every (check, credential) a row of a report can fail
checks (check_id, severity, credential) AS (
    VALUES
        ('root-access-key', 'critical', 'access-key-1'),
        ('root-access-key', 'critical', 'access-key-2'),
        ('root-mfa', 'critical', 'user'),
        ('root-recent-use', 'high', 'user'),
        ('console-mfa', 'high', 'password'),
        ('initial-access-key', 'medium', 'access-key-1'),
        ('initial-access-key', 'medium', 'access-key-2'),
        ('unused-credentials', 'medium', 'password'),
        ('unused-credentials', 'medium', 'access-key-1'),
        ('unused-credentials', 'medium', 'access-key-2'),
        ('two-active-keys', 'medium', 'user'),
        ('key-rotation', 'medium', 'access-key-1'),
        ('key-rotation', 'medium', 'access-key-2')
),
evaluated AS (
    SELECT 'current' AS scope, CAST(current_timestamp AS timestamp) AS as_of, l.*
    FROM credential_reports_latest AS l
    UNION ALL
    SELECT 'run' AS scope, p.run_time AS as_of, p.*
    FROM credential_reports_parsed AS p
    WHERE p.run_id IS NOT NULL AND p.account_id IS NOT NULL
),
measured AS (
    SELECT
        e.*,
        c.check_id,
        c.severity,
        c.credential,
        CASE c.credential
            WHEN 'access-key-1' THEN e.access_key_1_active
            WHEN 'access-key-2' THEN e.access_key_2_active
        END AS key_active,
        CASE c.credential
            WHEN 'access-key-1' THEN e.access_key_1_last_used_date
            WHEN 'access-key-2' THEN e.access_key_2_last_used_date
        END AS key_last_used,
        -- the time whose age the check measures
        CASE c.check_id
            -- the latest use of the password or either key (Trino's greatest
            -- is NULL when one of them is)
            WHEN 'root-recent-use' THEN nullif(
                greatest(
                    coalesce(e.password_last_used, TIMESTAMP '1970-01-01 00:00:00'),
                    coalesce(e.access_key_1_last_used_date, TIMESTAMP '1970-01-01 00:00:00'),
                    coalesce(e.access_key_2_last_used_date, TIMESTAMP '1970-01-01 00:00:00')
                ),
                TIMESTAMP '1970-01-01 00:00:00'
            )
            -- the last use, else (never used) the change or rotation, else the creation
            WHEN 'unused-credentials' THEN CASE c.credential
                WHEN 'password' THEN coalesce(
                    e.password_last_used, e.password_last_changed, e.user_creation_time
                )
                WHEN 'access-key-1' THEN coalesce(
                    e.access_key_1_last_used_date, e.access_key_1_last_rotated, e.user_creation_time
                )
                ELSE coalesce(
                    e.access_key_2_last_used_date, e.access_key_2_last_rotated, e.user_creation_time
                )
            END
            -- the rotation, else (never rotated) the user's creation
            WHEN 'key-rotation' THEN CASE c.credential
                WHEN 'access-key-1' THEN coalesce(e.access_key_1_last_rotated, e.user_creation_time)
                ELSE coalesce(e.access_key_2_last_rotated, e.user_creation_time)
            END
        END AS measured_at
    FROM evaluated AS e
    CROSS JOIN checks AS c
),
failing AS (
    SELECT m.*
    FROM measured AS m
    CROSS JOIN thresholds AS t
    -- "at most N days" is an age below N + 1 days; "more than N days", at least N + 1
    WHERE CASE m.check_id
        WHEN 'root-access-key' THEN m.is_root AND m.key_active
        -- the root can sign in (a password, not_supported included, or an
        -- active key) and MFA is not active
        WHEN 'root-mfa' THEN m.is_root AND NOT m.mfa_active
            AND (m.password_enabled OR m.password_not_supported
                OR m.access_key_1_active OR m.access_key_2_active)
        WHEN 'root-recent-use' THEN m.is_root
            AND m.measured_at > m.as_of - (t.root_use_days + 1) * INTERVAL '1' DAY
        WHEN 'console-mfa' THEN NOT m.is_root AND m.password_enabled AND NOT m.mfa_active
        -- an active key, never used, of a user with a console password
        WHEN 'initial-access-key' THEN NOT m.is_root AND m.password_enabled
            AND m.key_active AND m.key_last_used IS NULL
        -- an enabled password or an active key; no date at all fails
        WHEN 'unused-credentials' THEN NOT m.is_root
            AND CASE m.credential WHEN 'password' THEN m.password_enabled ELSE m.key_active END
            AND (m.measured_at IS NULL
                OR m.measured_at <= m.as_of - (t.unused_days + 1) * INTERVAL '1' DAY)
        WHEN 'two-active-keys' THEN m.access_key_1_active AND m.access_key_2_active
        -- an active key (the root's too); no date at all fails
        WHEN 'key-rotation' THEN m.key_active
            AND (m.measured_at IS NULL
                OR m.measured_at <= m.as_of - (t.rotation_days + 1) * INTERVAL '1' DAY)
    END
)
SELECT
    check_id,
    severity,
    scope,
    account_id,
    "user",
    credential,
    arn,
    run_id,
    report_date,
    as_of,
    measured_at,
    -- whole days from measured_at to as_of, rounded down
    CAST(floor((to_unixtime(as_of) - to_unixtime(measured_at)) / 86400) AS bigint) AS days
FROM failing
