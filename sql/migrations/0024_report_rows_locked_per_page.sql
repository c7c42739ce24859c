-- A report table's rows no longer carry a foreign key to ga4_properties: its
-- check ran once a row and cost as much Postgres CPU as the COPY of the rows
-- itself. A page write locks its property once instead (lock_property_for_rows
-- in sql/queries/report_tables.sql), and deleting a property still deletes its
-- rows from every report table, by the trigger below.
create function ga4sync_reports.forget_property_rows() returns trigger
language plpgsql as $$
declare
    report regclass;
begin
    for report in
        select c.oid::regclass
        from pg_class c
        join pg_attribute a on a.attrelid = c.oid and a.attname = 'property_ref'
        where c.relnamespace = 'ga4sync_reports'::regnamespace and c.relkind = 'r'
    loop
        execute format('delete from %s where property_ref in (select id from gone)', report);
    end loop;
    return null;
end $$;
revoke all on function ga4sync_reports.forget_property_rows() from public;

create trigger ga4sync_forget_property_rows
    after delete on ga4_properties
    referencing old table as gone
    for each statement execute function ga4sync_reports.forget_property_rows();

do $$
declare
    fk record;
begin
    for fk in
        select conname, conrelid::regclass as tbl
        from pg_constraint
        where contype = 'f'
          and confrelid = 'public.ga4_properties'::regclass
          and connamespace = 'ga4sync_reports'::regnamespace
    loop
        execute format('alter table %s drop constraint %I', fk.tbl, fk.conname);
    end loop;
end $$;
