package dev.kiln.testkit;

/**
 * A Debian package a test fixture is made from is not installed on this machine. The message names
 * the apt-get command that installs it; {@link #installCommand()} gives the command alone.
 */
public final class DebianPackageNotInstalledException extends IllegalStateException {
  private static final long serialVersionUID = 1L;

  private final String debianPackage;

  DebianPackageNotInstalledException(String debianPackage, String why) {
    super(
        why
            + ". Install it as root with: "
            + installCommand(debianPackage)
            + " (.ci/run installs the packages the tests need).");
    this.debianPackage = debianPackage;
  }

  /** The Debian package that is missing, e.g. {@code python3-django}. */
  public String debianPackage() {
    return debianPackage;
  }

  /** E.g. {@code apt-get install -y --no-install-recommends python3-django}. */
  public String installCommand() {
    return installCommand(debianPackage);
  }

  private static String installCommand(String debianPackage) {
    return "apt-get install -y --no-install-recommends " + debianPackage;
  }
}
