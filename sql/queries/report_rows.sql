-- The rows API: one property's rows of one report, as JSON pages and as CSV.
-- Braced names are filled in per definition with quoted identifiers
-- (ga4sync/store/report_rows.py): {table} is the definition's table, {order}
-- the row order (date, each dimension column compared byte by byte, then
-- dimension_key, which makes it total), {after} the same columns of the row a
-- page starts after.
--
-- The primary key (property_ref, date, dimension_key) hands rows over by date
-- and an incremental sort orders each date's rows by the rest, so a page costs
-- the dates it reads, not the rows that follow it. Timestamps are written in
-- UTC as ISO 8601, dates as YYYY-MM-DD, numbers as PostgreSQL prints them
-- (numeric exactly, double precision in the shortest form that reads back to
-- the same double).

-- name: readable_property
-- The property with GA4 id $1 if user $2 can access it ($2 null: an admin,
-- who can access every property).
select p.id
from ga4_properties p
where p.property_id = $1
  and ($2::uuid is null or exists (
      select 1 from ga4_property_access a where a.property_ref = p.id and a.user_id = $2));

-- name: rows_cursor_key
-- The key that signs the rows API's cursors, made by whichever process asks
-- first (two random UUIDs: 244 random bits). A process that loses the race
-- to make it reads no row here and asks again.
with made as (
    insert into app_settings (key, value)
    values (
        'rows_cursor_key',
        to_jsonb(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''))
    )
    on conflict (key) do nothing
    returning value
)
select value from made
union all
select value from app_settings where key = 'rows_cursor_key';

-- name: report_rows_page
-- At most $8 rows of property $1 (GA4 id $2) from date $3 to $4 (null: no
-- bound) after the row at date $5, dimension values $6 and dimension_key $7
-- ($5 null: from the first row); each row as its JSON object, with what a
-- cursor needs of it.
with a as (
    select $5::date as date, $6::text[] as dimensions, $7::uuid as dimension_key
)
select json_build_object(
           'property_id', $2::text,
           'date', t.date,
           {json_fields}
           'synced_at', {synced_at}
       )::text as row,
       t.date,
       {dimension_array} as dimensions,
       t.dimension_key
from {table} t, a
where t.property_ref = $1
  and t.date >= coalesce(greatest($3::date, a.date), '-infinity')
  and t.date <= coalesce($4::date, 'infinity')
  and (a.date is null or ({order}) > ({after}))
order by {order}
limit $8;

-- name: export_settings
-- For an export's transaction. Order it the way pages are ordered: by the
-- primary key's dates with each date's rows sorted on their own, never by
-- sorting the whole range first. Postgres picks that plan by itself once the
-- table is analyzed; before that (a table just filled) it may sort the range
-- in full, and the first byte would wait for the whole sort. Dates print as
-- YYYY-MM-DD and doubles in their shortest exact form, whatever the server's
-- defaults.
set local enable_sort = off;
set local datestyle = 'ISO, YMD';
set local extra_float_digits = 1;

-- name: report_rows_csv
-- Every row of property $1 (GA4 id $2) from date $3 to $4 (null: no bound),
-- for COPY ... TO STDOUT (format csv, header) under export_settings: the
-- relation's columns, in the pages' order and written as they are (each
-- dimension through csv_text_cell unless the caller opted out).
select $2::text as property_id,
       t.date,
       {csv_columns}
       {synced_at} as synced_at
from {table} t
where t.property_ref = $1
  and t.date >= coalesce($3::date, '-infinity')
  and t.date <= coalesce($4::date, 'infinity')
order by {order}

-- name: csv_text_cell
-- A dimension column as the CSV export writes it by default: a value
-- that starts with =, +, -, @, a tab or a carriage return (what Excel,
-- LibreOffice and Google Sheets read as a formula) gets a leading ' so that a
-- spreadsheet shows it as text (OWASP's advice against CSV injection). Dimension
-- values are whatever a visitor sent (page paths, sources, campaigns); metrics
-- are never written through this, so a negative number stays a number.
-- ascii() reads the first character's code without copying it: = 61, + 43,
-- - 45, @ 64, tab 9, carriage return 13 (an empty value is 0).
case when ascii({column}) in (61, 43, 45, 64, 9, 13)
     then '''' || {column} else {column} end
