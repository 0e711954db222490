import { Migration } from '@mikro-orm/migrations';

export class Migration20261122053758_budgets extends Migration {

  override name = 'Migration20261122053758_budgets';

  override up(): void | Promise<void> {
    this.addSql(`create table "budgets" ("id" uuid not null, "name" varchar(200) not null, "scope" text not null, "provider_id" uuid null, "client_id" uuid null, "period" text not null, "time_zone" varchar(64) not null, "limit_micros" bigint not null, "thresholds" jsonb not null, "action" text not null, "created_by" varchar(255) not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "version" int not null default 1, primary key ("id"));`);
    this.addSql(`alter table "budgets" add constraint "budgets_name_unique" unique ("name");`);
    this.addSql(`create index "budgets_provider_id_index" on "budgets" ("provider_id");`);
    this.addSql(`create index "budgets_client_id_index" on "budgets" ("client_id");`);

    this.addSql(`create table "budget_alerts" ("id" uuid not null, "budget_id" uuid not null, "period_start" timestamptz not null, "threshold" int not null, "spent_micros" bigint not null, "limit_micros" bigint not null, "at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "budget_alerts" add constraint "budget_alerts_budget_id_period_start_threshold_unique" unique ("budget_id", "period_start", "threshold");`);

    this.addSql(`alter table "budgets" add constraint "budgets_scope_check" check ("scope" in ('GLOBAL', 'PROVIDER', 'CLIENT', 'CLIENT_PROVIDER'));`);
    this.addSql(`alter table "budgets" add constraint "budgets_period_check" check ("period" in ('DAY', 'WEEK', 'MONTH', 'TOTAL'));`);
    this.addSql(`alter table "budgets" add constraint "budgets_action_check" check ("action" in ('BLOCK', 'ALERT_ONLY'));`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "budgets" cascade;`);
    this.addSql(`drop table if exists "budget_alerts" cascade;`);
  }

}
