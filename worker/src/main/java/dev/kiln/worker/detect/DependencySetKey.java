package dev.kiln.worker.detect;

import dev.kiln.events.Digest;
import dev.kiln.worker.install.TargetPlatform;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The dependency-set key: one sha256 (64 hex) that names an installed dependency layer. Two builds
 * share a layer exactly when their keys are equal, so the key covers everything that can change
 * what gets installed:
 *
 * <ul>
 *   <li>{@link #VERSION}, bumped whenever the install itself changes (pip flags, layer layout);
 *   <li>the exact resolved Python version ({@code 3.12.7}, not {@code 3.12});
 *   <li>the target platform and the pip platform tags;
 *   <li>the package manager ({@code pip}, {@code pipenv}, …);
 *   <li>the extra index from the build's {@code PIP_EXTRA_INDEX_URL} (another index can serve other
 *       files under the same names);
 *   <li>the name and exact bytes of every file the installer reads (requirements and everything
 *       they include, the lockfile, local projects' metadata);
 *   <li>for inputs that must be resolved (ranges in {@code requirements.txt}, a Pipfile without a
 *       lock, a setup.py-only app): the tenant and the app.
 * </ul>
 *
 * <p>Every field is length-prefixed before hashing, so no two different inputs run together into
 * the same bytes. Unpinned requirements ({@code flask>=3}) keep what they first resolved to for
 * that app until their files change, which is what the classic buildpack's cache does too; another
 * app with the same file resolves for itself. Locked inputs name no app: every app with the same
 * lock shares the key, and INSTALL files the layer under its resolved set too, so different locks
 * that come to the same distributions share one layer.
 */
public final class DependencySetKey {
  public static final String VERSION = "kiln-dependency-set-v2";

  private DependencySetKey() {}

  /** Whose resolution a key is for: the tenant and app of a build with unpinned inputs. */
  public record ResolvedFor(String tenant, String app) {
    public ResolvedFor {
      Objects.requireNonNull(tenant, "tenant");
      Objects.requireNonNull(app, "app");
    }
  }

  /** The key of locked inputs, shared by every app with the same files. */
  public static String compute(
      String pythonVersion,
      TargetPlatform platform,
      String packageManager,
      String extraIndexUrl,
      Map<String, byte[]> files) {
    return compute(pythonVersion, platform, packageManager, extraIndexUrl, files, null);
  }

  /**
   * @param files requirement files: path relative to the source directory → bytes
   * @param extraIndexUrl the build's {@code PIP_EXTRA_INDEX_URL}, or null
   * @param resolvedFor the tenant and app when the inputs must be resolved, else null
   */
  public static String compute(
      String pythonVersion,
      TargetPlatform platform,
      String packageManager,
      String extraIndexUrl,
      Map<String, byte[]> files,
      ResolvedFor resolvedFor) {
    return compute(
        pythonVersion, platform, packageManager, extraIndexUrl, files, resolvedFor, false);
  }

  /**
   * @param ci a CI build's set, which holds the test dependencies too: never the same key as the
   *     normal build's, even where the files are the same (Poetry, uv, Pipenv groups)
   */
  public static String compute(
      String pythonVersion,
      TargetPlatform platform,
      String packageManager,
      String extraIndexUrl,
      Map<String, byte[]> files,
      ResolvedFor resolvedFor,
      boolean ci) {
    Objects.requireNonNull(pythonVersion, "pythonVersion");
    Objects.requireNonNull(platform, "platform");
    Objects.requireNonNull(packageManager, "packageManager");
    MessageDigest sha256 = Digest.newSha256();
    field(sha256, VERSION);
    field(sha256, "python=" + pythonVersion);
    field(sha256, "platform=" + platform.id());
    field(sha256, "implementation=" + platform.implementation());
    field(sha256, "pip-platforms=" + String.join(",", platform.pipPlatforms()));
    field(sha256, "package-manager=" + packageManager);
    field(sha256, "extra-index=" + (extraIndexUrl == null ? "" : extraIndexUrl.strip()));
    field(
        sha256,
        "resolved-for="
            + (resolvedFor == null ? "" : resolvedFor.tenant() + "/" + resolvedFor.app()));
    if (ci) {
      // Only CI sets carry the field, so the keys of every normal set stay what they were.
      field(sha256, "install=ci");
    }
    Map<String, byte[]> sorted = new TreeMap<>(files);
    field(sha256, "files=" + sorted.size());
    for (Map.Entry<String, byte[]> file : sorted.entrySet()) {
      field(sha256, file.getKey());
      field(sha256, file.getValue());
    }
    return Digest.fromSha256(sha256).hex();
  }

  private static void field(MessageDigest sha256, String text) {
    field(sha256, text.getBytes(StandardCharsets.UTF_8));
  }

  private static void field(MessageDigest sha256, byte[] bytes) {
    sha256.update(ByteBuffer.allocate(Long.BYTES).putLong(bytes.length).array());
    sha256.update(bytes);
  }
}
