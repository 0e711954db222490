import { Migration } from '@mikro-orm/migrations';

export class Migration20261122023933_initial extends Migration {

  override name = 'Migration20261122023933_initial';

  override up(): void | Promise<void> {
    this.addSql(`create table "audit_events" ("id" uuid not null, "at" timestamptz not null, "actor" varchar(255) not null, "actor_role" varchar(20) not null, "action" varchar(100) not null, "target_type" varchar(50) not null, "target_id" varchar(255) not null, "request_id" varchar(128) null, "details" jsonb not null, primary key ("id"));`);
    this.addSql(`create index "audit_events_at_id_index" on "audit_events" ("at", "id");`);
    this.addSql(`create index "audit_events_target_type_target_id_index" on "audit_events" ("target_type", "target_id");`);
    this.addSql(`create index "audit_events_action_index" on "audit_events" ("action");`);

    this.addSql(`create table "providers" ("id" uuid not null, "slug" varchar(63) not null, "name" varchar(200) not null, "kind" text not null, "base_url" text not null, "enabled" boolean not null default true, "auth" jsonb not null, "timeout_ms" int not null, "retry" jsonb not null, "breaker" jsonb not null, "rate_limit" jsonb null, "health_check" jsonb not null, "pricing" jsonb not null, "fallback_ids" jsonb not null, "allow_private_network" boolean not null default false, "created_at" timestamptz not null, "updated_at" timestamptz not null, "version" int not null default 1, primary key ("id"));`);
    this.addSql(`alter table "providers" add constraint "providers_slug_unique" unique ("slug");`);
    this.addSql(`create index "providers_created_at_id_index" on "providers" ("created_at", "id");`);

    this.addSql(`alter table "providers" add constraint "providers_kind_check" check ("kind" in ('GENERIC_HTTP', 'OPENAI_COMPATIBLE'));`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "audit_events" cascade;`);
    this.addSql(`drop table if exists "providers" cascade;`);
  }

}
