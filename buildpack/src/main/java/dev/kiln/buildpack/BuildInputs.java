package dev.kiln.buildpack;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/** Everything about a build that does not come from the source tree. */
public final class BuildInputs {
  private static final Pattern PREVIOUS_VERSION =
      Pattern.compile("\\d{1,4}\\.\\d{1,4}(\\.\\d{1,4})?");

  private final AppSpec appSpec;
  private final Map<String, String> buildEnv;
  private final String previousPythonVersion;
  private final boolean strict;
  private final boolean dockerfileBuilderAvailable;
  private final BuildpackLevel level;
  private final boolean ci;

  private BuildInputs(Builder builder) {
    this.appSpec = builder.appSpec;
    this.buildEnv = Collections.unmodifiableMap(new LinkedHashMap<>(builder.buildEnv));
    this.previousPythonVersion = builder.previousPythonVersion;
    this.strict = builder.strict;
    this.dockerfileBuilderAvailable = builder.dockerfileBuilderAvailable;
    this.level = builder.level;
    this.ci = builder.ci;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** No app spec, no build-time variables, no previous build, lenient policy. */
  public static BuildInputs defaults() {
    return builder().build();
  }

  public AppSpec appSpec() {
    return appSpec;
  }

  /** The app's build-time environment variables. */
  public Map<String, String> buildEnv() {
    return buildEnv;
  }

  /** The exact Python version of the app's previous successful build, or null. */
  public String previousPythonVersion() {
    return previousPythonVersion;
  }

  /** The per-tenant strict policy: some warnings become failures. */
  public boolean strict() {
    return strict;
  }

  /** False when the farm has no Dockerfile builder: Dockerfile apps then fail with a code. */
  public boolean dockerfileBuilderAvailable() {
    return dockerfileBuilderAvailable;
  }

  /**
   * The behaviour level chosen for this build, or null: the farm's own rules (those of the oldest
   * level for the source checks, and Kiln's historical package-manager warnings) with the farm's
   * runtime catalog.
   */
  public BuildpackLevel level() {
    return level;
  }

  /**
   * A CI build: the plan reads and names the test dependencies too ({@code requirements-test.txt},
   * Pipenv's {@code develop}, Poetry's non-optional groups, uv's default groups).
   */
  public boolean ci() {
    return ci;
  }

  public Builder toBuilder() {
    return new Builder()
        .appSpec(appSpec)
        .buildEnv(buildEnv)
        .previousPythonVersion(previousPythonVersion)
        .strict(strict)
        .dockerfileBuilderAvailable(dockerfileBuilderAvailable)
        .level(level)
        .ci(ci);
  }

  public static final class Builder {
    private AppSpec appSpec = AppSpec.empty();
    private Map<String, String> buildEnv = Map.of();
    private String previousPythonVersion;
    private boolean strict;
    private boolean dockerfileBuilderAvailable = true;
    private BuildpackLevel level;
    private boolean ci;

    private Builder() {}

    /** A CI build (see {@link BuildInputs#ci()}). */
    public Builder ci(boolean ci) {
      this.ci = ci;
      return this;
    }

    /** The behaviour level to reproduce; null: the farm's own rules (see {@link #level()}). */
    public Builder level(BuildpackLevel level) {
      this.level = level;
      return this;
    }

    public Builder appSpec(AppSpec appSpec) {
      this.appSpec = appSpec == null ? AppSpec.empty() : appSpec;
      return this;
    }

    public Builder buildEnv(Map<String, String> buildEnv) {
      this.buildEnv = buildEnv == null ? Map.of() : buildEnv;
      return this;
    }

    /**
     * The exact version ({@code X.Y.Z}, {@code X.Y} also accepted) of the previous successful
     * build, or null.
     *
     * @throws IllegalArgumentException when it is not a version number
     */
    public Builder previousPythonVersion(String version) {
      if (version != null && !PREVIOUS_VERSION.matcher(version).matches()) {
        throw new IllegalArgumentException(
            "The previous Python version must look like 3.12.7, but was '"
                + Text.quote(version)
                + "'");
      }
      this.previousPythonVersion = version;
      return this;
    }

    public Builder strict(boolean strict) {
      this.strict = strict;
      return this;
    }

    public Builder dockerfileBuilderAvailable(boolean available) {
      this.dockerfileBuilderAvailable = available;
      return this;
    }

    public BuildInputs build() {
      Objects.requireNonNull(appSpec);
      return new BuildInputs(this);
    }
  }
}
