import { Migration } from '@mikro-orm/migrations';

export class Migration20261204174559_circuit_isolations extends Migration {

  override name = 'Migration20261204174559_circuit_isolations';

  override up(): void | Promise<void> {
    this.addSql(`create table "circuit_isolations" ("provider_id" uuid not null, "reason" text not null, "tripped_by" varchar(255) not null, "tripped_at" timestamptz not null, primary key ("provider_id"));`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "circuit_isolations" cascade;`);
  }

}
