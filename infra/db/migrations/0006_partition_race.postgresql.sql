-- Two workers writing the same new day could both see its partition missing and both
-- create it (DuplicateTable). The check is repeated after taking the default
-- partition's lock, which serialises the creators.
CREATE OR REPLACE FUNCTION cp_ensure_day_partitions(parent text, from_ts timestamptz, to_ts timestamptz)
RETURNS integer LANGUAGE plpgsql AS $fn$
DECLARE
    d       date := (from_ts AT TIME ZONE 'UTC')::date;
    last_d  date := (to_ts AT TIME ZONE 'UTC')::date;
    part    text;
    lo      timestamptz;
    hi      timestamptz;
    col     text;
    created integer := 0;
BEGIN
    SELECT a.attname INTO col
      FROM pg_partitioned_table p
      JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
     WHERE p.partrelid = parent::regclass;
    WHILE d <= last_d LOOP
        part := parent || '_p' || to_char(d, 'YYYYMMDD');
        IF to_regclass(part) IS NULL THEN
            lo := d::timestamp AT TIME ZONE 'UTC';
            hi := (d + 1)::timestamp AT TIME ZONE 'UTC';
            -- Rows that reached the default partition before this day existed move in.
            EXECUTE format('LOCK TABLE %I IN EXCLUSIVE MODE', parent || '_default');
        END IF;
        -- Checked again under the lock: another worker may have created it meanwhile.
        IF to_regclass(part) IS NULL THEN
            EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                           part, parent);
            EXECUTE format('WITH moved AS (DELETE FROM %I WHERE %I >= $1 AND %I < $2 RETURNING *) '
                           'INSERT INTO %I SELECT * FROM moved',
                           parent || '_default', col, col, part) USING lo, hi;
            EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                           parent, part, lo, hi);
            created := created + 1;
        END IF;
        d := d + 1;
    END LOOP;
    RETURN created;
END
$fn$;
