/**
 * The `emby` importer: movie and TV libraries of an Emby server, written
 * against Emby Server 4.7 and 4.8 (`X-Emby-Token`, routes under `/emby`,
 * `/Users/{id}/Views` and `/Users/{id}/Items`). Everything is in
 * `../shared/jellyfin_family/`, shared with `jellyfin`.
 *
 * @module
 */

import type { Importer } from "../../core/contract.ts";
import { createJellyfinImporter } from "../shared/jellyfin_family/mod.ts";

/** The Emby importer. */
const emby: Importer = createJellyfinImporter({ flavor: "emby" });
export default emby;
