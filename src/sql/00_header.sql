-- cnnrec extension install script.
--
-- Assembled by the Makefile from the ordered parts in src/sql/.  Every object
-- is schema-qualified; management objects live in schema cnnrec, serving
-- functions in the extension's schema (@extschema@, public by default).
-- No CREATE OR REPLACE and no IF NOT EXISTS: the script must fail rather
-- than adopt objects someone else created first.

\echo Use "CREATE EXTENSION cnnrec" to load this file. \quit

CREATE SCHEMA cnnrec;
COMMENT ON SCHEMA cnnrec IS 'cnnrec: model catalog, training jobs, sequences and management functions';
GRANT USAGE ON SCHEMA cnnrec TO PUBLIC;
