import { Migration } from '@mikro-orm/migrations';

export class Migration20261122033026_usage_events extends Migration {

  override name = 'Migration20261122033026_usage_events';

  override up(): void | Promise<void> {
    this.addSql(`create table "usage_events" ("id" uuid not null, "at" timestamptz not null, "request_id" varchar(128) not null, "provider_id" uuid null, "provider_slug" varchar(63) not null, "served_by_provider_id" uuid null, "key_id" varchar(64) null, "client_id" uuid null, "method" varchar(16) not null, "path_template" varchar(300) not null, "status" int not null, "outcome" text not null, "attempts" int not null, "fallback" varchar(20) null, "total_ms" double precision not null, "upstream_ms" double precision null, "request_bytes" bigint not null, "response_bytes" bigint not null, "model" varchar(200) null, "prompt_tokens" int null, "completion_tokens" int null, "cached_tokens" int null, primary key ("id"));`);
    this.addSql(`create index "usage_events_at_index" on "usage_events" ("at");`);
    this.addSql(`create index "usage_events_provider_id_at_index" on "usage_events" ("provider_id", "at");`);
    this.addSql(`create index "usage_events_client_id_at_index" on "usage_events" ("client_id", "at");`);

    this.addSql(`alter table "usage_events" add constraint "usage_events_outcome_check" check ("outcome" in ('SUCCESS', 'CLIENT_ERROR', 'UPSTREAM_ERROR', 'TIMEOUT', 'UNAVAILABLE', 'RATE_LIMITED', 'CIRCUIT_OPEN', 'BUDGET_BLOCKED', 'FALLBACK', 'UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND', 'DISABLED', 'PAYLOAD_TOO_LARGE', 'CLIENT_ABORTED'));`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "usage_events" cascade;`);
  }

}
