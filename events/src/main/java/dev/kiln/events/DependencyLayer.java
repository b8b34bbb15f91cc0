package dev.kiln.events;

import java.util.List;
import java.util.Objects;

/**
 * An installed dependency set, stored once in the cache-service as an uncompressed tar, and the
 * build report's record of what went into it.
 *
 * @param key the key the layer was looked up by: the install key of the build's inputs (lock or
 *     requirement bytes, Python, platform; tenant and app too when the set had to be resolved)
 * @param blob the CAS digest of the layer tar
 * @param distributions installed distributions as {@code name==version}
 * @param reused true when the layer came from the action cache instead of a fresh install
 * @param resolvedSet the digest of the resolved set (every distribution's name, version and file
 *     hash, the target Python and the layout version): layers of equal sets are the same blob; null
 *     for a layer written before sets were recorded
 * @param resolved the resolved set, sorted by normalized name
 * @param localProjects the app's own projects ({@code .}, {@code -e .}, a setup.py-only app, a
 *     packaged uv or Poetry root), built into the app layer at ASSEMBLE, never into this layer
 */
public record DependencyLayer(
    String key,
    Digest blob,
    long size,
    List<String> distributions,
    boolean reused,
    Digest resolvedSet,
    List<Distribution> resolved,
    List<LocalProject> localProjects) {

  /**
   * One installed distribution.
   *
   * @param filename the file the lock or resolution chose (a wheel, or the sdist a wheel was built
   *     from)
   * @param sha256 that file's hash, as the lock and the index name it
   * @param builtWheel for an sdist: the hash of the wheel Kiln built from it; else null
   */
  public record Distribution(
      String name, String version, String filename, Digest sha256, Digest builtWheel) {
    public Distribution {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(version, "version");
      Objects.requireNonNull(filename, "filename");
      Objects.requireNonNull(sha256, "sha256");
    }
  }

  /**
   * A project built from the app's own source.
   *
   * @param path the project's directory relative to the app's source directory ({@code .} for the
   *     app itself)
   * @param editable installed so that the code runs from the source directory ({@code -e}), as
   *     pip's editable installs do, instead of from a copy
   */
  public record LocalProject(String path, boolean editable) {
    public LocalProject {
      Objects.requireNonNull(path, "path");
    }
  }

  public DependencyLayer {
    distributions = distributions == null ? List.of() : List.copyOf(distributions);
    resolved = resolved == null ? List.of() : List.copyOf(resolved);
    localProjects = localProjects == null ? List.of() : List.copyOf(localProjects);
  }

  /** A layer without a recorded resolved set (pip-installed layers of earlier versions). */
  public DependencyLayer(
      String key, Digest blob, long size, List<String> distributions, boolean reused) {
    this(key, blob, size, distributions, reused, null, List.of(), List.of());
  }

  /** The same layer, marked as taken from the action cache. */
  public DependencyLayer asReused() {
    return new DependencyLayer(
        key, blob, size, distributions, true, resolvedSet, resolved, localProjects);
  }

  /** The same layer for a build whose own projects are these (a layer is shared by sets). */
  public DependencyLayer withLocalProjects(List<LocalProject> projects) {
    return new DependencyLayer(
        key, blob, size, distributions, reused, resolvedSet, resolved, projects);
  }

  /** The same layer filed under another key (an install key pointing at a set's layer). */
  public DependencyLayer withKey(String newKey) {
    return new DependencyLayer(
        newKey, blob, size, distributions, reused, resolvedSet, resolved, localProjects);
  }
}
