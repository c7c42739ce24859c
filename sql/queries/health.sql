-- name: health_check
-- Seconds since the freshest worker heartbeat (null: no worker registered). A
-- heartbeat from the future is no worker's (workers write now()): not counted.
select extract(epoch from now() - max(last_heartbeat))::float8 as worker_heartbeat_age_s
from ga4sync_queue.procrastinate_workers
where last_heartbeat <= now() + interval '1 minute';

-- name: ping
-- The cheapest question the server can answer: is it there.
select 1;
