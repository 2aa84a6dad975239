CREATE TABLE "private"."trace_export_headers" (
	"tenant_id" uuid PRIMARY KEY NOT NULL,
	"headers" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "private"."trace_export_headers" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "tenant_settings" ADD COLUMN "trace_message_text" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "tenant_settings" ADD COLUMN "trace_endpoint" text;--> statement-breakpoint
ALTER TABLE "tenant_settings" ADD COLUMN "trace_header_names" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "private"."trace_export_headers" ADD CONSTRAINT "trace_export_headers_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE POLICY "trace_export_headers: worker of tenant" ON "private"."trace_export_headers" AS PERMISSIVE FOR ALL TO "switchboard_worker" USING ("private"."trace_export_headers"."tenant_id" = app.current_tenant_id()) WITH CHECK ("private"."trace_export_headers"."tenant_id" = app.current_tenant_id());