import { Migration } from '@mikro-orm/migrations';

export class Migration20261204205900_provider_bulkhead extends Migration {

  override name = 'Migration20261204205900_provider_bulkhead';

  override up(): void | Promise<void> {
    // Existing providers get the defaults of bulkheadSchema; new rows always carry a value.
    this.addSql(`alter table "providers" add column "bulkhead" jsonb not null default '{"maxConcurrent":128,"maxQueue":64,"maxQueueWaitMs":1000}';`);
    this.addSql(`alter table "providers" alter column "bulkhead" drop default;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "providers" drop column "bulkhead";`);
  }

}
