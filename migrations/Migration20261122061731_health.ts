import { Migration } from '@mikro-orm/migrations';

export class Migration20261122061731_health extends Migration {

  override name = 'Migration20261122061731_health';

  override up(): void | Promise<void> {
    this.addSql(`create table "health_checks" ("id" uuid not null, "provider_id" uuid not null, "at" timestamptz not null, "source" text not null, "ok" boolean not null, "status" int null, "latency_ms" double precision null, "error" varchar(500) null, primary key ("id"));`);
    this.addSql(`create index "health_checks_provider_id_at_index" on "health_checks" ("provider_id", "at");`);
    this.addSql(`create index "health_checks_at_index" on "health_checks" ("at");`);

    this.addSql(`create table "health_transitions" ("id" uuid not null, "provider_id" uuid not null, "at" timestamptz not null, "from" text not null, "to" text not null, "reason" varchar(500) not null, primary key ("id"));`);
    this.addSql(`create index "health_transitions_provider_id_at_index" on "health_transitions" ("provider_id", "at");`);
    this.addSql(`create index "health_transitions_at_index" on "health_transitions" ("at");`);

    this.addSql(`create table "provider_health" ("provider_id" uuid not null, "status" text not null, "reason" varchar(500) not null, "consecutive_failures" int not null, "last_error" varchar(500) null, "last_check_at" timestamptz null, "last_latency_ms" double precision null, "changed_at" timestamptz not null, "next_check_at" timestamptz not null, primary key ("provider_id"));`);

    this.addSql(`alter table "health_checks" add constraint "health_checks_source_check" check ("source" in ('SCHEDULED', 'MANUAL'));`);

    this.addSql(`alter table "health_transitions" add constraint "health_transitions_from_check" check ("from" in ('HEALTHY', 'DEGRADED', 'DOWN', 'UNKNOWN'));`);
    this.addSql(`alter table "health_transitions" add constraint "health_transitions_to_check" check ("to" in ('HEALTHY', 'DEGRADED', 'DOWN', 'UNKNOWN'));`);

    this.addSql(`alter table "provider_health" add constraint "provider_health_status_check" check ("status" in ('HEALTHY', 'DEGRADED', 'DOWN', 'UNKNOWN'));`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "health_checks" cascade;`);
    this.addSql(`drop table if exists "health_transitions" cascade;`);
    this.addSql(`drop table if exists "provider_health" cascade;`);
  }

}
