import { Migration } from '@mikro-orm/migrations';

/**
 * usage_events becomes a table partitioned by range on `at`, one partition per UTC day plus a
 * default partition (so an event whose day has no partition is kept, never refused), and its
 * primary key becomes (id, at): PostgreSQL requires the partition key in every unique key.
 *
 * An existing table is converted in this migration's transaction: it is renamed, the partitioned
 * table is created like it (same columns, defaults and checks), a partition is made for every day
 * from its oldest event to a week ahead, every row is copied across, and the old table is dropped.
 * The copy takes time in proportion to the rows kept (about a minute per 10 million here), during
 * which writers wait (the usage recorder buffers and retries).
 */
export class Migration20261204204351_usage_partitions extends Migration {

  override name = 'Migration20261204204351_usage_partitions';

  override up(): void | Promise<void> {
    this.addSql(`alter table "usage_events" rename to "usage_events_unpartitioned";`);
    this.addSql(`alter table "usage_events_unpartitioned" drop constraint "usage_events_pkey";`);
    this.addSql(`drop index "usage_events_at_index";`);
    this.addSql(`drop index "usage_events_provider_id_at_index";`);
    this.addSql(`drop index "usage_events_client_id_at_index";`);
    this.addSql(`create table "usage_events" (like "usage_events_unpartitioned" including defaults including constraints, primary key ("id", "at")) partition by range ("at");`);
    this.addSql(`create index "usage_events_at_index" on "usage_events" ("at");`);
    this.addSql(`create index "usage_events_provider_id_at_index" on "usage_events" ("provider_id", "at");`);
    this.addSql(`create index "usage_events_client_id_at_index" on "usage_events" ("client_id", "at");`);
    this.addSql(`create table "usage_events_default" partition of "usage_events" default;`);
    // Daily partitions named usage_events_YYYYMMDD (UTC), as usage-partitions.ts makes them.
    this.addSql(`do $$
      declare
        first_day date := coalesce((select (min(at) at time zone 'UTC')::date from usage_events_unpartitioned), (now() at time zone 'UTC')::date);
        last_day date := (now() at time zone 'UTC')::date + 7;
        d date;
      begin
        d := first_day;
        while d <= last_day loop
          execute format('create table %I partition of usage_events for values from (%L) to (%L)',
            'usage_events_' || to_char(d, 'YYYYMMDD'), d::timestamp at time zone 'UTC', (d + 1)::timestamp at time zone 'UTC');
          d := d + 1;
        end loop;
      end $$;`);
    this.addSql(`insert into "usage_events" select * from "usage_events_unpartitioned";`);
    this.addSql(`drop table "usage_events_unpartitioned";`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "usage_events" rename to "usage_events_partitioned";`);
    this.addSql(`create table "usage_events" (like "usage_events_partitioned" including defaults including constraints);`);
    this.addSql(`insert into "usage_events" select * from "usage_events_partitioned";`);
    this.addSql(`drop table "usage_events_partitioned" cascade;`);
    this.addSql(`alter table "usage_events" add primary key ("id");`);
    this.addSql(`create index "usage_events_at_index" on "usage_events" ("at");`);
    this.addSql(`create index "usage_events_provider_id_at_index" on "usage_events" ("provider_id", "at");`);
    this.addSql(`create index "usage_events_client_id_at_index" on "usage_events" ("client_id", "at");`);
  }

}
