import { Migration } from '@mikro-orm/migrations';

export class Migration20261204205014_operator_sessions extends Migration {

  override name = 'Migration20261204205014_operator_sessions';

  override up(): void | Promise<void> {
    this.addSql(`create table "operator_sessions" ("id" uuid not null, "token_hash" varchar(64) not null, "subject" varchar(255) not null, "email" varchar(320) null, "name" varchar(255) null, "role" varchar(20) not null, "issuer" varchar(512) not null, "created_at" timestamptz not null, "last_renewed_at" timestamptz not null, "expires_at" timestamptz not null, "revoked_at" timestamptz null, "revoked_by" varchar(255) null, "refresh_token_ciphertext" text null, "idp_check_at" timestamptz null, "user_agent" varchar(255) null, "ip" varchar(64) null, primary key ("id"));`);
    this.addSql(`alter table "operator_sessions" add constraint "operator_sessions_token_hash_unique" unique ("token_hash");`);
    this.addSql(`create index "operator_sessions_expires_at_index" on "operator_sessions" ("expires_at");`);
    this.addSql(`create index "operator_sessions_revoked_at_index" on "operator_sessions" ("revoked_at");`);
    this.addSql(`create index "operator_sessions_created_at_id_index" on "operator_sessions" ("created_at", "id");`);

    this.addSql(`alter table "audit_events" add "actor_email" varchar(320) null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "operator_sessions" cascade;`);

    this.addSql(`alter table "audit_events" drop column "actor_email";`);
  }

}
