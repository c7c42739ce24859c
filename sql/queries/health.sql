-- name: health_check
-- Seconds since the freshest worker heartbeat (null: no worker registered).
select extract(epoch from now() - max(last_heartbeat))::float8 as worker_heartbeat_age_s
from ga4sync_queue.procrastinate_workers;

-- name: ping
-- The cheapest question the server can answer: is it there.
select 1;
