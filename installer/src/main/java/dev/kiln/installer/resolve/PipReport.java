package dev.kiln.installer.resolve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.events.Digest;
import dev.kiln.installer.ArtifactFile;
import dev.kiln.installer.Codes;
import dev.kiln.installer.InstallerException;
import dev.kiln.installer.LocalProject;
import dev.kiln.installer.LockedDistribution;
import dev.kiln.installer.LockedSet;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A resolution as pip reports it ({@code pip install --dry-run --report}, report format 1) turned
 * into a {@link LockedSet}: every distribution with the exact file pip chose for the target and
 * that file's hash, and every local directory pip would build as a local project.
 *
 * <p>pip ran inside the sandbox with the app's source at {@code sourceMount}; a directory under it
 * becomes a local project relative to the source directory, and a distribution file under it (a
 * wheel committed to the repository) keeps its {@code file:} URL so the installer reads it from the
 * source. Anything else without a hash (a VCS checkout, a directory outside the source) cannot be
 * installed from the store and fails.
 */
public final class PipReport {

  private static final ObjectMapper JSON = new ObjectMapper();

  private PipReport() {}

  /**
   * @param report the bytes of pip's {@code --report} file
   * @param sourceMount where the app's source directory was mounted for pip ({@code /app})
   * @param shownAs how the app names what was resolved, for messages ({@code requirements.txt})
   */
  public static LockedSet read(byte[] report, String sourceMount, String shownAs)
      throws InstallerException {
    JsonNode root;
    try {
      root = JSON.readTree(report);
    } catch (IOException e) {
      throw unreadable("it is not JSON (" + e.getMessage() + ")");
    }
    if (root == null || !"1".equals(root.path("version").asText())) {
      throw unreadable(
          "its format version is '" + root.path("version").asText() + "', Kiln reads version 1");
    }
    JsonNode install = root.path("install");
    if (!install.isArray()) {
      throw unreadable("it has no 'install' list");
    }
    List<LockedDistribution> distributions = new ArrayList<>();
    List<LocalProject> localProjects = new ArrayList<>();
    for (JsonNode item : install) {
      String name = item.path("metadata").path("name").asText("");
      String version = item.path("metadata").path("version").asText("");
      JsonNode download = item.path("download_info");
      String url = download.path("url").asText("");
      if (name.isEmpty() || version.isEmpty() || url.isEmpty()) {
        throw unreadable("an entry lacks its name, version or URL: " + shorten(item.toString()));
      }
      if (download.has("dir_info")) {
        localProjects.add(
            new LocalProject(
                localPath(url, sourceMount, name, shownAs),
                download.path("dir_info").path("editable").asBoolean(false)));
      } else if (download.has("archive_info")) {
        Digest sha256 = archiveHash(download.path("archive_info"), name, url, shownAs);
        String filename = filename(url);
        if (url.startsWith("file:")) {
          localPath(url, sourceMount, name, shownAs);
        }
        distributions.add(
            new LockedDistribution(
                name,
                version,
                List.of(new ArtifactFile(filename, sha256, url, -1)),
                Set.of(sha256)));
      } else {
        throw new InstallerException(
            Codes.UNSUPPORTED_REQUIREMENT,
            shownAs
                + " installs "
                + name
                + " from "
                + url
                + (download.has("vcs_info") ? " (a version-control checkout)" : "")
                + ", which Kiln cannot install: builds reach only Kiln's package index. Publish"
                + " the package to the index the app uses, or commit its wheel to the repository"
                + " and list the file (./vendor/<file>.whl).");
      }
    }
    return new LockedSet(distributions, localProjects);
  }

  private static String localPath(String url, String sourceMount, String name, String shownAs)
      throws InstallerException {
    String path;
    try {
      path = new URI(url).getPath();
    } catch (URISyntaxException e) {
      path = null;
    }
    String root = sourceMount.endsWith("/") ? sourceMount : sourceMount + "/";
    if (path == null || !(path.equals(sourceMount) || path.startsWith(root))) {
      throw new InstallerException(
          Codes.UNSUPPORTED_REQUIREMENT,
          shownAs
              + " installs "
              + name
              + " from "
              + url
              + ", which is outside the app's source directory. Kiln builds local projects only"
              + " from the source directory; use a path relative to it (-e .).");
    }
    String relative = path.equals(sourceMount) ? "" : path.substring(root.length());
    while (relative.endsWith("/")) {
      relative = relative.substring(0, relative.length() - 1);
    }
    return relative.isEmpty() ? "." : relative;
  }

  private static Digest archiveHash(JsonNode archive, String name, String url, String shownAs)
      throws InstallerException {
    String hex = archive.path("hashes").path("sha256").asText("");
    if (hex.isEmpty() && archive.path("hash").asText("").startsWith("sha256=")) {
      hex = archive.path("hash").asText().substring("sha256=".length());
    }
    try {
      return Digest.of(hex);
    } catch (IllegalArgumentException e) {
      throw new InstallerException(
          Codes.UNSUPPORTED_REQUIREMENT,
          shownAs
              + " installs "
              + name
              + " from "
              + url
              + ", and pip reported no sha256 for that file, so Kiln cannot fetch it from its"
              + " store by hash. Install it from the package index instead.");
    }
  }

  private static String filename(String url) {
    String path = url;
    int query = path.indexOf('?');
    if (query >= 0) {
      path = path.substring(0, query);
    }
    int fragment = path.indexOf('#');
    if (fragment >= 0) {
      path = path.substring(0, fragment);
    }
    String last = path.substring(path.lastIndexOf('/') + 1);
    return URLDecoder.decode(last, StandardCharsets.UTF_8);
  }

  private static InstallerException unreadable(String why) {
    return new InstallerException(
        Codes.RESOLUTION_UNREADABLE,
        "pip's resolution report could not be read: "
            + why
            + ". This is a fault of the worker's pip, not of the app; the build can be retried.");
  }

  private static String shorten(String text) {
    return text.length() > 200 ? text.substring(0, 200) + "…" : text;
  }
}
