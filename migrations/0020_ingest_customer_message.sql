-- A customer's new message in one statement (issue 9): find or create the contact (by any key Meta
-- has used for them), find or create the conversation, insert the message (a duplicate provider id
-- is a no-op), advance the conversation (preview, the 24 h window, unread, the debounce's latest
-- message) and, when the message opens a debounce window, set the turn's due marker and write the
-- turn's outbox row. In TypeScript these were six statements, each waiting for the one before: six
-- round trips from the Worker through Hyperdrive to Supabase per inbound message.
--
-- db/inbound.ts (ingestCustomerMessage) is the only caller and owns the rules; this is their SQL.
-- The same rules in TypeScript remain for echoes, reactions and deletions, which are rarer.
--
-- Not SECURITY DEFINER: it runs as the caller (switchboard_worker bound to one tenant), so the
-- tenant policies check every row it reads and writes, as they check the statements it replaces.
--
-- p: { tenant_id, channel_account_id, channel,
--      contact: { external_user_id, phone, bsuid, name, username },
--      message: { provider_message_id, timestamp, type, content, attachments, payload,
--                 reply_to_provider_message_id },
--      preview,
--      turn: null | { now, lost_before, flow_control_key, default_reply_mode, default_debounce_seconds } }
-- Returns { contact_id, contact_created (this message made the contact: an insert, not an upsert
-- that found one), conversation_id, message_id (null: a duplicate), due_at, job (the turn's outbox
-- row, when this message opened the window) }.
CREATE OR REPLACE FUNCTION app.ingest_customer_message(p jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SET search_path = '' AS $$
DECLARE
  v_tenant uuid := (p ->> 'tenant_id')::uuid;
  v_account uuid := (p ->> 'channel_account_id')::uuid;
  v_channel public.channel := (p ->> 'channel')::public.channel;
  v_ext text := p -> 'contact' ->> 'external_user_id';
  v_phone text := nullif(p -> 'contact' ->> 'phone', '');
  v_bsuid text := nullif(p -> 'contact' ->> 'bsuid', '');
  v_name text := nullif(btrim(p -> 'contact' ->> 'name'), '');
  v_username text := nullif(btrim(p -> 'contact' ->> 'username'), '');
  v_ts timestamptz := (p -> 'message' ->> 'timestamp')::timestamptz;
  v_turn jsonb := p -> 'turn';
  v_contact record;
  v_contact_id uuid;
  v_conversation_id uuid;
  v_message_id uuid;
  v_reply_mode public.reply_mode;
  v_debounce integer;
  v_due timestamptz;
  v_opened boolean := false;
  v_job jsonb;
  v_contact_created boolean := false;
BEGIN
  -- The contact: the key Meta sends first, else a row found by BSUID or phone (the oldest), so a
  -- customer first seen by phone and later with a BSUID stays one contact; fill in what is new.
  -- The key alone is one probe of contacts_external and finds a returning customer; the search by
  -- every key (a BitmapOr of three indexes, several times slower) runs only when it does not.
  SELECT c.id, c.phone, c.bsuid, c.name, c.username INTO v_contact
    FROM public.contacts c
    WHERE c.tenant_id = v_tenant AND c.external_user_id = v_ext AND c.channel = v_channel;
  IF NOT FOUND THEN
    SELECT c.id, c.phone, c.bsuid, c.name, c.username INTO v_contact
      FROM public.contacts c
      WHERE c.tenant_id = v_tenant AND c.channel = v_channel
        AND (c.external_user_id IN (v_phone, v_bsuid) OR c.bsuid = v_bsuid OR c.phone = v_phone)
      ORDER BY c.created_at
      LIMIT 1;
  END IF;
  IF FOUND THEN
    v_contact_id := v_contact.id;
    IF (v_phone IS NOT NULL AND v_contact.phone IS NULL)
      OR (v_bsuid IS NOT NULL AND v_contact.bsuid IS NULL)
      OR (v_name IS NOT NULL AND v_name IS DISTINCT FROM v_contact.name)
      OR (v_username IS NOT NULL AND v_username IS DISTINCT FROM v_contact.username) THEN
      UPDATE public.contacts c
        SET phone = coalesce(c.phone, v_phone), bsuid = coalesce(c.bsuid, v_bsuid),
            name = coalesce(v_name, c.name), username = coalesce(v_username, c.username),
            updated_at = now()
        WHERE c.id = v_contact_id;
    END IF;
  ELSE
    INSERT INTO public.contacts AS c (tenant_id, channel, external_user_id, phone, bsuid, name, username)
      VALUES (v_tenant, v_channel, v_ext, v_phone, v_bsuid, v_name, v_username)
      ON CONFLICT (tenant_id, external_user_id, channel) DO UPDATE
        SET name = coalesce(excluded.name, c.name), phone = coalesce(c.phone, excluded.phone),
            bsuid = coalesce(c.bsuid, excluded.bsuid), updated_at = now()
      RETURNING c.id, (c.xmax = 0) INTO v_contact_id, v_contact_created;
  END IF;

  -- The thread of this contact on this account, locked for what follows; made on first contact
  -- (the upsert also covers a concurrent first message). Not an upsert every time: its update
  -- would write a row version that the update below writes again.
  SELECT t.id INTO v_conversation_id FROM public.conversations t
    WHERE t.channel_account_id = v_account AND t.contact_id = v_contact_id
    FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO public.conversations AS t (tenant_id, contact_id, channel_account_id)
      VALUES (v_tenant, v_contact_id, v_account)
      ON CONFLICT (channel_account_id, contact_id) DO UPDATE SET contact_id = excluded.contact_id
      RETURNING t.id INTO v_conversation_id;
  END IF;

  -- The durable dedupe: (account, provider id) is unique.
  INSERT INTO public.messages AS m (tenant_id, conversation_id, channel_account_id, direction, sender,
      type, content, attachments, payload, provider_message_id, provider_timestamp, status,
      reply_to_provider_message_id)
    VALUES (v_tenant, v_conversation_id, v_account, 'inbound', 'user',
      p -> 'message' ->> 'type', p -> 'message' ->> 'content',
      coalesce(p -> 'message' -> 'attachments', '[]'), coalesce(p -> 'message' -> 'payload', '{}'),
      p -> 'message' ->> 'provider_message_id', v_ts, 'received',
      p -> 'message' ->> 'reply_to_provider_message_id')
    ON CONFLICT (channel_account_id, provider_message_id) DO NOTHING
    RETURNING m.id INTO v_message_id;
  IF v_message_id IS NULL THEN
    RETURN jsonb_build_object('contact_id', v_contact_id, 'contact_created', v_contact_created,
      'conversation_id', v_conversation_id, 'message_id', NULL, 'due_at', NULL, 'job', NULL);
  END IF;

  -- The debounce window this message opens or joins (none when the reply mode is off); our
  -- clock, not the provider's: a late-delivered message still waits the full debounce.
  IF v_turn IS NOT NULL THEN
    SELECT s.reply_mode, s.debounce_seconds INTO v_reply_mode, v_debounce
      FROM public.tenant_settings s WHERE s.tenant_id = v_tenant;
    IF NOT FOUND THEN
      v_reply_mode := (v_turn ->> 'default_reply_mode')::public.reply_mode;
      v_debounce := (v_turn ->> 'default_debounce_seconds')::integer;
    END IF;
    IF v_reply_mode <> 'off' THEN
      v_due := (v_turn ->> 'now')::timestamptz + make_interval(secs => v_debounce);
    END IF;
  END IF;

  -- Every "latest" field moves only forward in provider time (Meta does not deliver in order).
  -- The due marker is set only when the bot can answer (not locked, bot enabled) and no turn is
  -- pending, or the pending one was lost; the message that sets it opened the window.
  UPDATE public.conversations t SET
      last_message_preview = CASE WHEN t.last_message_at IS NULL OR t.last_message_at <= v_ts
        THEN p ->> 'preview' ELSE t.last_message_preview END,
      last_message_at = greatest(t.last_message_at, v_ts),
      last_inbound_at = greatest(t.last_inbound_at, v_ts),
      latest_inbound_message_id = CASE WHEN t.last_inbound_at IS NULL OR t.last_inbound_at <= v_ts
        THEN v_message_id ELSE t.latest_inbound_message_id END,
      unread_count = t.unread_count + 1,
      agent_turn_due_at = CASE WHEN v_due IS NOT NULL AND NOT t.is_locked AND t.bot_enabled
          AND (t.agent_turn_due_at IS NULL
            OR t.agent_turn_due_at < (v_turn ->> 'lost_before')::timestamptz)
        THEN v_due ELSE t.agent_turn_due_at END,
      updated_at = now()
    WHERE t.id = v_conversation_id
    RETURNING v_due IS NOT NULL AND t.agent_turn_due_at = v_due INTO v_opened;

  -- The opened window's turn, flow-controlled per tenant, deduplicated per window (the key is
  -- db/inbound.ts turnDedupeKey's: conversation and due time in epoch milliseconds).
  IF v_opened THEN
    INSERT INTO public.job_outbox AS j (tenant_id, kind, payload, not_before, dedupe_key, flow_control_key)
      VALUES (v_tenant, 'agent-turn',
        jsonb_build_object('conversationId', v_conversation_id, 'triggerMessageId', v_message_id),
        v_due,
        'agent-turn:' || v_conversation_id || ':' || floor(extract(epoch FROM v_due) * 1000)::bigint,
        v_turn ->> 'flow_control_key')
      ON CONFLICT DO NOTHING
      RETURNING to_jsonb(j.*) INTO v_job;
  END IF;

  RETURN jsonb_build_object('contact_id', v_contact_id, 'contact_created', v_contact_created,
    'conversation_id', v_conversation_id, 'message_id', v_message_id,
    'due_at', CASE WHEN v_opened THEN v_due END, 'job', v_job);
END $$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION app.ingest_customer_message(jsonb) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION app.ingest_customer_message(jsonb) TO switchboard_worker;
--> statement-breakpoint
-- A new delivery's body and what became of it, in one write at the end of its transaction (the
-- body was first inserted as `received` and then updated: two row versions, the body copied
-- twice). A resend keeps the first body and time, and counts the attempt, as
-- settle_webhook_event does. The body is still stored on its own (record_webhook_event) when
-- processing fails.
CREATE OR REPLACE FUNCTION app.store_webhook_event(
  p_id uuid, p_provider text, p_object text, p_raw_body text,
  p_outcome public.webhook_outcome, p_reason text, p_tenant_id uuid)
RETURNS void LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
BEGIN
  INSERT INTO public.webhook_events AS e
      (id, provider, object, raw_body, outcome, reason, tenant_id, processed_at, attempts)
    VALUES (p_id, p_provider, p_object, p_raw_body, p_outcome, p_reason, p_tenant_id, now(), 1)
    ON CONFLICT (id) DO UPDATE
      SET outcome = excluded.outcome, reason = excluded.reason,
          tenant_id = coalesce(excluded.tenant_id, e.tenant_id),
          processed_at = now(), attempts = e.attempts + 1;
END $$;
--> statement-breakpoint
-- The same routing read as migration 0002's, in PL/pgSQL: a SQL function with a SET clause is
-- planned again on every call (about 0.09 ms here, ten times its query), PL/pgSQL keeps the plan
-- for the session. It runs once per webhook.
CREATE OR REPLACE FUNCTION app.resolve_channel_account(p_channel public.channel, p_external_id text)
RETURNS TABLE (channel_account_id uuid, tenant_id uuid, waba_id text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = '' AS $$
BEGIN
  RETURN QUERY SELECT a.id, a.tenant_id, a.waba_id FROM public.channel_accounts a
    WHERE a.channel = p_channel AND a.external_id = p_external_id;
END $$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION app.store_webhook_event(uuid, text, text, text, public.webhook_outcome, text, uuid) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION app.store_webhook_event(uuid, text, text, text, public.webhook_outcome, text, uuid) TO switchboard_worker;
