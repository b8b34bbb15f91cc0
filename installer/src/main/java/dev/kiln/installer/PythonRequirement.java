package dev.kiln.installer;

/**
 * Decides PEP 440 version specifiers ({@code >=3.9,<4}, {@code ==3.12.*}) against the install
 * target's exact Python version, for {@code requires-python} checks. The engine passes the real
 * implementation; lock readers translate their own syntaxes (Poetry's {@code ^3.9}) into PEP 440
 * before asking.
 */
public interface PythonRequirement {
  /**
   * Whether the target's Python satisfies {@code specifiers}.
   *
   * @param specifiers a comma-separated PEP 440 specifier set; null or blank means "any"
   */
  boolean allows(String specifiers);

  /** The target's exact version ({@code 3.12.7}), for messages. */
  String targetVersion();
}
