-- Failover timings on the monitor (psql -d pg_auto_failover -f monitor-settings.sql).
-- Across two sites the checks get more slack than on one machine (infra/db/ha.py uses
-- 2 s / 5 s / 10 s and fails over in about 12-15 s); with these a lost primary is
-- replaced in about 25-30 s. primary_demote_timeout must exceed the keepers'
-- network_partition_timeout (create-node.sh), so two primaries never take writes.
ALTER SYSTEM SET pgautofailover.health_check_period = 2000;
ALTER SYSTEM SET pgautofailover.health_check_timeout = 2000;
ALTER SYSTEM SET pgautofailover.health_check_max_retries = 2;
ALTER SYSTEM SET pgautofailover.health_check_retry_delay = 1000;
ALTER SYSTEM SET pgautofailover.node_considered_unhealthy_timeout = 10000;
ALTER SYSTEM SET pgautofailover.primary_demote_timeout = 15000;
SELECT pg_reload_conf();
