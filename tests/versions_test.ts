/**
 * Which of a movie's versions in its folder is imported (`pickVersion`):
 * Jellyfin's naming (the folder's name, then ` - label` or `[label]`), the
 * same title and year throughout, and a choice that does not depend on the
 * order the files were listed in.
 */
import { deepStrictEqual, equal } from "node:assert/strict";
import { bestVersion, pickVersion, type VersionFile } from "../importers/filesystem/_versions.ts";

const heat = (stem: string, title = "Heat", year: number | null = 1995): VersionFile => ({
  stem,
  title,
  year,
});

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

Deno.test("pickVersion: the folder's name alone, else the highest resolution, else by label", () => {
  const f = "Heat (1995)";
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
  // A resolution label wins over one without.
  equal(
    picked(f, [heat("Heat (1995) - Extended"), heat("Heat (1995) - 480p")]),
    "Heat (1995) - 480p",
  );
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
      heat("Star Wars - A New Hope", "Star Wars - A New Hope", null),
      heat("Star Wars - Empire", "Star Wars - Empire", null),
    ]),
    null,
    "different titles",
  );
  equal(
    pickVersion("Dune", [heat("Dune - 1984", "Dune", 1984), heat("Dune - 2021", "Dune", 2021)]),
    null,
    "different years",
  );
  deepStrictEqual(pickVersion(f, [heat("Heat (1995) - 720p"), heat("Heat (1995) [1080p]")]), {
    primary: 1,
    others: [0],
  });
});

Deno.test("bestVersion: an episode's files by the highest resolution named, then by name", () => {
  const names = ["Lost.S01E01.720p.HDTV", "Lost - S01E01 - Pilot", "Lost.S01E01.1080p.WEB-DL"];
  equal(bestVersion(names), 2);
  equal(bestVersion([...names].reverse()), 0);
  equal(bestVersion(["b S01E01", "A S01E01"]), 1, "by name, case aside");
  equal(bestVersion(["x"]), 0);
});
