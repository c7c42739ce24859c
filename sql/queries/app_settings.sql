-- name: get_app_setting
select value from app_settings where key = $1;

-- name: put_app_setting
insert into app_settings (key, value) values ($1, $2)
on conflict (key) do update set value = excluded.value, updated_at = now();
