import { Migration } from '@mikro-orm/migrations';

export class Migration20261122055208_daily_rollups extends Migration {

  override name = 'Migration20261122055208_daily_rollups';

  override up(): void | Promise<void> {
    this.addSql(`create table "usage_days" ("day" timestamptz not null, "time_zone" varchar(64) not null, "day_end" timestamptz not null, "rolled_at" timestamptz not null, primary key ("day", "time_zone"));`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "usage_days" cascade;`);
  }

}
