import { Migration } from '@mikro-orm/migrations';

export class Migration20261122054346_usage_rollups extends Migration {

  override name = 'Migration20261122054346_usage_rollups';

  override up(): void | Promise<void> {
    this.addSql(`create table "usage_hours" ("hour" timestamptz not null, "writes" int not null, "rolled_writes" int not null default 0, "rolled_at" timestamptz null, primary key ("hour"));`);

    this.addSql(`create table "usage_rollups" ("id" bigserial primary key, "hour" timestamptz not null, "grain" smallint not null, "provider_id" uuid null, "client_id" uuid null, "outcome" text not null, "calls" int not null, "total_ms_sum" double precision not null, "upstream_calls" int not null, "upstream_ms_sum" double precision not null, "prompt_tokens" bigint not null, "completion_tokens" bigint not null, "cached_tokens" bigint not null, "cost_micros" bigint not null, "priced_without_tokens" int not null, "request_bytes" bigint not null, "response_bytes" bigint not null, "total_hist" int[] not null, "upstream_hist" int[] not null);`);
    this.addSql(`create index "usage_rollups_grain_hour_index" on "usage_rollups" ("grain", "hour");`);
    this.addSql(`create index "usage_rollups_grain_provider_id_hour_index" on "usage_rollups" ("grain", "provider_id", "hour");`);

    // Hours that already have events are marked unrolled, so reports read them raw until rolled up.
    this.addSql(`insert into "usage_hours" ("hour", "writes") select distinct date_trunc('hour', "at", 'UTC'), 1 from "usage_events";`);
    this.addSql(`alter table "usage_rollups" add constraint "usage_rollups_outcome_check" check ("outcome" in ('SUCCESS', 'CLIENT_ERROR', 'UPSTREAM_ERROR', 'TIMEOUT', 'UNAVAILABLE', 'RATE_LIMITED', 'CIRCUIT_OPEN', 'BUDGET_BLOCKED', 'FALLBACK', 'UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND', 'DISABLED', 'PAYLOAD_TOO_LARGE', 'CLIENT_ABORTED'));`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "usage_hours" cascade;`);
    this.addSql(`drop table if exists "usage_rollups" cascade;`);
  }

}
