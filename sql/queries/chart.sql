-- The status page's chart: a few metrics of one day-grain report, one value a
-- day. Braced names are filled in per definition with quoted identifiers
-- (ga4sync/store/chart.py): {table} is the table behind the report's relation
-- ga4_<name>, {values} the metrics charted.

-- name: chart_days
-- Days $2..$3 of property $1 that have rows. A report by the date alone has one
-- row a day; one with other dimensions is added up over them, and only for the
-- metrics that add up (ga4sync/sync/chart.py picks those).
select t.date, {values}
from {table} t
where t.property_ref = $1 and t.date between $2 and $3
group by t.date
order by t.date;
