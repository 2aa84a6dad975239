-- The AI agent (issue 5): multilingual, accent-insensitive full-text search for knowledge articles.
--
-- unaccent ships with Postgres (contrib), Supabase and the embedded PGlite. It goes into the
-- `extensions` schema as on Supabase; where it is already installed (in any schema) that copy is
-- used. Its own functions are only STABLE (the dictionary could change), so an IMMUTABLE wrapper
-- that names the dictionary explicitly is what a generated column and its index can use.
CREATE SCHEMA IF NOT EXISTS extensions;
--> statement-breakpoint
CREATE EXTENSION IF NOT EXISTS unaccent WITH SCHEMA extensions;
--> statement-breakpoint
GRANT USAGE ON SCHEMA extensions TO anon, authenticated, service_role, switchboard_worker;
--> statement-breakpoint
DO $do$
DECLARE ext_schema text;
BEGIN
  SELECT n.nspname INTO ext_schema FROM pg_extension e
    JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'unaccent';
  EXECUTE format(
    $f$CREATE OR REPLACE FUNCTION app.search_normalize(p_text text) RETURNS text
      LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT SET search_path = '' AS $body$
        SELECT translate(
          regexp_replace(lower(%1$I.unaccent(%2$L::regdictionary, p_text)),
            '[\u064B-\u065F\u0670\u0640]', '', 'g'),
          'أإآٱىة', 'اااايه')
      $body$
    $f$,
    ext_schema, ext_schema || '.unaccent');
END $do$;
--> statement-breakpoint
-- Lowercase, accents removed (unaccent), and Arabic normalised the way Arabic search usually is:
-- diacritics (harakat) and tatweel dropped, alef forms → ا, alef maqsura → ي, ta marbuta → ه.
COMMENT ON FUNCTION app.search_normalize(text) IS
  'Search normalisation: lowercase, unaccent, Arabic diacritics/tatweel removed, alef/ya/ta marbuta unified.';
--> statement-breakpoint
-- The document side: the normalised words as they are ('simple', for exact and prefix matches
-- across languages) plus their Spanish, English and Arabic stems, title and tags weighted above
-- the body. Every article is stemmed in all three languages, so a customer's question is matched
-- whatever language either side wrote in.
CREATE OR REPLACE FUNCTION app.knowledge_search_vector(p_language text, p_title text, p_body text, p_tags jsonb)
RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = '' AS $$
  WITH doc AS (
    SELECT app.search_normalize(coalesce(p_title, '') || ' ' || coalesce(
             (SELECT string_agg(t, ' ') FROM jsonb_array_elements_text(
               CASE WHEN jsonb_typeof(p_tags) = 'array' THEN p_tags ELSE '[]'::jsonb END) AS t), '')) AS head,
           app.search_normalize(coalesce(p_body, '')) AS body
  )
  SELECT setweight(to_tsvector('pg_catalog.simple'::regconfig, head), 'A')
      || setweight(to_tsvector('pg_catalog.spanish'::regconfig, head), 'A')
      || setweight(to_tsvector('pg_catalog.english'::regconfig, head), 'A')
      || setweight(to_tsvector('pg_catalog.arabic'::regconfig, head), 'A')
      || setweight(to_tsvector('pg_catalog.simple'::regconfig, body), 'B')
      || setweight(to_tsvector('pg_catalog.spanish'::regconfig, body), 'B')
      || setweight(to_tsvector('pg_catalog.english'::regconfig, body), 'B')
      || setweight(to_tsvector('pg_catalog.arabic'::regconfig, body), 'B')
  FROM doc
$$;
--> statement-breakpoint
-- The query side: a customer's question is not a keyword list, so words are OR-ed (ranking decides)
-- and matched as prefixes ("hora" finds "horario"). A word that is a stop word in Spanish or
-- English ("que", "the"), or one of the common Arabic function words (Postgres's Arabic stemmer
-- has no stop-word list), is left out so it cannot match everything; lexemes shorter than three
-- letters only match exactly. NULL (matches nothing) when no word is left.
CREATE OR REPLACE FUNCTION app.knowledge_query(p_query text)
RETURNS tsquery LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = '' AS $$
  WITH words AS (
    SELECT DISTINCT w FROM regexp_split_to_table(app.search_normalize(coalesce(p_query, '')), '[^[:alnum:]]+') AS w
    WHERE length(w) >= 2
      AND to_tsvector('pg_catalog.spanish'::regconfig, w) <> ''::tsvector
      AND to_tsvector('pg_catalog.english'::regconfig, w) <> ''::tsvector
      AND NOT (w = ANY (ARRAY['في', 'من', 'علي', 'الي', 'عن', 'ما', 'ماذا', 'متي', 'هل', 'او', 'لا',
        'نعم', 'هذا', 'هذه', 'ذلك', 'التي', 'الذي', 'انا', 'انت', 'هو', 'هي', 'نحن', 'كم', 'كيف',
        'اين', 'لماذا', 'مع', 'ان', 'كان', 'لي', 'لك', 'عندكم', 'ممكن', 'مرحبا', 'شكرا']))
  ), lexemes AS (
    SELECT DISTINCT unnest(tsvector_to_array(to_tsvector('pg_catalog.simple'::regconfig, w)
      || to_tsvector('pg_catalog.spanish'::regconfig, w)
      || to_tsvector('pg_catalog.english'::regconfig, w)
      || to_tsvector('pg_catalog.arabic'::regconfig, w))) AS lexeme
    FROM words
  )
  SELECT (SELECT string_agg(
      quote_literal(lexeme) || CASE WHEN char_length(lexeme) >= 3 THEN ':*' ELSE '' END, ' | ')
    FROM lexemes)::tsquery
$$;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION app.search_normalize(text), app.knowledge_search_vector(text, text, text, jsonb),
  app.knowledge_query(text) TO anon, authenticated, service_role, switchboard_worker;
--> statement-breakpoint
-- Secrets the agent needs (a tenant's own model API key) live in `private`, like channel
-- credentials: tables made there from now on are reachable by the tenant handle only (their RLS
-- policies then pick the one tenant); anon and authenticated have no USAGE on the schema at all.
ALTER DEFAULT PRIVILEGES IN SCHEMA private GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO switchboard_worker;
