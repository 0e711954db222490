import { Migration } from '@mikro-orm/migrations';

export class Migration20261122031122_credentials extends Migration {

  override name = 'Migration20261122031122_credentials';

  override up(): void | Promise<void> {
    this.addSql(`create table "clients" ("id" uuid not null, "name" varchar(200) not null, "status" text not null, "allowed_provider_ids" jsonb null, "rate_limit" jsonb null, "expires_at" timestamptz null, "key_prefix" varchar(16) not null, "key_hash" varchar(64) not null, "key_rotated_at" timestamptz not null, "created_by" varchar(255) not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "version" int not null default 1, primary key ("id"));`);
    this.addSql(`alter table "clients" add constraint "clients_name_unique" unique ("name");`);
    this.addSql(`create index "clients_key_prefix_index" on "clients" ("key_prefix");`);

    this.addSql(`create table "master_key_rotations" ("id" uuid not null, "target_kid" varchar(64) not null, "status" text not null, "total" int not null, "processed" int not null default 0, "failed" int not null default 0, "last_error" text null, "started_by" varchar(255) not null, "started_at" timestamptz not null, "updated_at" timestamptz not null, "finished_at" timestamptz null, primary key ("id"));`);

    this.addSql(`create table "provider_keys" ("id" uuid not null, "provider_id" uuid not null, "label" varchar(200) not null, "status" text not null, "weight" int not null default 1, "ciphertext" text null, "kid" varchar(64) null, "last4" varchar(4) not null, "fingerprint" varchar(32) not null, "grace_until" timestamptz null, "expires_at" timestamptz null, "last_used_at" timestamptz null, "problem" text null, "replaced_by_id" uuid null, "created_by" varchar(255) not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "version" int not null default 1, primary key ("id"));`);
    this.addSql(`create index "provider_keys_provider_id_index" on "provider_keys" ("provider_id");`);
    this.addSql(`create index "provider_keys_kid_index" on "provider_keys" ("kid");`);
    this.addSql(`create index "provider_keys_status_grace_until_index" on "provider_keys" ("status", "grace_until");`);
    this.addSql(`create index "provider_keys_status_expires_at_index" on "provider_keys" ("status", "expires_at");`);

    this.addSql(`alter table "providers" add "key_pattern" text null;`);

    this.addSql(`alter table "clients" add constraint "clients_status_check" check ("status" in ('ACTIVE', 'REVOKED'));`);

    this.addSql(`alter table "master_key_rotations" add constraint "master_key_rotations_status_check" check ("status" in ('RUNNING', 'DONE', 'FAILED'));`);

    this.addSql(`alter table "provider_keys" add constraint "provider_keys_provider_id_foreign" foreign key ("provider_id") references "providers" ("id") on delete cascade;`);
    this.addSql(`alter table "provider_keys" add constraint "provider_keys_status_check" check ("status" in ('ACTIVE', 'RETIRING', 'REVOKED', 'EXPIRED', 'INVALID'));`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "clients" cascade;`);
    this.addSql(`drop table if exists "master_key_rotations" cascade;`);
    this.addSql(`drop table if exists "provider_keys" cascade;`);

    this.addSql(`alter table "providers" drop column "key_pattern";`);
  }

}
