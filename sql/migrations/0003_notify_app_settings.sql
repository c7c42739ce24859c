-- Tell listeners (web processes caching /meta) when a setting such as
-- ga4_last_success changes, whoever changed it.
create function ga4sync_notify_app_setting() returns trigger
language plpgsql as $$
begin
    perform pg_notify('ga4sync_app_settings', new.key);
    return new;
end;
$$;

create trigger app_settings_notify
    after insert or update on app_settings
    for each row execute function ga4sync_notify_app_setting();
