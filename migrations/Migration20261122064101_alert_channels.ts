import { Migration } from '@mikro-orm/migrations';

export class Migration20261122064101_alert_channels extends Migration {

  override name = 'Migration20261122064101_alert_channels';

  override up(): void | Promise<void> {
    this.addSql(`create table "alert_channels" ("id" uuid not null, "name" varchar(200) not null, "url" varchar(2000) not null, "kinds" jsonb not null, "enabled" boolean not null, "allow_private_network" boolean not null, "secret_ciphertext" text not null, "secret_kid" varchar(64) not null, "created_by" varchar(255) not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "version" int not null default 1, primary key ("id"));`);
    this.addSql(`alter table "alert_channels" add constraint "alert_channels_name_unique" unique ("name");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "alert_channels" cascade;`);
  }

}
