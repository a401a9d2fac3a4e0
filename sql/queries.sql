-- Queries to run after ingesting: psql "$DATABASE_URL" -f sql/queries.sql
-- (or copy one into psql). They read only the seed's tables.

-- 1. Events per action per minute, the last hour of event time.
SELECT date_trunc('minute', event_time) AS minute,
       action,
       count(*) AS events
FROM events
WHERE event_time >= now() - interval '1 hour'
GROUP BY minute, action
ORDER BY minute DESC, action;

-- 2. The view -> cart -> purchase funnel: sessions that reached each step,
--    and the share of viewing sessions that got there.
WITH steps AS (
    SELECT session_id,
           bool_or(action = 'VIEW')        AS viewed,
           bool_or(action = 'ADD_TO_CART') AS carted,
           bool_or(action = 'PURCHASE')    AS purchased
    FROM events
    WHERE session_id IS NOT NULL
    GROUP BY session_id
)
SELECT count(*) FILTER (WHERE viewed)                         AS viewed,
       count(*) FILTER (WHERE viewed AND carted)              AS added_to_cart,
       count(*) FILTER (WHERE viewed AND carted AND purchased) AS purchased,
       round(100.0 * count(*) FILTER (WHERE viewed AND carted) / nullif(count(*) FILTER (WHERE viewed), 0), 1)
           AS cart_rate_pct,
       round(100.0 * count(*) FILTER (WHERE viewed AND carted AND purchased) / nullif(count(*) FILTER (WHERE viewed), 0), 1)
           AS purchase_rate_pct
FROM steps;

-- 3. Top products by revenue (purchases only).
SELECT product_id,
       product_name,
       count(*)   AS purchases,
       sum(price) AS revenue
FROM events
WHERE action = 'PURCHASE' AND price IS NOT NULL
GROUP BY product_id, product_name
ORDER BY revenue DESC
LIMIT 10;

-- 4. What was rejected, by type.
SELECT error_type, count(*) AS rows, max(detected_at) AS last_seen
FROM corrupt_records
GROUP BY error_type
ORDER BY rows DESC;

-- 5. With configs/ecommerce-latest.yaml: what each user last did with each
--    product (events_latest, one row per user and product, the newest
--    event), e.g. the products left in a cart: last event ADD_TO_CART.
SELECT product_id,
       product_name,
       count(*) AS carts_left,
       max(event_time) AS last_added
FROM events_latest
WHERE action = 'ADD_TO_CART'
GROUP BY product_id, product_name
ORDER BY carts_left DESC
LIMIT 10;
