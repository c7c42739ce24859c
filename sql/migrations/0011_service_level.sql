-- GA4's service level of each property, as the Admin API's property resource
-- says it: an Analytics 360 property allows 50 requests in flight where a
-- standard one allows 10 (and ten times the tokens). Null until discovery has
-- read it (properties connected by id alone), which syncs as standard.
alter table ga4_properties
    add column service_level text
        check (service_level in ('GOOGLE_ANALYTICS_STANDARD', 'GOOGLE_ANALYTICS_360'));
