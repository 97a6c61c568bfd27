/**
 * The ffprobe enricher's pure mapping (enrichers/ffprobe/_map.ts) on
 * ffprobe output shapes the generated test media cannot produce: HDR
 * formats, interlaced video, cover art, container families, sidecar names.
 */

import assert from "node:assert/strict";
import { containerName, frameRate, mapProbe, sidecarSubtitle } from "../enrichers/ffprobe/_map.ts";

const video = (extra: Record<string, unknown>) => ({
  codec_type: "video",
  codec_name: "hevc",
  profile: "Main 10",
  width: 3840,
  height: 2160,
  avg_frame_rate: "24000/1001",
  ...extra,
});

Deno.test("HDR formats, scan type and frame rate come from the video stream", () => {
  const hdr = (stream: Record<string, unknown>) =>
    mapProbe({ format: { duration: "1" }, streams: [video(stream)] }, "mkv").tech.video?.hdr;
  assert.equal(hdr({ color_transfer: "smpte2084" }), "hdr10");
  assert.equal(
    hdr({
      color_transfer: "smpte2084",
      side_data_list: [{ side_data_type: "HDR Dynamic Metadata SMPTE2094-40 (HDR10+)" }],
    }),
    "hdr10plus",
  );
  assert.equal(hdr({ color_transfer: "arib-std-b67" }), "hlg");
  assert.equal(
    hdr({ side_data_list: [{ side_data_type: "DOVI configuration record" }] }),
    "dolby_vision",
  );
  assert.equal(hdr({ color_transfer: "bt709" }), "sdr");
  const v = mapProbe({ streams: [video({ field_order: "tt" })] }, "ts").tech.video!;
  assert.equal(v.scanType, "interlaced");
  assert.equal(v.frameRate, 23.976);
  assert.equal(frameRate("0/0"), null);
  assert.equal(frameRate("30000/1001"), 29.97);
});

Deno.test("cover art is not the video; durations fall back to the longest stream", () => {
  const mapped = mapProbe({
    format: { format_name: "mov,mp4,m4a,3gp,3g2,mj2", bit_rate: "1500.4" },
    streams: [
      { codec_type: "video", codec_name: "mjpeg", disposition: { attached_pic: 1 } },
      {
        codec_type: "audio",
        codec_name: "aac",
        channels: 6,
        duration: "42.5",
        tags: { language: "und" },
      },
    ],
  }, "m4v");
  assert.equal(mapped.tech.video, null);
  assert.equal(mapped.durationMs, 42_500);
  assert.equal(mapped.tech.container, "m4v");
  assert.equal(mapped.tech.bitrate, 1500);
  assert.deepEqual(mapped.tech.audio, [{
    codec: "aac",
    channels: 6,
    language: null,
    default: false,
  }]);
  assert.equal(mapProbe({ format: {}, streams: [] }, "mkv").durationMs, null);
});

Deno.test("container names narrow ffprobe's families by extension", () => {
  assert.equal(containerName("matroska,webm", "mkv"), "mkv");
  assert.equal(containerName("matroska,webm", "webm"), "webm");
  assert.equal(containerName("mov,mp4,m4a,3gp,3g2,mj2", "mov"), "mov");
  assert.equal(containerName("mov,mp4,m4a,3gp,3g2,mj2", "avi"), "mp4");
  assert.equal(containerName("mpegts", "m2ts"), "ts");
  assert.equal(containerName("avi", "avi"), "avi");
  assert.equal(containerName(undefined, "avi"), null);
});

Deno.test("sidecar subtitle names give language and forced; others are not sidecars", () => {
  assert.deepEqual(sidecarSubtitle("Movie (2001)", "Movie (2001).srt"), {
    codec: "srt",
    language: null,
    forced: false,
    external: true,
  });
  assert.deepEqual(sidecarSubtitle("Movie (2001)", "Movie (2001).eng.forced.ASS"), {
    codec: "ass",
    language: "eng",
    forced: true,
    external: true,
  });
  assert.equal(sidecarSubtitle("Movie (2001)", "Movie (2001).nfo"), undefined);
  assert.equal(sidecarSubtitle("Movie (2001)", "Movie (2001) - part2.srt"), undefined);
  assert.equal(sidecarSubtitle("Movie", "Other.en.srt"), undefined);
});
