/**
 * The `jellyfin` importer: movie and TV libraries of a Jellyfin server,
 * 10.8 through 12.0 (routes chosen from the version `/System/Info/Public`
 * reports). Everything is in `../shared/jellyfin_family/`, shared with `emby`.
 *
 * @module
 */

import type { Importer } from "../../core/contract.ts";
import { createJellyfinImporter } from "../shared/jellyfin_family/mod.ts";

/** The Jellyfin importer. */
const jellyfin: Importer = createJellyfinImporter({ flavor: "jellyfin" });
export default jellyfin;
