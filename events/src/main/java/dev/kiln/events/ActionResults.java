package dev.kiln.events;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Objects;

/**
 * The action-cache results of the install engine besides {@link DependencyLayer} (docs/events.md,
 * "Action results"). Each names the blobs it needs in {@code blobs}, so the cache-service answers
 * it only while they are all still stored.
 */
public final class ActionResults {
  private ActionResults() {}

  /**
   * One wheel unpacked into a layer fragment, keyed by the wheel's hash, the target Python's minor
   * version and the fragment layout version.
   *
   * @param wheel the wheel's sha256
   * @param blob the fragment tar in the CAS
   * @param distribution the project name as the wheel's METADATA spells it
   * @param scripts the files it installs in {@code bin/}
   */
  public record WheelFragment(
      Digest wheel,
      String filename,
      String distribution,
      String version,
      Digest blob,
      long size,
      List<String> topLevelNames,
      List<String> scripts) {
    public WheelFragment {
      Objects.requireNonNull(wheel, "wheel");
      Objects.requireNonNull(blob, "blob");
      topLevelNames = topLevelNames == null ? List.of() : List.copyOf(topLevelNames);
      scripts = scripts == null ? List.of() : List.copyOf(scripts);
    }

    @JsonProperty(value = "blobs", access = JsonProperty.Access.READ_ONLY)
    public List<Digest> blobs() {
      return List.of(blob);
    }
  }

  /**
   * An sdist built into a wheel once, for every later build of any tenant: keyed by the sdist's
   * hash, the target Python and platform.
   *
   * @param wheel the built wheel in the CAS
   */
  public record BuiltWheel(
      Digest sdist, String sdistFilename, Digest wheel, String wheelFilename, long size) {
    public BuiltWheel {
      Objects.requireNonNull(sdist, "sdist");
      Objects.requireNonNull(wheel, "wheel");
      Objects.requireNonNull(wheelFilename, "wheelFilename");
    }

    @JsonProperty(value = "blobs", access = JsonProperty.Access.READ_ONLY)
    public List<Digest> blobs() {
      return List.of(wheel);
    }
  }

  /**
   * The resolution of an app's unpinned requirements, kept per tenant and app while its inputs are
   * byte-identical (the classic buildpack's sticky cache): a later build installs the same
   * distributions even after the layer itself was evicted. Names no blobs.
   *
   * @param resolved every distribution with the file pip chose
   * @param localProjects the app's own projects in the resolution
   */
  public record Resolution(
      List<DependencyLayer.Distribution> resolved,
      List<DependencyLayer.LocalProject> localProjects) {
    public Resolution {
      resolved = resolved == null ? List.of() : List.copyOf(resolved);
      localProjects = localProjects == null ? List.of() : List.copyOf(localProjects);
    }

    @JsonProperty(value = "blobs", access = JsonProperty.Access.READ_ONLY)
    public List<Digest> blobs() {
      return List.of();
    }
  }
}
