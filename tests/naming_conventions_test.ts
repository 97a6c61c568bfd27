/**
 * The organized-library conventions of issue 16, one test per class, with
 * paths written for these tests (not the reference vectors).
 */
import { deepStrictEqual } from "node:assert/strict";
import { parseMediaPath, type ParseOptions } from "../importers/shared/naming/mod.ts";
import { describeFolder, parseFolderFiles } from "../importers/shared/naming/mod.ts";

type Expect = Partial<ReturnType<typeof parseMediaPath>>;

function check(path: string, expected: Expect, options: ParseOptions = {}) {
  const got = parseMediaPath(path, options) as unknown as Record<string, unknown>;
  const picked: Record<string, unknown> = {};
  for (const key of Object.keys(expected)) picked[key] = got[key];
  deepStrictEqual(picked, expected, path);
}

Deno.test("multi-episode files with the marker written again", () => {
  const two = { kind: "episode", season: 1, episode: 1, episodeEnd: 2 } as const;
  check("Show/Show - S01E01.S01E02 - Title.mkv", { ...two, episodeTitle: "Title" });
  check("Show/Show.S01E01S01E02.mkv", { ...two, episodeTitle: null });
  check("Show/Show 1x01_1x02.mkv", two);
  check("Show/Show - S01E01 & S01E02 & S01E03.mkv", { ...two, episodeEnd: 3 });
  check("Show/Show.S01.E01.E02.mkv", two);
  // A marker of another season is no range.
  check("Show/Show S01E01S02E01.mkv", { season: 1, episode: 1, episodeEnd: null });
});

Deno.test("Episode N, Ep 03, Part III, Pt. 2 in a show folder without season folders", () => {
  check("Documentary (2019)/Documentary - Episode 3.mkv", {
    kind: "episode",
    title: "Documentary",
    year: 2019,
    episode: 3,
    season: null,
  });
  check("Nature/Ep 03 - Rivers.mkv", { kind: "episode", episode: 3, episodeTitle: "Rivers" });
  check("War Diaries/War Diaries - Part III.mkv", { kind: "episode", episode: 3 });
  check("War Diaries/War Diaries Pt. 2.mkv", { kind: "episode", episode: 2 });
  check("Mini/Part 2 - The Crossing.mkv", { kind: "episode", episode: 2 });
  // A movie's own words stay in its title: a year follows, or it is a stacked part.
  check("Star Wars Episode 1 - The Phantom Menace (1999).mkv", { kind: "movie", year: 1999 });
  check("Movie Part 1 (2010).mkv", { kind: "movie", title: "Movie Part 1", year: 2010 });
  check("Kill Bill (2003)/Kill Bill (2003) - part2.mkv", { kind: "movie", part: 2 });
});

Deno.test("numbered files directly in a show folder", () => {
  check("Show/02 - Title.mkv", { kind: "episode", title: "Show", episode: 2, season: null });
  check("Show/102 - Title.mkv", { kind: "episode", season: 1, episode: 2, episodeTitle: "Title" });
  check("Show/003. Title.mkv", { kind: "episode", episode: 3, season: null });
  // Inside a season folder a number that does not start with its season is the episode.
  check("Show/Season 2/112 - Title.mkv", { season: 2, episode: 112 });
  check("Show/Season 1/112 - Title.mkv", { season: 1, episode: 12 });
  // Loose numbers are no marker on their own…
  check("Apollo 13.mkv", { kind: "movie", title: "Apollo 13" });
  check("2001 - A Space Odyssey.mkv", { kind: "movie" });
  // …but are next to an episode, or next to other number-only files (sibling evidence).
  const mixed = parseFolderFiles("Show", ["Show - S01E03.mkv", "Show 04.mkv"]);
  deepStrictEqual(mixed.map((p) => [p.kind, p.episode]), [["episode", 3], ["episode", 4]]);
  const bare = parseFolderFiles("Show", ["01.mkv", "02.mkv"]);
  deepStrictEqual(bare.map((p) => [p.kind, p.title, p.episode]), [
    ["episode", "Show", 1],
    ["episode", "Show", 2],
  ]);
  // Loose files in the root are unrelated: no sibling evidence there.
  const root = parseFolderFiles("", ["Show - S01E03.mkv", "Apollo 13.mkv"]);
  deepStrictEqual(root.map((p) => p.kind), ["episode", "movie"]);
  // A movies library keeps its hint for weak numbers.
  const movies = parseFolderFiles("Show", ["01.mkv", "02.mkv"], { hint: "movie" });
  deepStrictEqual(movies.map((p) => p.kind), ["movie", "movie"]);
});

Deno.test("absolute numbering (anime) outside season folders", () => {
  check("Anime/Show (2009)/Show - 001 - Title.mkv", {
    kind: "episode",
    title: "Show",
    year: 2009,
    season: null,
    episode: 1,
    episodeTitle: "Title",
  });
  check("[Group] Show - 012 [1080p].mkv", { kind: "episode", title: "Show", episode: 12 });
  check("Show/Show - 1045 [720p].mkv", { kind: "episode", episode: 1045, season: null });
  check("Show/Show - 1044v2 [720p].mkv", { kind: "episode", episode: 1044 });
});

Deno.test("four- and five-digit episode numbers", () => {
  check("Soap/Soap - S41E10478 - Title.mkv", {
    kind: "episode",
    season: 41,
    episode: 10478,
    episodeTitle: "Title",
  });
  check("Soap/Soap - S41E1047-E1048.mkv", { season: 41, episode: 1047, episodeEnd: 1048 });
});

Deno.test("disc folders: the item is the folder holding the disc", () => {
  check("Show/Show - S02E13/BDMV/STREAM/00001.m2ts", {
    kind: "episode",
    title: "Show",
    season: 2,
    episode: 13,
    disc: "bluray",
    part: 1,
  });
  check("Movie (1999)/VIDEO_TS/VTS_01_2.VOB", {
    kind: "movie",
    title: "Movie",
    year: 1999,
    disc: "dvd",
    part: 102,
  });
  check("Movie (1999)/Movie (1999).mkv", { disc: null });
});

Deno.test("season folder variants", () => {
  for (
    const [folder, season] of [
      ["S 01", 1],
      ["Season 2 - The Return", 2],
      ["Staffel 02", 2],
      ["Saison 3", 3],
      ["Temporada 4", 4],
      ["Series 2", 2],
    ] as const
  ) {
    check(`Show/${folder}/05.mkv`, { kind: "episode", title: "Show", season, episode: 5 });
  }
});

Deno.test("year first, and Part 1 inside a movie title", () => {
  check("(1995) Movie Name.mkv", { kind: "movie", title: "Movie Name", year: 1995 });
  check("Movies/(1995) Movie Name/(1995) Movie Name.mkv", { title: "Movie Name", year: 1995 });
  check("Movie Part 1 (2010).mkv", { title: "Movie Part 1", year: 2010, part: null });
});

Deno.test("release names kept in organized folders", () => {
  check("Show (2010)/Season 1/Show.Name.S01E02.720p.HDTV.x264-GRP.mkv", {
    kind: "episode",
    title: "Show",
    year: 2010,
    season: 1,
    episode: 2,
    episodeTitle: null,
  });
  check("Show/Show.2020.01.31.mkv", {
    kind: "episode",
    title: "Show",
    airDate: "2020-01-31",
    season: null,
  });
  check("News/News.15-05-2018.720p.mkv", { kind: "episode", airDate: "2018-05-15" });
});

Deno.test("a movies hint yields to an unambiguous episode name, and says so", () => {
  check("Films/Show - S01E02.mkv", { kind: "episode", hintOverridden: true }, { hint: "movie" });
  check("Films/Show 2x03.mkv", { kind: "episode", hintOverridden: true }, { hint: "movie" });
  check("Films/Show - Episode 3.mkv", { kind: "movie", hintOverridden: false }, {
    hint: "movie",
  });
  check("Films/Show 2020-01-31.mkv", { kind: "movie", hintOverridden: false }, { hint: "movie" });
  check("Films/Show - S01E02.mkv", { kind: "episode", hintOverridden: false });
});

Deno.test("release folders name the files inside them", () => {
  // An obfuscated file in an episode's release folder is that episode (Sonarr's rule).
  check("Show.S01E02.1080p.WEB-GRP/c48db7d2aeb040e8a920a9fd6effcbf4.mkv", {
    kind: "episode",
    title: "Show",
    season: 1,
    episode: 2,
    container: "mkv",
  });
  // A movie file without a year in a `Title (Year)` folder is that movie (Plex, Radarr).
  check("Movies/Heat (1995)/grp-ht.dvdrip.xvid.avi", {
    kind: "movie",
    title: "Heat",
    year: 1995,
  });
  check("Movies/Somewhere.2010.DVDRip.XviD-GRP/grp-smwhr.avi", { title: "Somewhere" });
  // A file with its own year keeps its own title.
  check("Collection (2009)/Other Film (2009).mkv", { title: "Other Film", year: 2009 });
  // The release folder gives the episode title the file name lacks.
  check("Show/Season 6/Show.S06E09.My.Title.DVDRip.XviD-GRP/show.s06e09.dvdrip.avi", {
    season: 6,
    episode: 9,
    episodeTitle: "My Title",
  });
});

Deno.test("a show's own folder, then a number; a movie sequel stays a movie", () => {
  check("Series/Neverwhere/Neverwhere.05.Down.Street.avi", {
    kind: "episode",
    title: "Neverwhere",
    episode: 5,
    episodeTitle: "Down Street",
  });
  check("Movies/Apollo 13/Apollo 13.mkv", { kind: "movie", title: "Apollo 13" });
  check("Bad Boys 2 1080i.mkv", { kind: "movie", title: "Bad Boys 2" });
  check("Fantastic Mr Fox/Fantastic.Mr.Fox.2009.DVDRip.AAC.5.1.mkv", { kind: "movie", year: 2009 });
  check("The_Italian_Job.mkv", { kind: "movie", title: "The Italian Job" });
  check("A Very Harold & Kumar 3D Christmas (2011).mkv", {
    title: "A Very Harold & Kumar 3D Christmas",
  });
});

Deno.test("series prefixes: season words, bare years, articles, absolute ranges", () => {
  check("Show Name - Temporada 4 [HDTV][Cap.408].mkv", { kind: "episode", season: 4, episode: 8 });
  check("Mastercook Italia - Stagione 6 (2016) 720p ep13 spyro.mkv", {
    title: "Mastercook Italia",
    year: 2016,
    season: 6,
    episode: 13,
    episodeTitle: "spyro",
  });
  check("DC's Legends of Tomorrow 2016 - S02E02.mkv", {
    title: "DC's Legends of Tomorrow",
    year: 2016,
  });
  check("Simpsons, The 12x08 Title.avi", { title: "The Simpsons", season: 12, episode: 8 });
  check("Show Name - 313-315 - s16e03-05.mkv", {
    title: "Show Name",
    season: 16,
    episode: 3,
    episodeEnd: 5,
  });
  check("Show - S02E03 Part 2.mkv", { season: 2, episode: 3, part: 2, episodeTitle: null });
  // Sonarr's anime format writes the absolute number after the episode's: not the title.
  check("Show (2010) - S01E05 - 005 - Title [HDTV-720p v2][JA]-Grp.mkv", {
    season: 1,
    episode: 5,
    episodeTitle: "Title",
  });
  check("Show - S02E01 - 013 [HDTV-720p].mkv", { episode: 1, episodeTitle: null });
  check("Show - S03E05 - 24 - Hours.mkv", { episode: 5, episodeTitle: "24 - Hours" });
  check("Show - S03E12 - 005 - Title.mkv", { episode: 12, episodeTitle: "005 - Title" });
  // The dot that closes an initialism stays.
  check("House M.D. (2004)/Season 01/House M.D. (2004) - S01E01 - Pilot.mkv", {
    title: "House M.D.",
  });
  check("Show - S01E01 - The A.B.C. Murders.mkv", { episodeTitle: "The A.B.C. Murders" });
  check("Mr. Robot (2015)/Season 1/Mr. Robot - S01E01.mkv", { title: "Mr. Robot" });
  // Plex's split episodes end like a stacked movie: `- pt1`, `.cd2`, `- disc2`, `- part1`.
  check("Show - S01E01 - Pilot - pt1.mkv", { episode: 1, part: 1, episodeTitle: "Pilot" });
  check("show.s01e01.cd2.avi", { season: 1, episode: 1, part: 2, episodeTitle: null });
  check("Show - S01E01-E02 - disc2.mkv", { episode: 1, episodeEnd: 2, part: 2 });
  check("Show - S01E05 - Apollo 13.mkv", { episode: 5, part: null, episodeTitle: "Apollo 13" });
  check("Show - S01E01 - Pilot [2011-09-19].mkv", { episode: 1, airDate: "2011-09-19" });
  check("Rick and Morty Season 1 [1080p].mkv", { kind: "episode", season: 1, episode: null });
});

Deno.test("Sonarr's anime multi-episode files: a range, or the numbers written in turn", () => {
  const two = { kind: "episode", season: null, episode: 100, episodeEnd: 101 } as const;
  check("South Park/South Park - 100-101 - City Sushi.mkv", { ...two, episodeTitle: "City Sushi" });
  check("Naruto/[Group] Naruto - 100-101 [1080p].mkv", { ...two, title: "Naruto" });
  check("South Park/South Park - 100 - 101 - 102 - City Sushi.mkv", {
    ...two,
    episodeEnd: 102,
    episodeTitle: "City Sushi",
  });
  // Not a range: numbers that do not go up, or a next number that is a title's word.
  check("Show/Show - 12-10 - Title.mkv", { episodeEnd: null });
  check("Show/Show - 100 - 101 Dalmatians.mkv", {
    episode: 100,
    episodeEnd: null,
    episodeTitle: "101 Dalmatians",
  });
  check("Show/Show - 100 - 102 - Title.mkv", { episode: 100, episodeEnd: null });
});

Deno.test("Part N followed by a movie's year is a movie, not an episode", () => {
  // Radarr writes a title's colon as ` - `: `Friday the 13th Part VII: The New Blood`.
  const friday = "Friday the 13th Part VII - The New Blood (1988)";
  const movie = {
    kind: "movie",
    title: "Friday the 13th Part VII - The New Blood",
    year: 1988,
  } as const;
  check(`Movies/${friday}/${friday}.mkv`, movie);
  check(`Movies/${friday}.mkv`, movie);
  check("Movies/A Nightmare on Elm Street Part 2 - Freddy's Revenge (1985).mkv", {
    kind: "movie",
    year: 1985,
  });
  // A part with a version's label after it stays an episode: as movies, the parts would not
  // stack, and each would air as the whole film.
  check("Heat (1995)/Heat (1995) - part2 - 1080p.mkv", { kind: "episode", episode: 2 });
  // A title after the part, and no year after it: a miniseries' episode, as before.
  check("Band of Brothers (2001)/Band of Brothers (2001) - Part 2 - Day of Days.mkv", {
    kind: "episode",
    episode: 2,
    episodeTitle: "Day of Days",
  });
});

Deno.test("a season numbered by its year is no year of a show that has a folder", () => {
  const season = {
    kind: "episode",
    title: "MythBusters",
    season: 2003,
    episode: 1,
    year: null,
  } as const;
  check("MythBusters/Season 2003/MythBusters - S2003E01 - Jet Assisted Chevy.mkv", season);
  check("MythBusters/MythBusters - S2004E01.mkv", { ...season, season: 2004 });
  // The show's own year still comes from its folder; a lone file has only the season's.
  check("Show (1999)/Season 2003/Show - S2003E01.mkv", { year: 1999, season: 2003 });
  check("Looney Tunes 1940x01 Porky's Last Stand.mkv", { year: 1940, season: 1940 });
});

Deno.test("a month-first date is read where the day cannot come first, and is no episode", () => {
  const date = {
    kind: "episode",
    title: "The Daily Show",
    episode: null,
    airDate: "2024-03-25",
  } as const;
  check("The Daily Show/Season 2024/The Daily Show - 03.25.2024 - Guest A.mkv", {
    ...date,
    episodeTitle: "Guest A",
  });
  check("The Daily Show/The Daily Show - 03-25-2024.mkv", date);
  // Where both readings are dates, the day comes first (Kodi's `dd.mm.yyyy`).
  check("News/News.05-11-2018.mkv", { airDate: "2018-11-05" });
});

Deno.test("anime numbering after a season marker: `Show S2 - 01`", () => {
  check("Mushoku Tensei/[SubsPlease] Mushoku Tensei S2 - 01 (1080p) [ABCD1234].mkv", {
    kind: "episode",
    title: "Mushoku Tensei",
    season: 2,
    episode: 1,
  });
  check("Show/Show Season 1 - 05v2 [720p].mkv", { season: 1, episode: 5 });
  // A season with no number after it stays a season's special or pack.
  check("Show/Show S06 - Special.mkv", { season: 6, episode: null, episodeTitle: "Special" });
});

Deno.test("an episode title keeps no bracket of the marker's or of the release tags'", () => {
  check("The Office/The Office - [2x01] - The Dundies.mkv", {
    season: 2,
    episode: 1,
    episodeTitle: "The Dundies",
  });
  check("Angel/Angel - [01x01].mkv", { episode: 1, episodeTitle: null });
  check("Show Name/Show Name - 01 [BD 1080p Hi10P FLAC].mkv", { episode: 1, episodeTitle: null });
});

Deno.test("a folder named by a number alone that holds season folders is a show", () => {
  const folder = describeFolder("tv/24", { files: [], folders: ["Season 01"] });
  deepStrictEqual([folder.role, folder.title], ["series", "24"]);
  // Holding files, it is still read as a season folder of the show above.
  deepStrictEqual(describeFolder("Show/2", { files: ["05.mkv"], folders: [] }).role, "season");
});

Deno.test("a show named by a number alone, above its season folder, is the show", () => {
  // `parse` has no library root: `24` was read as a season and the show was the folder above.
  check("tv/24/Season 01/24 - S01E01.mkv", { kind: "episode", title: "24", season: 1 });
  check("tv/911/Season 2/911 - S02E01.mkv", { title: "911", season: 2 });
  check("tv/Show/1/Show - S01E01.mkv", { title: "Show", season: 1 });
});

Deno.test("creditless openings and endings are extras; release tags after an extras word", () => {
  const show = "Sousou no Frieren";
  for (const word of ["NCOP", "NCED1", "ncop2"]) {
    check(`${show}/[Group] ${show} - ${word} [1080p].mkv`, { extraType: "other" });
  }
  check("Movie (2001)/Movie (2001)-trailer [1080p].mkv", { extraType: "trailer" });
  // The episodes beside them stay episodes.
  check(`${show}/[Group] ${show} - 12 [1080p].mkv`, {
    kind: "episode",
    episode: 12,
    extraType: null,
  });
  check("Show/Show - S01E01 [1080p].mkv", { kind: "episode", extraType: null });
});

Deno.test("a recap numbered between two episodes (`- 12.5`) is no second episode 12", () => {
  const show = "Sousou no Frieren";
  const files = [12, "12.5", 13].map((n) => `[Group] ${show} - ${n} [1080p].mkv`);
  const parsed = parseFolderFiles(show, files);
  deepStrictEqual(parsed.map((p) => [p.kind, p.title, p.episode]), [
    ["episode", show, 12],
    ["episode", show, null],
    ["episode", show, 13],
  ]);
  check("Movies/Movie 2 - 1.5 Hours.mkv", { kind: "movie" });
  // After a season marker too: the recap is the season's, not its episode 12.
  check("Mushoku Tensei/[G] Mushoku Tensei S2 - 12.5 [1080p].mkv", { season: 2, episode: null });
  // A dotted release tag after the number is no fraction.
  check("Show/Show S2 - 12.1080p.mkv", { season: 2, episode: 12 });
  check("Show/Show.S2.-.12.720p.WEB.mkv", { season: 2, episode: 12 });
});

Deno.test("an episode titled by a year after ` - ` keeps its title", () => {
  check("1923 (2022)/Season 01/1923 (2022) - S01E01 - 1923.mkv", {
    title: "1923",
    year: 2022,
    episodeTitle: "1923",
  });
  check("Show/Show - S03E05 - 1984.mkv", { episodeTitle: "1984", year: null });
  // A year where a dotted release name's title would be is the show's year, as before.
  check("Show.Name.E02.2010.mkv", { episodeTitle: null, year: 2010 });
});

Deno.test("Sonarr's anime multi-episode range after the marker is not the title", () => {
  check("Bleach/Bleach - S01E01-E02 - 001-002 - The Day I Became a Shinigami.mkv", {
    episode: 1,
    episodeEnd: 2,
    episodeTitle: "The Day I Became a Shinigami",
  });
});

Deno.test("a marker in brackets leaves no open bracket in the show's name", () => {
  check("Show (2019) (S01E02).mkv", {
    kind: "episode",
    title: "Show",
    year: 2019,
    season: 1,
    episode: 2,
  });
  check("Show (Ep 3).mkv", { kind: "episode", title: "Show", episode: 3 });
  check("[Group] Show (E03) [1080p].mkv", { kind: "episode", title: "Show", episode: 3 });
  // A bracket the name closes is the name's own.
  check("(500) Days of Summer (S01E01).mkv", { title: "(500) Days of Summer", season: 1 });
  check("Show/(S01E02).mkv", { title: "Show", season: 1, episode: 2 });
});
