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
  return _unwrapCdata(text)
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

/** `text` with each `<![CDATA[…]]>` replaced by its content, in one pass. */
function _unwrapCdata(text: string): string {
  let at = text.indexOf("<![CDATA[");
  if (at < 0) return text;
  let out = "";
  let from = 0;
  while (at >= 0) {
    const end = text.indexOf("]]>", at + 9);
    if (end < 0) break;
    out += text.slice(from, at) + text.slice(at + 9, end);
    from = end + 3;
    at = text.indexOf("<![CDATA[", from);
  }
  return out + text.slice(from);
}

/**
 * The first `<name …>…</name>` element at or after `from`. Linear in the
 * text, whatever it holds: the opening tag is found, then its `>`, then the
 * first closing tag after it (a regex with a lazy body would rescan the rest
 * of the text from every opening tag that has no closing one: seconds for a
 * hostile 200 KB file).
 */
function _element(
  xml: string,
  name: string,
  from = 0,
): { attributes: string; body: string; end: number } | undefined {
  const open = new RegExp(`<${name}(?=[\\s>])`, "gi");
  open.lastIndex = from;
  const o = open.exec(xml);
  if (!o) return undefined;
  const gt = xml.indexOf(">", o.index);
  if (gt < 0) return undefined;
  const close = new RegExp(`</${name}\\s*>`, "gi");
  close.lastIndex = gt + 1;
  const c = close.exec(xml);
  if (!c) return undefined;
  return {
    attributes: xml.slice(o.index + name.length + 1, gt),
    body: xml.slice(gt + 1, c.index),
    end: c.index + c[0].length,
  };
}

function _tag(xml: string, name: string): string | undefined {
  const element = _element(xml, name);
  if (!element) return undefined;
  const value = _decode(element.body);
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
  for (let u = _element(xml, "uniqueid"); u; u = _element(xml, "uniqueid", u.end)) {
    const type = /\btype\s*=\s*["']([A-Za-z0-9_]+)["']/.exec(u.attributes)?.[1]?.toLowerCase();
    const value = _safeId(_decode(u.body));
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
