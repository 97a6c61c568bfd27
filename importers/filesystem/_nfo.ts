/**
 * Kodi-style `.nfo` sidecars (`tvshow.nfo`, `movie.nfo`, `<episode>.nfo`):
 * a small, forgiving tag extractor, no XML dependency.
 *
 * Only the first occurrence of each tag counts (episode nfo files may hold
 * several `<episodedetails>` for a multi-episode file; the first is the file's
 * own). A file that is not XML (some tools write a bare IMDb URL) still yields
 * the ids it mentions.
 *
 * @module
 */

/** What a sidecar says; absent facts are undefined. */
export interface NfoInfo {
  /** `<title>`. */
  title?: string;
  /** `<year>`, or the year of `<premiered>` / `<aired>`. */
  year?: number;
  /** `<season>`. */
  season?: number;
  /** `<episode>`. */
  episode?: number;
  /** `<aired>` as `YYYY-MM-DD`. */
  airDate?: string;
  /** Provider ids from `<uniqueid type="…">`, `<imdbid>`, `<tmdbid>`, `<tvdbid>`, or an IMDb URL. */
  ids: Record<string, string>;
}

const _ENTITIES: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
};

function _decode(text: string): string {
  return text
    .replace(/<!\[CDATA\[([\s\S]*?)\]\]>/g, "$1")
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
      if (e[0] === "#") {
        const code = e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : Number(e.slice(1));
        return Number.isFinite(code) && code > 0 && code < 0x110000
          ? String.fromCodePoint(code)
          : m;
      }
      return _ENTITIES[e.toLowerCase()] ?? m;
    })
    .trim();
}

function _tag(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}(?:\\s[^>]*)?>([\\s\\S]*?)</${name}\\s*>`, "i").exec(xml);
  if (!m) return undefined;
  const value = _decode(m[1]);
  return value === "" ? undefined : value;
}

function _int(value: string | undefined, max: number): number | undefined {
  if (value === undefined || !/^\d{1,5}$/.test(value)) return undefined;
  const n = Number(value);
  return n <= max ? n : undefined;
}

function _safeId(value: string): string | undefined {
  const v = value.trim();
  return /^[A-Za-z0-9._-]{1,100}$/.test(v) ? v : undefined;
}

/** Parses the text of a `.nfo` sidecar. Never throws. */
export function parseNfo(text: string): NfoInfo {
  const xml = text.slice(0, 1_000_000);
  const ids: Record<string, string> = {};
  for (const m of xml.matchAll(/<uniqueid\b([^>]*)>([\s\S]*?)<\/uniqueid\s*>/gi)) {
    const type = /\btype\s*=\s*["']([A-Za-z0-9_]+)["']/.exec(m[1])?.[1]?.toLowerCase();
    const value = _safeId(_decode(m[2]));
    if (type && value && /^[a-z0-9_]{1,40}$/.test(type) && ids[type] === undefined) {
      ids[type] = value;
    }
  }
  for (const provider of ["imdb", "tmdb", "tvdb"]) {
    const value = _tag(xml, `${provider}id`);
    const safe = value === undefined ? undefined : _safeId(value);
    if (safe && ids[provider] === undefined) ids[provider] = safe;
  }
  const legacy = _tag(xml, "id");
  if (legacy && /^tt\d{5,}$/.test(legacy) && ids.imdb === undefined) ids.imdb = legacy;
  const url = /imdb\.com\/title\/(tt\d{5,})/i.exec(xml);
  if (url && ids.imdb === undefined) ids.imdb = url[1];

  const info: NfoInfo = { ids };
  const title = _tag(xml, "title");
  if (title !== undefined) info.title = title.slice(0, 1000);
  const aired = _tag(xml, "aired") ?? _tag(xml, "premiered");
  const airedDate = aired && /^(\d{4})-(\d{2})-(\d{2})/.exec(aired);
  const year = _int(_tag(xml, "year"), 3000) ?? (airedDate ? Number(airedDate[1]) : undefined);
  if (year !== undefined && year >= 1800) info.year = year;
  const season = _int(_tag(xml, "season"), 100_000);
  if (season !== undefined) info.season = season;
  const episode = _int(_tag(xml, "episode"), 100_000);
  if (episode !== undefined) info.episode = episode;
  if (airedDate && _tag(xml, "aired") !== undefined) info.airDate = airedDate[0];
  return info;
}
