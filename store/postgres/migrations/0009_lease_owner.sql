-- Lease owners: the node (belfry serve --node-id) that claimed a pending
-- delivery or an invoking flow job, while its lease runs. A node that
-- restarts takes back its own leases at once (its previous run is dead);
-- another node's leases it leaves to run out, since that node may still be
-- working on them. '' for rows no node has claimed.
ALTER TABLE deliveries ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE flow_jobs ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
