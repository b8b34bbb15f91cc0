package dev.kiln.installer.pep;

import dev.kiln.installer.MarkerEvaluator;
import dev.kiln.installer.PythonRequirement;
import dev.kiln.installer.TargetEnvironment;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The lock readers' view of the install target: PEP 508 markers evaluated in the target's {@link
 * MarkerEnvironment} and {@code requires-python} sets judged against its exact Python. A marker or
 * specifier that does not parse throws {@link IllegalArgumentException} naming it.
 */
public final class TargetMarkers implements MarkerEvaluator, PythonRequirement {
  private final TargetEnvironment target;
  private final MarkerEnvironment environment;
  private final Pep440Version python;
  private final Map<String, Marker> parsed = new ConcurrentHashMap<>();

  public TargetMarkers(TargetEnvironment target) {
    this.target = Objects.requireNonNull(target, "target");
    this.environment = MarkerEnvironment.of(target);
    this.python = Pep440Version.of(target.pythonVersion());
  }

  @Override
  public boolean applies(String marker, Set<String> extras, Set<String> dependencyGroups) {
    if (marker == null || marker.isBlank()) {
      return true;
    }
    return parsed
        .computeIfAbsent(marker, Marker::parse)
        .evaluate(environment, extras, dependencyGroups);
  }

  @Override
  public boolean allows(String specifiers) {
    if (specifiers == null || specifiers.isBlank()) {
      return true;
    }
    return VersionSpecifier.parse(specifiers).contains(python, true);
  }

  @Override
  public String targetVersion() {
    return target.pythonVersion();
  }
}
