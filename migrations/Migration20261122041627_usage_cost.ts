import { Migration } from '@mikro-orm/migrations';

export class Migration20261122041627_usage_cost extends Migration {

  override name = 'Migration20261122041627_usage_cost';

  override up(): void | Promise<void> {
    this.addSql(`alter table "usage_events" add "cost_micros" bigint null, add "priced_without_tokens" boolean not null default false;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "usage_events" drop column "cost_micros", drop column "priced_without_tokens";`);
  }

}
