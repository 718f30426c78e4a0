-- One row per account of every run manifest
-- ({prefix}runs/date=DAY/run=RUN/manifest.json): the accounts each run set
-- out to collect, with the account's name where the manifest carries names
-- (account_names, {account id: name}); other files of runs/ are left out.
SELECT
    m.run_date,
    m.run_id,
    m.status,
    m."trigger",
    a.account_id,
    element_at(m.account_names, a.account_id) AS account_name
FROM run_manifests AS m
CROSS JOIN UNNEST(m.accounts) AS a (account_id)
WHERE m."$path" LIKE '%/manifest.json'
