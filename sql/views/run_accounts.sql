-- One row per account of every run manifest
-- ({prefix}runs/date=DAY/run=RUN/manifest.json): the accounts each run set
-- out to collect, with the account's name and OU path where the manifest's
-- details give them (NULL otherwise; an OU path of '' is the root). Other
-- files of runs/ are left out.
SELECT
    run_date,
    run_id,
    status,
    "trigger",
    account_id,
    nullif(detail.name, '') AS account_name,
    detail.ou_path AS ou_path
FROM (
    SELECT
        m.run_date,
        m.run_id,
        m.status,
        m."trigger",
        a.account_id,
        element_at(filter(m.details, d -> d.account_id = a.account_id), 1) AS detail
    FROM run_manifests AS m
    CROSS JOIN UNNEST(m.accounts) AS a (account_id)
    WHERE m."$path" LIKE '%/manifest.json'
) AS listed
