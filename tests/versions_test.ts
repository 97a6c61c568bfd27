/**
 * Which of a movie's versions in its folder is imported (`pickVersion`):
 * Jellyfin's naming (the folder's name, then ` - label` or `[label]`), the
 * same title and year throughout, never a stacked part's label, and a choice
 * that does not depend on the order the files were listed in: the oldest
 * file, then by name.
 */
import { deepStrictEqual, equal } from "node:assert/strict";
import { bestVersion, pickVersion, type VersionFile } from "../importers/filesystem/_versions.ts";

const heat = (stem: string, o: { title?: string; year?: number | null; since?: number } = {}) =>
  ({
    stem,
    title: o.title ?? "Heat",
    year: o.year === undefined ? 1995 : o.year,
    since: () => o.since ?? 1000,
  }) satisfies VersionFile;

/** The stem `pickVersion` imports from `files`, or null, in every order of the files. */
function picked(folder: string, files: VersionFile[]): string | null {
  const answers = new Set<string | null>();
  for (let shift = 0; shift < files.length; shift++) {
    const order = [...files.slice(shift), ...files.slice(0, shift)];
    for (const list of [order, [...order].reverse()]) {
      const choice = pickVersion(folder, list);
      answers.add(choice ? list[choice.primary].stem : null);
      if (choice) equal(choice.others.length, list.length - 1);
    }
  }
  equal(answers.size, 1, `one answer whatever the order: ${[...answers].join(", ")}`);
  return [...answers][0];
}

Deno.test("pickVersion: the oldest file; among files of one time, by name", () => {
  const f = "Heat (1995)";
  // A 4K copy added later does not take over from the version imported so far.
  equal(
    picked(f, [heat("Heat (1995) - 720p", { since: 1 }), heat("Heat (1995) - 4K", { since: 2 })]),
    "Heat (1995) - 720p",
  );
  equal(
    picked(f, [heat("Heat (1995) - 720p", { since: NaN }), heat("Heat (1995) - 4K")]),
    "Heat (1995) - 4K",
  );
  // The same time: the folder's name alone, else the highest resolution, else by label.
  equal(picked(f, [heat("Heat (1995) - 720p"), heat("Heat (1995)"), heat("Heat (1995) - 4K")]), f);
  equal(
    picked(f, [
      heat("Heat (1995) - 720p"),
      heat("Heat (1995) - 2160p HDR"),
      heat("heat (1995) [1080p]"),
    ]),
    "Heat (1995) - 2160p HDR",
  );
  equal(picked(f, [heat("Heat (1995) - UHD"), heat("Heat (1995) - 1080i")]), "Heat (1995) - UHD");
  equal(picked(f, [heat("Heat (1995) - 8K"), heat("Heat (1995) - 4K")]), "Heat (1995) - 8K");
  equal(
    picked(f, [heat("Heat (1995) - Theatrical"), heat("Heat (1995) - Director's Cut")]),
    "Heat (1995) - Director's Cut",
  );
  equal(
    picked(f, [heat("Heat (1995) - Extended"), heat("Heat (1995) - 480p")]),
    "Heat (1995) - 480p",
  );
  // Folder and file names in different Unicode forms still match.
  const nfc = "Amélie (2001)".normalize("NFC");
  const nfd = "Amélie (2001)".normalize("NFD");
  const amelie = (stem: string) => heat(stem, { title: "Amélie".normalize("NFD"), year: 2001 });
  equal(picked(nfc, [amelie(`${nfd} - 1080p`), amelie(`${nfd} - 720p`)]), `${nfd} - 1080p`);
});

Deno.test("pickVersion: not versions unless every file is named after the folder, alike", () => {
  const f = "Heat (1995)";
  equal(pickVersion(f, [heat("Heat (1995) - 1080p")]), null, "one file");
  equal(
    pickVersion(f, [heat("Heat (1995) - 1080p"), heat("Heat.1995.720p")]),
    null,
    "not named so",
  );
  equal(pickVersion(f, [heat("Heat (1995) - 1080p"), heat("Heat (1995)x")]), null, "no separator");
  equal(
    pickVersion(f, [heat("Heat (1995)"), heat("Heat (1995) {edition-Director's Cut}")]),
    null,
    "Plex's editions stay apart",
  );
  equal(
    pickVersion("Star Wars", [
      heat("Star Wars - A New Hope", { title: "Star Wars - A New Hope", year: null }),
      heat("Star Wars - Empire", { title: "Star Wars - Empire", year: null }),
    ]),
    null,
    "different titles",
  );
  equal(
    pickVersion("Dune", [
      heat("Dune - 1984", { title: "Dune", year: 1984 }),
      heat("Dune - 2021", { title: "Dune", year: 2021 }),
    ]),
    null,
    "different years",
  );
  // A stacked part's label, even one the name parser does not read as a part.
  for (
    const [a, b] of [
      ["Part A", "Part B"],
      ["ptA", "ptB"],
      ["Disk A", "Disk B"],
      ["CD 1", "CD 2"],
      ["Part I", "Part II"],
      ["Part One", "Part Two"],
      ["Vol. I", "Vol. II"],
      ["Extended Disc One", "Extended Disc Two"],
      ["Side 1", "Side 2"],
      ["1of2", "2of2"],
    ]
  ) {
    equal(pickVersion(f, [heat(`${f} - ${a}`), heat(`${f} - ${b}`)]), null, `${a} / ${b}`);
  }
  equal(
    pickVersion(f, [heat(`${f} [Part 1]`), heat(`${f} [Part 2]`)]),
    null,
    "[Part 1] / [Part 2]",
  );
  equal(
    pickVersion(f, [heat(`${f} [Movie 1]`), heat(`${f} [Movie 2]`)]),
    null,
    "[Movie 1] / [Movie 2]",
  );
  // Words that merely start alike are labels like any other.
  deepStrictEqual(
    pickVersion(f, [heat(`${f} - Partial Restoration`), heat(`${f} - Disc Art Edition`)]),
    { primary: 1, others: [0] },
  );
  deepStrictEqual(pickVersion(f, [heat("Heat (1995) - 720p"), heat("Heat (1995) [1080p]")]), {
    primary: 1,
    others: [0],
  });
  // A label that merely starts like one is no part.
  deepStrictEqual(
    pickVersion(f, [heat("Heat (1995) - Director's Cut"), heat("Heat (1995) - Cdn Broadcast")]),
    { primary: 1, others: [0] },
  );
});

Deno.test("bestVersion: the oldest, then the highest resolution named, then by name", () => {
  const names = ["Lost.S01E01.720p.HDTV", "Lost - S01E01 - Pilot", "Lost.S01E01.1080p.WEB-DL"];
  equal(bestVersion(names, [5, 5, 5]), 2);
  equal(bestVersion([...names].reverse(), [5, 5, 5]), 0);
  equal(bestVersion(names, [5, 4, 5]), 1, "the oldest first");
  equal(bestVersion(["b S01E01", "A S01E01"], [NaN, NaN]), 1, "by name, case aside");
  equal(bestVersion(["x"], [1]), 0);
});
