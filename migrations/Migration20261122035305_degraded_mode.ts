import { Migration } from '@mikro-orm/migrations';

export class Migration20261122035305_degraded_mode extends Migration {

  override name = 'Migration20261122035305_degraded_mode';

  override up(): void | Promise<void> {
    this.addSql(`alter table "providers" add "degraded_mode" jsonb null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "providers" drop column "degraded_mode";`);
  }

}
