-- Tasks queued before the fair order (ga4sync/sync/fair_order.py) carry the
-- priorities of the order before it: 0 for a property's sync, -5 for a resume,
-- -10 for history, all above every lane of the fair order, so a backlog of
-- them would be taken before any Sync now. They move to the top of their lane
-- (ga4sync/queue.py: scheduled -200000, resume -300000, history -400000).
-- Job-control tasks keep 0. A fresh install has no queue yet: nothing to do.
do $$
begin
    if to_regclass('ga4sync_queue.procrastinate_jobs') is not null then
        update ga4sync_queue.procrastinate_jobs
        set priority = case
            when task_name in ('ga4sync.sync_property', 'ga4sync.sync_due_property') then -200000
            when task_name = 'ga4sync.continue_property' and (args ->> 'recent')::boolean
                then -300000
            else -400000
        end
        where status = 'todo'
          and priority > -100000
          and task_name in ('ga4sync.sync_property', 'ga4sync.sync_due_property',
                            'ga4sync.continue_property');
    end if;
end $$;
