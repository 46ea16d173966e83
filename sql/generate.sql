--
-- cnnrec.generate_events: deterministic synthetic e-commerce log
--
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';

-- Declaration: not strict, immutable, parallel safe, with a row estimate.
SELECT p.oid::regprocedure AS function, p.provolatile, p.proparallel,
       p.proisstrict, p.prorows, p.prosupport
FROM pg_proc p
WHERE p.proname = 'generate_events' AND p.pronamespace = 'cnnrec'::regnamespace;

-- A small log in full.
SELECT * FROM cnnrec.generate_events(2, 20, 10, 1);

-- Checksum of a log in output order (epoch seconds, so no display setting matters).
CREATE FUNCTION pg_temp.log_md5(n_users bigint, n_items bigint, e integer, seed bigint,
                                n_categories integer DEFAULT 0, first_user bigint DEFAULT 1)
RETURNS text LANGUAGE sql AS $$
  SELECT md5(string_agg(concat_ws(',', user_id, item_id, event, extract(epoch FROM ts)::bigint),
                        ';' ORDER BY ord))
  FROM cnnrec.generate_events(n_users, n_items, e, seed, n_categories, first_user => first_user)
       WITH ORDINALITY AS g(user_id, item_id, event, ts, ord)
$$;

-- Determinism: the same arguments give the same rows on every machine (this
-- checksum is pinned); another seed or category count gives another log.
SELECT pg_temp.log_md5(300, 200, 40, 7) AS pinned_md5;
SELECT pg_temp.log_md5(300, 200, 40, 7) = pg_temp.log_md5(300, 200, 40, 7) AS same_seed_same_rows,
       pg_temp.log_md5(300, 200, 40, 7) <> pg_temp.log_md5(300, 200, 40, 8) AS other_seed_other_rows,
       pg_temp.log_md5(300, 200, 40, 7) <> pg_temp.log_md5(300, 200, 40, 7, 20) AS other_categories_other_rows;

-- The defaults are seed 0, n_categories 0, start 2024-01-01 UTC, first_user 1.
SELECT pg_temp.log_md5(30, 100, 20, 0) =
       (SELECT md5(string_agg(concat_ws(',', user_id, item_id, event, extract(epoch FROM ts)::bigint),
                              ';' ORDER BY ord))
        FROM cnnrec.generate_events(30, 100, 20) WITH ORDINALITY AS g(user_id, item_id, event, ts, ord))
       AS defaults_match;

-- A user's rows do not depend on n_users; first_user generates a batch of users.
SELECT (SELECT md5(string_agg(concat_ws(',', user_id, item_id, event, ts), ';' ORDER BY user_id, ts))
        FROM cnnrec.generate_events(300, 200, 40, 7) WHERE user_id BETWEEN 41 AND 60) =
       (SELECT md5(string_agg(concat_ws(',', user_id, item_id, event, ts), ';' ORDER BY user_id, ts))
        FROM cnnrec.generate_events(60, 200, 40, 7) WHERE user_id >= 41) AS independent_of_n_users,
       pg_temp.log_md5(20, 200, 40, 7, first_user => 41) =
       (SELECT md5(string_agg(concat_ws(',', user_id, item_id, event, extract(epoch FROM ts)::bigint),
                              ';' ORDER BY user_id, ts))
        FROM cnnrec.generate_events(60, 200, 40, 7) WHERE user_id >= 41) AS first_user_batch;

-- start moves every timestamp by the same amount.
SELECT bool_and(a.ts - '2024-01-01 00:00:00+00' = b.ts - '2031-06-15 12:00:00+00'
                AND a.item_id = b.item_id AND a.event = b.event) AS start_shifts_time
FROM cnnrec.generate_events(20, 100, 30, 3) WITH ORDINALITY AS a(user_id, item_id, event, ts, ord)
JOIN cnnrec.generate_events(20, 100, 30, 3, start => '2031-06-15 12:00:00+00')
     WITH ORDINALITY AS b(user_id, item_id, event, ts, ord) USING (ord);

-- The log used for the statistics below: 2000 users, 500 items, mean 50 events.
CREATE TEMP TABLE ev AS
SELECT * FROM cnnrec.generate_events(2000, 500, 50, 42) WITH ORDINALITY AS g(user_id, item_id, event, ts, ord);

-- Sizes: ids in range, every user present, 25 .. 75 events per user, mean about 50.
SELECT count(*) AS n_rows, count(DISTINCT user_id) AS users,
       min(user_id) AS min_user, max(user_id) AS max_user,
       min(item_id) >= 1 AND max(item_id) <= 500 AS items_in_range,
       count(DISTINCT item_id) AS distinct_items
FROM ev;
SELECT min(n) AS min_events, max(n) AS max_events, round(avg(n)) AS mean_events
FROM (SELECT count(*) AS n FROM ev GROUP BY user_id) s;

-- Output order is user then time, and a user's timestamps strictly increase.
SELECT bool_and(ord = r) AS ordered_by_user_then_time
FROM (SELECT ord, row_number() OVER (ORDER BY user_id, ts) AS r FROM ev) s;
SELECT count(*) FILTER (WHERE ts <= prev_ts) AS non_increasing,
       min(ts) >= '2024-01-01 00:00:00+00' AS after_start
FROM (SELECT ts, lag(ts) OVER (PARTITION BY user_id ORDER BY ord) AS prev_ts FROM ev) s;

-- Event labels and their shares (percent).
SELECT event, count(*), round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS pct
FROM ev GROUP BY event ORDER BY count(*) DESC;

-- Sessions: events of a session are at most 10 minutes apart, sessions at
-- least 30 minutes apart, and the gaps between sessions are heavy-tailed.
CREATE TEMP TABLE gaps AS
SELECT ts - lag(ts) OVER (PARTITION BY user_id ORDER BY ts) AS gap FROM ev;
SELECT count(*) FILTER (WHERE gap > '10 minutes' AND gap < '30 minutes') AS ambiguous_gaps,
       count(*) FILTER (WHERE gap >= '30 minutes' AND gap < '1 day') AS within_day,
       count(*) FILTER (WHERE gap >= '1 day' AND gap < '7 days') AS within_week,
       count(*) FILTER (WHERE gap >= '7 days') AS over_week,
       max(gap) <= '43 days' AS bounded
FROM gaps;

-- Next-item structure: a transition table learnt on odd users predicts the
-- next view of even users far better than the most popular items.
CREATE TEMP TABLE pairs AS
SELECT user_id, prev_item, item_id
FROM (SELECT user_id, item_id, ts,
             lag(item_id) OVER w AS prev_item, lag(ts) OVER w AS prev_ts
      FROM ev WHERE event = 'view'
      WINDOW w AS (PARTITION BY user_id ORDER BY ts)) s
WHERE ts - prev_ts < '30 minutes';
CREATE TEMP TABLE top2_next AS
SELECT prev_item, item_id
FROM (SELECT prev_item, item_id,
             row_number() OVER (PARTITION BY prev_item ORDER BY count(*) DESC, item_id) AS r
      FROM pairs WHERE user_id % 2 = 1 GROUP BY prev_item, item_id) s
WHERE r <= 2;
CREATE TEMP TABLE top2_popular AS
SELECT item_id FROM pairs WHERE user_id % 2 = 1
GROUP BY item_id ORDER BY count(*) DESC, item_id LIMIT 2;
SELECT round(avg((t.item_id IS NOT NULL)::int), 2) AS transition_hit2,
       round(avg((p.item_id IN (SELECT item_id FROM top2_popular))::int), 2) AS popular_hit2
FROM pairs p LEFT JOIN top2_next t USING (prev_item, item_id)
WHERE p.user_id % 2 = 0;

-- Funnel: every cart directly follows a view of the same item, every
-- purchase is covered by an earlier cart of the same item.
SELECT count(*) FILTER (WHERE event = 'cart') AS carts,
       count(*) FILTER (WHERE event = 'cart' AND (prev_event IS DISTINCT FROM 'view'
                                                   OR prev_item <> item_id)) AS carts_without_view
FROM (SELECT event, item_id, lag(event) OVER w AS prev_event, lag(item_id) OVER w AS prev_item
      FROM ev WINDOW w AS (PARTITION BY user_id ORDER BY ts)) s;
SELECT count(*) FILTER (WHERE event = 'purchase') AS purchases,
       count(*) FILTER (WHERE event = 'purchase' AND bought > carted) AS purchases_without_cart
FROM (SELECT event,
             count(*) FILTER (WHERE event = 'cart') OVER w AS carted,
             count(*) FILTER (WHERE event = 'purchase') OVER w AS bought
      FROM ev WINDOW w AS (PARTITION BY user_id, item_id ORDER BY ts)) s;

-- Consumables: repeat purchases of the same item, typically 1 to 6 weeks apart.
SELECT count(DISTINCT (user_id, item_id)) AS repeat_pairs,
       percentile_disc(0.5) WITHIN GROUP (ORDER BY gap) BETWEEN '7 days' AND '42 days' AS median_gap_ok
FROM (SELECT user_id, item_id, ts - lag(ts) OVER (PARTITION BY user_id, item_id ORDER BY ts) AS gap
      FROM ev WHERE event = 'purchase') s
WHERE gap IS NOT NULL;

-- Edge sizes: the smallest log, and categories of two items.
SELECT * FROM cnnrec.generate_events(1, 10, 1);
SELECT count(*) AS n_rows FROM cnnrec.generate_events(10, 500, 20, 1, n_categories => 250);

-- The planner estimates n_users * events_per_user rows for constant arguments.
CREATE FUNCTION pg_temp.plan_rows(query text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  plan json;
BEGIN
  EXECUTE 'EXPLAIN (FORMAT JSON) ' || query INTO plan;
  RETURN (plan -> 0 -> 'Plan' ->> 'Plan Rows')::bigint;
END
$$;
SELECT pg_temp.plan_rows('SELECT * FROM cnnrec.generate_events(100000, 20000, 100, 42)') AS const_args,
       pg_temp.plan_rows('SELECT * FROM cnnrec.generate_events((SELECT 5)::bigint, 20, 5)') AS non_const_args;

-- Bad input: each error, with nothing generated.
\set VERBOSITY default
SELECT * FROM cnnrec.generate_events(NULL, 100, 10);
SELECT * FROM cnnrec.generate_events(10, NULL, 10);
SELECT * FROM cnnrec.generate_events(10, 100, NULL);
SELECT * FROM cnnrec.generate_events(10, 100, 10, NULL);
SELECT * FROM cnnrec.generate_events(10, 100, 10, n_categories => NULL);
SELECT * FROM cnnrec.generate_events(10, 100, 10, start => NULL);
SELECT * FROM cnnrec.generate_events(10, 100, 10, first_user => NULL);
SELECT * FROM cnnrec.generate_events(0, 100, 10);
SELECT * FROM cnnrec.generate_events(-5, 100, 10);
SELECT * FROM cnnrec.generate_events(10, 9, 10);
SELECT * FROM cnnrec.generate_events(10, 1000000001, 10);
SELECT * FROM cnnrec.generate_events(10, 100, 0);
SELECT * FROM cnnrec.generate_events(10, 100, 100001);
SELECT * FROM cnnrec.generate_events(10, 100, 10, n_categories => -1);
SELECT * FROM cnnrec.generate_events(10, 100, 10, n_categories => 51);
SELECT * FROM cnnrec.generate_events(10, 100, 10, first_user => 0);
SELECT * FROM cnnrec.generate_events(100000001, 100, 100);
SELECT * FROM cnnrec.generate_events(9223372036854775807, 100, 1);
SELECT * FROM cnnrec.generate_events(10, 100, 10, first_user => 9223372036854775800);
SELECT * FROM cnnrec.generate_events(10, 100, 10, start => 'infinity');
SELECT * FROM cnnrec.generate_events(10, 100, 10, start => '-infinity');
SELECT * FROM cnnrec.generate_events(10, 100, 100000, start => '290000-01-01 00:00:00+00');
SELECT * FROM cnnrec.generate_events('ten', 100, 10);
SELECT * FROM cnnrec.generate_events(10, 100, 2.5);

-- The SQLSTATE of each kind of error.
CREATE FUNCTION pg_temp.sqlstate_of(query text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE query;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE;
END
$$;
SELECT args, pg_temp.sqlstate_of('SELECT count(*) FROM cnnrec.generate_events(' || args || ')') AS sqlstate
FROM (VALUES ('NULL, 100, 10'),
             ('0, 100, 10'),
             ('10, 9, 10'),
             ('10, 100, 10, n_categories => 51'),
             ('10, 1000000001, 10'),
             ('10, 100, 100001'),
             ('100000001, 100, 100'),
             ('10, 100, 10, first_user => 9223372036854775800'),
             ('10, 100, 10, start => ''infinity'''),
             ('10, 100, 100000, start => ''290000-01-01 00:00:00+00''')) AS t(args);

-- Generation is cancellable (interrupts are checked for every user).
SET statement_timeout = '200ms';
SELECT count(*) FROM cnnrec.generate_events(100000000, 1000, 100);
RESET statement_timeout;
