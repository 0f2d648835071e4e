-- Former names and codes of areas, loaded with the registry from
-- sensors/data/former_names.csv by `citypulse areas import` / `up`: what a name in an old
-- log became. area_code NULL = not mapped (a split no successor covers, a dropped area).
-- No foreign key to areas: a registry imported without an area must not refuse the table.
CREATE TABLE area_former_names (
    former_name  text PRIMARY KEY,
    former_code  text NOT NULL DEFAULT '' CHECK (former_code = '' OR former_code ~ '^POI[0-9]{3}$'),
    former_list  text NOT NULL DEFAULT '',
    area_code    text CHECK (area_code ~ '^POI[0-9]{3}$'),
    relation     text NOT NULL
                 CHECK (relation IN ('renamed', 'renumbered', 'api_name', 'split', 'dropped')),
    reason       text NOT NULL DEFAULT '',
    CHECK ((relation IN ('renamed', 'renumbered', 'api_name')) = (area_code IS NOT NULL)
           OR relation = 'split')
);
