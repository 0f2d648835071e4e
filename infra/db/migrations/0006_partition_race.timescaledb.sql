-- Nothing to do: partitions are TimescaleDB chunks (see 0006_partition_race.postgresql.sql).
SELECT 1;
