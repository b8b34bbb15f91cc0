package dev.kiln.installer;

import java.util.Set;

/**
 * Decides PEP 508 environment markers for the install target (its Python, {@code sys_platform},
 * {@code platform_machine}, …), never for the machine the reader runs on. The engine passes the
 * real implementation; lock readers only hand markers over and never look inside them.
 */
public interface MarkerEvaluator {
  /**
   * Whether {@code marker} holds for the target when {@code extras} are requested.
   *
   * @param marker a PEP 508 marker expression such as {@code python_version < "3.11"}; null or
   *     blank means "always"
   * @param extras the values the {@code extra} variable takes ({@code extra == "socks"} is true
   *     when {@code socks} is among them), normalized per PEP 685
   */
  default boolean applies(String marker, Set<String> extras) {
    return applies(marker, extras, Set.of());
  }

  /**
   * Whether {@code marker} holds for the target, with PEP 751's marker variables: {@code extras}
   * and {@code dependency_groups} are sets ({@code "dev" in dependency_groups}); {@code extra}
   * compares against each of {@code extras}.
   *
   * @param marker the expression; null or blank means "always"
   * @param extras the requested extras, normalized
   * @param dependencyGroups the requested dependency groups, normalized
   */
  boolean applies(String marker, Set<String> extras, Set<String> dependencyGroups);
}
