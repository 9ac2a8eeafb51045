/**
 * The ordered list of schema migrations. Add a file `NNN_name.ts` exporting `version`, `name` and
 * `sql` (or `up(db)`), then append it here. Never edit a migration that has shipped.
 */
import type { DatabaseSync } from "node:sqlite";
import * as m001 from "./001_initial.ts";
import * as m002 from "./002_devices.ts";
import * as m003 from "./003_paging.ts";
import * as m004 from "./004_cdr_link.ts";
import * as m010 from "./010_subscriptions.ts";
import * as m015 from "./015_discovered_devices.ts";
import * as m050 from "./050_mail_outbox.ts";
import * as m055 from "./055_call_features.ts";
import * as m056 from "./056_time_conditions.ts";
import * as m057 from "./057_ring_groups.ts";
import * as m060 from "./060_voicemail.ts";
import * as m061 from "./061_ivr.ts";
import * as m062 from "./062_voicemail_transcripts.ts";
import * as m070 from "./070_trunks.ts";
import * as m071 from "./071_outbound_routes.ts";
import * as m072 from "./072_e911_locations.ts";
import * as m073 from "./073_e911_seen.ts";
import * as m074 from "./074_cdr_trunk.ts";
import * as m075 from "./075_paging_max_page.ts";
import * as m078 from "./078_fraud_calls.ts";
import * as m065 from "./065_conference.ts";
import * as m066 from "./066_recordings.ts";
import * as m067 from "./067_queues.ts";
import * as m068 from "./068_recording_queue.ts";

/** One schema step: either plain SQL or a function run inside the migration's transaction. */
export interface Migration {
  version: number;
  name: string;
  sql?: string;
  up?: (db: DatabaseSync) => void;
}

/** Every migration the code knows, ascending by version. */
export const MIGRATIONS: readonly Migration[] = [
  m001,
  m002,
  m003,
  m004,
  m010,
  m015,
  m050,
  m055,
  m056,
  m057,
  m060,
  m061,
  m062,
  m070,
  m071,
  m072,
  m073,
  m074,
  m075,
  m078,
  m065,
  m066,
  m067,
  m068,
];
