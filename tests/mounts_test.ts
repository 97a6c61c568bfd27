/**
 * A granted path on an fstab mount point with nothing mounted (an unmounted
 * NAS) is refused before any plugin runs, rather than read as an empty library.
 */

import assert from "node:assert/strict";
import { RetrovueError } from "../core/errors.ts";
import { assertMounted, findUnmounted } from "../registry/_mounts.ts";

const FSTAB = `# /etc/fstab
UUID=abc  /               ext4  defaults  0 1
UUID=def  none            swap  sw        0 0
nas:/tv   /mnt/nas        nfs   defaults  0 0
nas:/kids /mnt/My\\040Kids nfs   noauto    0 0
/dev/sdb1 /media/usb      ext4  nofail    0 2
`;

const MOUNTS_ALL = `/dev/sda1 / ext4 rw 0 0
nas:/tv /mnt/nas nfs4 rw 0 0
nas:/kids /mnt/My\\040Kids nfs4 rw 0 0
/dev/sdb1 /media/usb ext4 rw 0 0
`;

Deno.test("mounts: everything listed is mounted: nothing to report", () => {
  const paths = ["/mnt/nas/tv", "/mnt/My Kids", "/media/usb/movies", "/home/me/videos"];
  assert.equal(findUnmounted(paths, { fstab: FSTAB, mounts: MOUNTS_ALL }), undefined);
});

Deno.test("mounts: a path on an unmounted fstab mount point is found, escapes decoded", () => {
  const mounts = "/dev/sda1 / ext4 rw 0 0\n/dev/sdb1 /media/usb ext4 rw 0 0\n";
  assert.deepEqual(findUnmounted(["/home/x", "/mnt/nas/tv"], { fstab: FSTAB, mounts }), {
    path: "/mnt/nas/tv",
    mountPoint: "/mnt/nas",
  });
  assert.deepEqual(findUnmounted(["/mnt/My Kids"], { fstab: FSTAB, mounts }), {
    path: "/mnt/My Kids",
    mountPoint: "/mnt/My Kids",
  });
  // A sibling whose name starts alike is not on the mount point.
  assert.equal(findUnmounted(["/mnt/nas2/tv"], { fstab: FSTAB, mounts }), undefined);
  // The root filesystem and swap never count.
  assert.equal(findUnmounted(["/srv/media"], { fstab: FSTAB, mounts: "" }), undefined);
});

Deno.test("mounts: assertMounted is UNREACHABLE naming the mount point; unreadable tables check nothing", () => {
  const files: Record<string, string> = {
    "/etc/fstab": FSTAB,
    "/proc/self/mounts": "/dev/sda1 / ext4 rw 0 0\n",
  };
  if (Deno.build.os !== "linux") {
    console.log("  (mount tables are read on Linux only: skipped)");
    return;
  }
  try {
    assertMounted(["/media/usb/movies"], { readText: (p) => files[p] });
    assert.fail("expected UNREACHABLE");
  } catch (error) {
    assert.ok(error instanceof RetrovueError);
    assert.equal(error.code, "UNREACHABLE");
    assert.match(error.message, /nothing is mounted at \/media\/usb \(listed in \/etc\/fstab\)/);
  }
  assertMounted(["/media/usb/movies"], {
    readText: () => {
      throw new Deno.errors.NotFound("no such file");
    },
  });
});
