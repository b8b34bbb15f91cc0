package dev.kiln.installer.pep;

import dev.kiln.installer.TargetEnvironment;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * The values PEP 508 environment markers are evaluated against, by variable name ({@code
 * python_version} → {@code 3.12}). {@code extra} is not part of it: extras are given to {@link
 * Marker#evaluate(MarkerEnvironment, Set)}.
 *
 * @param values every standard variable and its value; immutable
 */
public record MarkerEnvironment(Map<String, String> values) {

  /** The variables PEP 508 defines, except {@code extra}. */
  public static final Set<String> VARIABLES =
      Set.of(
          "implementation_name",
          "implementation_version",
          "os_name",
          "platform_machine",
          "platform_release",
          "platform_system",
          "platform_version",
          "python_full_version",
          "platform_python_implementation",
          "python_version",
          "sys_platform");

  public MarkerEnvironment {
    Objects.requireNonNull(values, "values");
    for (Map.Entry<String, String> entry : values.entrySet()) {
      if (!VARIABLES.contains(entry.getKey())) {
        throw new IllegalArgumentException(
            "'" + entry.getKey() + "' is not a marker variable; expected one of " + VARIABLES);
      }
      Objects.requireNonNull(entry.getValue(), entry.getKey());
    }
    values = Map.copyOf(values);
  }

  /**
   * The values a CPython interpreter on Linux reports: {@code python_version} {@code 3.12}, {@code
   * python_full_version} and {@code implementation_version} {@code 3.12.7}, {@code cpython}/{@code
   * CPython}, {@code linux}/{@code Linux}/{@code posix}, and the target's machine. The runtime's
   * kernel is not known when the image is built, so {@code platform_release} and {@code
   * platform_version} are empty: a marker that compares them is false unless it asks for
   * inequality.
   */
  public static MarkerEnvironment of(TargetEnvironment target) {
    Map<String, String> values = new TreeMap<>();
    values.put("implementation_name", "cpython");
    values.put("implementation_version", target.pythonVersion());
    values.put("os_name", "posix");
    values.put("platform_machine", target.machine());
    values.put("platform_release", "");
    values.put("platform_system", "Linux");
    values.put("platform_version", "");
    values.put("python_full_version", target.pythonVersion());
    values.put("platform_python_implementation", "CPython");
    values.put("python_version", target.pythonMinor());
    values.put("sys_platform", "linux");
    return new MarkerEnvironment(values);
  }

  /** The value of {@code variable}, if this environment has one. */
  public Optional<String> get(String variable) {
    return Optional.ofNullable(values.get(variable));
  }

  /** A copy with {@code variable} set to {@code value}. */
  public MarkerEnvironment with(String variable, String value) {
    Map<String, String> copy = new TreeMap<>(values);
    copy.put(variable, value);
    return new MarkerEnvironment(copy);
  }
}
