-- The queue's lanes become head starts instead of walls (ga4sync/queue.py):
-- a lane's unit of rank r now has the priority -1 - 50 * lane - r (lanes
-- interactive 0, scheduled 1, resume 2, history 3), where it had
-- -100000 * (lane + 1) - r. Waiting units keep their lane and rank. A fresh
-- install has no queue yet: nothing to do.
do $$
begin
    if to_regclass('ga4sync_queue.procrastinate_jobs') is not null then
        update ga4sync_queue.procrastinate_jobs
        set priority = -1 - 50 * ((-priority) / 100000 - 1) - ((-priority) % 100000)
        where status = 'todo'
          and priority <= -100000
          and priority > -500000
          and task_name in ('ga4sync.sync_property', 'ga4sync.sync_due_property',
                            'ga4sync.continue_property');
    end if;
end $$;
