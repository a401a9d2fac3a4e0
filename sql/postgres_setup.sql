-- Schema of the e-commerce pipeline (see the "Database Schema" section of the
-- seed description): the events table and the corrupt_records table, with
-- their indexes. Safe to run more than once. It creates no role and no
-- database: a separate setup script creates data_user and ecommerce_database
-- and runs this file as data_user, who then owns the tables. Any other owner
-- can run it as well.
--
-- The postgres sink creates its own offsets table (etl_offsets) when it
-- starts; it is not part of this file.

-- Quiet the "already exists, skipping" notices of a second run.
SET client_min_messages = warning;

CREATE TABLE IF NOT EXISTS events (
    id             BIGSERIAL PRIMARY KEY,
    user_id        BIGINT,
    action         VARCHAR(50)
                   CONSTRAINT events_action_check
                   CHECK (action IN ('VIEW', 'PURCHASE', 'ADD_TO_CART', 'REMOVE_FROM_CART', 'UNKNOWN')),
    product_id     BIGINT,
    product_name   VARCHAR(100),
    price          NUMERIC(12,2) CONSTRAINT events_price_check CHECK (price >= 0),
    event_time     TIMESTAMPTZ,
    session_id     VARCHAR(50),
    ingestion_time TIMESTAMPTZ DEFAULT now()
);

CREATE INDEX IF NOT EXISTS idx_events_event_time     ON events (event_time);
CREATE INDEX IF NOT EXISTS idx_events_ingestion_time ON events (ingestion_time);
CREATE INDEX IF NOT EXISTS idx_events_action         ON events (action);
CREATE INDEX IF NOT EXISTS idx_events_user_action    ON events (user_id, action);
CREATE INDEX IF NOT EXISTS idx_events_product_action ON events (product_id, action);

-- corrupt_records holds every row refused on the way: the seed's columns
-- first, then where the row came from (source, line), why it was refused
-- (reason) and which pipeline refused it.
CREATE TABLE IF NOT EXISTS corrupt_records (
    id             BIGSERIAL PRIMARY KEY,
    corrupt_record TEXT,
    detected_at    TIMESTAMPTZ DEFAULT now(),
    batch_id       BIGINT,
    error_type     VARCHAR(100) DEFAULT 'CSV_PARSE_ERROR',
    source         TEXT,
    line           BIGINT,
    reason         TEXT,
    pipeline       TEXT
);

-- A corrupt_records table made by an earlier version of this file (the
-- seed's four columns only) gets the extra columns.
ALTER TABLE corrupt_records ADD COLUMN IF NOT EXISTS source   TEXT;
ALTER TABLE corrupt_records ADD COLUMN IF NOT EXISTS line     BIGINT;
ALTER TABLE corrupt_records ADD COLUMN IF NOT EXISTS reason   TEXT;
ALTER TABLE corrupt_records ADD COLUMN IF NOT EXISTS pipeline TEXT;

CREATE INDEX IF NOT EXISTS idx_corrupt_records_detected_at ON corrupt_records (detected_at);
